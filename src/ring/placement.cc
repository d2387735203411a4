// moa — attention across MPI ranks (stage: ring, where every rank's rows sit). See placement.h.
#include "ring/placement.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/attention_checks.h"
#include "moa/error.h"
#include "ring/agree.h"
#include "ring/causal_block.h"
#include "ring/rows.h"

namespace moa::internal {
namespace {

// What a rank tells the others before any work: its shard lengths, and the arguments that must
// agree, as int64 so that one MPI_Allgather carries them.
enum Field : int {
  kDtype, kOutDtype, kBatch, kQHeads, kKvHeads, kDk, kDv, kCausal, kAlign, kMaskDtype, kLse,
  kImpl, kScaleBits, kSharding, kNq, kNk, kNumFields,
};
const char* const kFieldNames[kNumFields] = {
    "dtype of 'q'", "dtype of 'out'", "batch of 'q'", "heads of 'q'", "heads of 'k'",
    "dim of 'q'", "dim of 'v'", "'is_causal'", "'causal_align'", "dtype of 'mask' (-1: none)",
    "presence of 'lse'", "'impl'", "'scale' (its bits; -1: none)", "'sharding'", "seq of 'q'",
    "seq of 'k'"};
constexpr int64_t kMaxSeq = int64_t{1} << 62;  // global rows, as ClassifyCausalBlock assumes

std::vector<int64_t> LocalFields(const Tensor& q, const Tensor& k, const Tensor& v,
                                 const Tensor& out, const AttentionOptions& o,
                                 RingSharding sharding) {
  int64_t scale_bits = 0;
  if (o.scale) std::memcpy(&scale_bits, &*o.scale, sizeof scale_bits);
  std::vector<int64_t> f(kNumFields);
  f[kDtype] = static_cast<int64_t>(q.dtype), f[kOutDtype] = static_cast<int64_t>(out.dtype);
  f[kBatch] = q.sizes[0], f[kQHeads] = q.sizes[1], f[kKvHeads] = k.sizes[1];
  f[kDk] = q.sizes[3], f[kDv] = v.sizes[3];
  f[kCausal] = o.is_causal, f[kAlign] = static_cast<int64_t>(o.causal_align);
  f[kMaskDtype] = o.mask ? static_cast<int64_t>(o.mask->dtype) : -1;
  f[kLse] = o.lse.has_value(), f[kImpl] = static_cast<int64_t>(o.impl);
  f[kScaleBits] = o.scale ? scale_bits : -1;
  f[kSharding] = static_cast<int64_t>(sharding);
  f[kNq] = q.sizes[2], f[kNk] = k.sizes[2];
  return f;
}

// Totals saturate at kMaxSeq + 1 (each shard has passed the checks, so is at most 2^62 rows).
void AddSaturated(int64_t* total, int64_t rows) {
  *total = *total > kMaxSeq - rows ? kMaxSeq + 1 : *total + rows;
}

}  // namespace

Placement PlaceCollectively(const char* entry, const Tensor& q, const Tensor& k, const Tensor& v,
                            const Tensor& out, const AttentionOptions& options, MPI_Comm comm,
                            RingSharding sharding, Queries queries) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  UserCheck(initialized && !finalized, entry,
            ": expected MPI to be initialised (MPI_Init) and not finalised");
  UserCheck(comm != MPI_COMM_NULL, entry,
            ": argument 'comm': expected a communicator, got MPI_COMM_NULL");
  int inter = 0;
  MPI_Comm_test_inter(comm, &inter);
  UserCheck(!inter, entry, ": argument 'comm': expected an intracommunicator, got an "
            "intercommunicator");
  Placement place;
  place.own = DuplicateComm(comm);
  place.comm = comm = place.own.get();
  MPI_Comm_rank(comm, &place.rank);
  MPI_Comm_size(comm, &place.size);
  place.who = Concat(entry, " (rank ", place.rank, " of ", place.size, "): ");
  const char* who = place.who.c_str();

  // This rank's arguments on their own, then what every rank must agree on.
  std::string error = ErrorOf([&] {
    UserCheck(sharding == RingSharding::kContiguous || sharding == RingSharding::kZigzag, who,
              "argument 'sharding': expected kContiguous or kZigzag, got ",
              static_cast<int>(sharding));
    CheckAttentionTensors(q, k, v, out, who);
    CheckOptions(options, who);
    if (options.lse) {
      const int64_t sizes[3] = {q.sizes[0], q.sizes[1], q.sizes[2]};
      CheckLse(*options.lse, q.dtype, sizes, out, who);
    }
    CheckReadsDisjointFromWrites(q, k, v, nullptr, out, options.lse ? &*options.lse : nullptr,
                                 who);
  });
  AgreeOnErrors(comm, error);
  const std::vector<int64_t> mine = LocalFields(q, k, v, out, options, sharding);
  std::vector<int64_t> all(static_cast<size_t>(kNumFields) * place.size);
  MPI_Allgather(mine.data(), kNumFields, MPI_INT64_T, all.data(), kNumFields, MPI_INT64_T, comm);
  // Fields before kNq must be equal on every rank, and with replicated queries kNq too.
  const int agreed = queries == Queries::kReplicated ? kNq + 1 : kNq;
  for (int r = 0; r < place.size && error.empty(); ++r) {
    for (int f = 0; f < agreed; ++f) {
      if (all[r * kNumFields + f] != all[f]) {
        error = Concat(entry, ": expected the same ", kFieldNames[f], " on every rank, got ",
                       all[r * kNumFields + f], " on rank ", r, " and ", all[f], " on rank 0");
        break;
      }
    }
  }
  // Every rank found the same disagreement (or none): no exchange needed to agree on it.
  UserCheck(error.empty(), error);
  std::vector<int64_t> nq_of(place.size);
  for (int r = 0; r < place.size; ++r) {
    nq_of[r] = all[r * kNumFields + kNq];
    place.nk.push_back(all[r * kNumFields + kNk]);
    AddSaturated(&place.nk_total, place.nk[r]);
    if (queries == Queries::kSharded || r == 0) AddSaturated(&place.nq_total, nq_of[r]);
  }
  UserCheck(place.nq_total <= kMaxSeq && place.nk_total <= kMaxSeq, entry,
            ": expected global sequences of at most 2^62 rows, got NQ ", place.nq_total,
            " and NK ", place.nk_total, " over ", place.size, " ranks");
  const bool zigzag = sharding == RingSharding::kZigzag;
  if (zigzag) {
    UserCheck(place.nq_total >= 2 * place.size && place.nk_total >= 2 * place.size, entry,
              ": expected at least 2 rows per rank (", 2 * place.size,
              ") in q and k for zigzag shards, got NQ ", place.nq_total, " and NK ",
              place.nk_total);
  }
  for (int r = 0; r < place.size; ++r) {
    if (queries == Queries::kReplicated) {
      place.q_segments.push_back({Segment{0, 0, place.nq_total}});
    } else {
      place.q_segments.push_back(zigzag ? ZigzagSegments(place.nq_total, place.size, r)
                                        : ContiguousSegments(nq_of, r));
    }
    place.k_segments.push_back(zigzag ? ZigzagSegments(place.nk_total, place.size, r)
                                      : ContiguousSegments(place.nk, r));
    if (!zigzag) continue;
    const int64_t want_q = place.q_segments[r][0].rows + place.q_segments[r][1].rows;
    const int64_t want_k = place.k_segments[r][0].rows + place.k_segments[r][1].rows;
    UserCheck(nq_of[r] == want_q && place.nk[r] == want_k, entry, ": rank ", r,
              ": expected zigzag shards of ", want_q, " query rows and ", want_k,
              " key rows (chunks ", r, " and ", 2 * place.size - 1 - r, " of ", 2 * place.size,
              "), got ", nq_of[r], " and ", place.nk[r]);
  }
  if (options.mask) {
    error = ErrorOf([&] {
      const int64_t full[4] = {q.sizes[0], q.sizes[1], q.sizes[2], place.nk_total};
      CheckMask(*options.mask, q.dtype, full, who);
      CheckReadsDisjointFromWrites(q, k, v, &*options.mask, out,
                                   options.lse ? &*options.lse : nullptr, who);
    });
    AgreeOnErrors(comm, error);
  }
  place.causal_offset =
      options.causal_align == CausalAlign::kBottomRight ? place.nk_total - place.nq_total : 0;
  return place;
}

bool BlockOptions(const Placement& place, const AttentionOptions& options, const Segment& qs,
                  const Segment& ks, AttentionOptions* block, std::optional<int64_t>* offset) {
  *block = options;
  offset->reset();
  if (options.is_causal) {
    const CausalBlock c =
        ClassifyCausalBlock(qs.global, qs.rows, ks.global, ks.rows, place.causal_offset);
    if (c.kind == CausalBlock::kHidden) return false;
    block->is_causal = c.kind == CausalBlock::kCut;
    *offset = c.offset;
  }
  if (options.mask) {  // its rows of these queries and columns of these keys
    Tensor& m = *block->mask;
    if (m.rank >= 2 && m.sizes[m.rank - 2] != 1) m = Slice(m, m.rank - 2, qs.local, qs.rows);
    if (m.sizes[m.rank - 1] != 1) m = Slice(m, m.rank - 1, ks.global, ks.rows);
  }
  return true;
}

}  // namespace moa::internal
