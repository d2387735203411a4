// moa — ring attention over MPI (stage: ring). See include/moa/ring_attention.h.
// In: each rank's shards and the options. Out: each rank's rows of the whole attention.
// The key axis lifted across the ranks: every rank folds the K,V shards of all ranks, one per
// step as they come round the ring, into its rows' (lse, o) with the monoid of merge_partial.h.
#include "moa/ring_attention.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include "kernels/attention_checks.h"
#include "kernels/attention_offset.h"
#include "moa/error.h"
#include "ring/agree.h"
#include "ring/causal_block.h"
#include "ring/merge_partial.h"
#include "ring/shards.h"

namespace moa {
namespace {

using internal::Concat;

// What a rank tells the others before the ring turns: its shard lengths, and the arguments that
// must agree, as int64 so that one MPI_Allgather carries them.
enum Field : int {
  kDtype, kOutDtype, kBatch, kQHeads, kKvHeads, kDk, kDv, kCausal, kAlign, kMaskDtype, kLse,
  kImpl, kScaleBits, kSharding, kNq, kNk, kNumFields,
};
constexpr int kAgreed = kNq;                   // fields before kNq must be equal on every rank
constexpr int64_t kMaxSeq = int64_t{1} << 62;  // global rows, as ClassifyCausalBlock assumes
const char* const kFieldNames[kNumFields] = {
    "dtype of 'q'", "dtype of 'out'", "batch of 'q'", "heads of 'q'", "heads of 'k'",
    "dim of 'q'", "dim of 'v'", "'is_causal'", "'causal_align'", "dtype of 'mask' (-1: none)",
    "presence of 'lse'", "'impl'", "'scale' (its bits; -1: none)", "'sharding'", "seq of 'q'",
    "seq of 'k'"};

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

// Sends or receives `bytes` bytes as messages of at most 1 GiB (MPI counts are int), tagged by
// their order.
constexpr int64_t kMessageBytes = int64_t{1} << 30;
void PostTransfer(bool send, unsigned char* data, int64_t bytes, int peer, MPI_Comm comm,
                  std::vector<MPI_Request>* requests) {
  for (int64_t at = 0, tag = 0; at < bytes; at += kMessageBytes, ++tag) {
    const int count = static_cast<int>(std::min(kMessageBytes, bytes - at));
    MPI_Request r;
    if (send) {
      MPI_Isend(data + at, count, MPI_BYTE, peer, static_cast<int>(tag), comm, &r);
    } else {
      MPI_Irecv(data + at, count, MPI_BYTE, peer, static_cast<int>(tag), comm, &r);
    }
    requests->push_back(r);
  }
}

// Copies a (B, H, n, d) view element by element into contiguous BHSD bytes.
void PackBhsd(const Tensor& t, unsigned char* dst) {
  const int64_t item = DTypeSize(t.dtype);
  const auto* src = static_cast<const unsigned char*>(t.data);
  for (int64_t b = 0; b < t.sizes[0]; ++b)
    for (int64_t h = 0; h < t.sizes[1]; ++h)
      for (int64_t s = 0; s < t.sizes[2]; ++s) {
        const unsigned char* row =
            src + (b * t.strides[0] + h * t.strides[1] + s * t.strides[2]) * item;
        if (t.strides[3] == 1) {
          std::memcpy(dst, row, static_cast<size_t>(t.sizes[3] * item));
          dst += t.sizes[3] * item;
        } else {
          for (int64_t e = 0; e < t.sizes[3]; ++e, dst += item) {
            std::memcpy(dst, row + e * t.strides[3] * item, static_cast<size_t>(item));
          }
        }
      }
}

// One row of d accumulators into elements `stride` apart of type T (bfloat16: its bits).
template <typename T, typename A>
void WriteRow(const A* acc, int64_t d, unsigned char* dst, int64_t stride) {
  if (std::is_same_v<T, A> && stride == 1) {
    std::memcpy(dst, acc, static_cast<size_t>(d) * sizeof(A));
    return;
  }
  for (int64_t e = 0; e < d; ++e) {
    T x;
    if constexpr (std::is_same_v<T, uint16_t>) {
      x = BFloat16FromFloat(static_cast<float>(acc[e]));
    } else {
      x = static_cast<T>(acc[e]);
    }
    std::memcpy(dst + e * stride * static_cast<int64_t>(sizeof(T)), &x, sizeof(T));
  }
}

// Writes contiguous (B, H, n, d) accumulators (or (B, H, n) for a rank-3 LSE) into a strided
// output of the output's dtype.
template <typename A>
void WriteOut(const A* acc, const Tensor& out) {
  auto* base = static_cast<unsigned char*>(out.data);
  const int64_t item = DTypeSize(out.dtype);
  const int64_t d = out.rank == 4 ? out.sizes[3] : 1, stride = out.rank == 4 ? out.strides[3] : 1;
  for (int64_t b = 0; b < out.sizes[0]; ++b)
    for (int64_t h = 0; h < out.sizes[1]; ++h)
      for (int64_t s = 0; s < out.sizes[2]; ++s, acc += d) {
        unsigned char* row =
            base + (b * out.strides[0] + h * out.strides[1] + s * out.strides[2]) * item;
        switch (out.dtype) {
          case DType::kFloat64: WriteRow<double>(acc, d, row, stride); break;
          case DType::kFloat32: WriteRow<float>(acc, d, row, stride); break;
          default: WriteRow<uint16_t>(acc, d, row, stride); break;  // bfloat16
        }
      }
}

// Rows [begin, begin + count) of dimension `dim` of a view.
Tensor Slice(const Tensor& t, int dim, int64_t begin, int64_t count) {
  Tensor s = t;
  s.data = static_cast<unsigned char*>(t.data) + begin * t.strides[dim] * DTypeSize(t.dtype);
  s.sizes[dim] = count;
  return s;
}

struct Ring {
  MPI_Comm comm;
  int rank = 0, size = 1;
  std::string who;  // "moa::ring_attention (rank r of P): "
  // Each rank's shards as runs of global rows (shards.h), and its key rows.
  std::vector<std::vector<internal::Segment>> q_segments, k_segments;
  std::vector<int64_t> nk;
  int64_t nq_total = 0, nk_total = 0;
};

// The accumulated (o, lse) of one segment of this rank's query rows: (batch, heads, rows, dv) and
// (batch, heads, rows), contiguous.
template <typename A>
struct SegmentState {
  std::vector<A> o, lse;
};

// The ring proper, once every argument has been checked on every rank. A = the accumulator type.
template <typename A>
void TurnRing(const Ring& ring, const Tensor& q, const Tensor& k, const Tensor& v,
              const Tensor& out, const AttentionOptions& options) {
  const int64_t batch = q.sizes[0], hq = q.sizes[1], hkv = k.sizes[1];
  const int64_t dk = q.sizes[3], dv = v.sizes[3], item = DTypeSize(q.dtype);
  const DType acc_dtype = q.dtype == DType::kFloat64 ? DType::kFloat64 : DType::kFloat32;
  const int64_t max_nk = *std::max_element(ring.nk.begin(), ring.nk.end());
  auto kv_bytes = [&](int64_t keys) { return batch * hkv * keys * (dk + dv) * item; };
  const std::vector<internal::Segment>& mine = ring.q_segments[ring.rank];
  int64_t max_rows = 0;
  for (const internal::Segment& s : mine) max_rows = std::max(max_rows, s.rows);

  // Sizes past what memory can hold fail in the allocation, as bad_alloc, on this rank only.
  // One rank computes on its own K and V as they are; a ring sends them, so packs them.
  std::unique_ptr<unsigned char[]> kv[2];
  std::vector<SegmentState<A>> acc(mine.size());
  std::vector<A> part, part_lse;
  std::string error = internal::ErrorOf([&] {
    if (ring.size > 1) {
      // K and V viewed with stride 0 can be larger than any memory: multiply with checks, and
      // refuse more than the machine has before asking for it.
      int64_t bytes = 0;
      UserCheck(internal::MulFits(batch * hkv, max_nk, &bytes) &&
                    internal::MulFits(bytes, (dk + dv) * item, &bytes),
                "out of memory for the K,V buffers (", max_nk, " key rows overflow 64 bits)");
      const int64_t memory = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) *
                             static_cast<int64_t>(sysconf(_SC_PAGESIZE));
      UserCheck(memory <= 0 || bytes <= memory / 2, "out of memory for the K,V buffers (2 x ",
                bytes, " bytes; this machine has ", memory, ")");
      for (auto& b : kv) b.reset(new unsigned char[static_cast<size_t>(bytes)]);
      PackBhsd(k, kv[0].get());
      PackBhsd(v, kv[0].get() + batch * hkv * k.sizes[2] * dk * item);
    }
    for (size_t a = 0; a < mine.size(); ++a) {
      acc[a].o.assign(static_cast<size_t>(batch * hq * mine[a].rows * dv), A(0));
      acc[a].lse.assign(static_cast<size_t>(batch * hq * mine[a].rows),
                        -std::numeric_limits<A>::infinity());
    }
    part.resize(static_cast<size_t>(batch * hq * max_rows * dv));
    part_lse.resize(static_cast<size_t>(batch * hq * max_rows));
  });
  internal::AgreeOnErrors(ring.comm, error.empty() ? error : ring.who + error);

  const int64_t global_offset =
      options.causal_align == CausalAlign::kBottomRight ? ring.nk_total - ring.nq_total : 0;
  // The segment pair (queries qs, keys ks of the K, V views kb, vb) into acc[a].
  auto attend = [&](size_t a, const internal::Segment& ks, const Tensor& kb, const Tensor& vb) {
    const internal::Segment& qs = mine[a];
    AttentionOptions o = options;
    std::optional<int64_t> causal_offset;
    if (options.is_causal) {
      const internal::CausalBlock block =
          internal::ClassifyCausalBlock(qs.global, qs.rows, ks.global, ks.rows, global_offset);
      if (block.kind == internal::CausalBlock::kHidden) return;
      o.is_causal = block.kind == internal::CausalBlock::kCut;
      causal_offset = block.offset;
    }
    if (options.mask) {  // its rows of this segment's queries and columns of these keys
      Tensor& m = *o.mask;
      if (m.rank >= 2 && m.sizes[m.rank - 2] != 1) m = Slice(m, m.rank - 2, qs.local, qs.rows);
      if (m.sizes[m.rank - 1] != 1) m = Slice(m, m.rank - 1, ks.global, ks.rows);
    }
    o.lse = Tensor::Lse(part_lse.data(), acc_dtype, batch, hq, qs.rows);
    internal::AttentionWithCausalOffset(
        Slice(q, 2, qs.local, qs.rows), Slice(kb, 2, ks.local, ks.rows),
        Slice(vb, 2, ks.local, ks.rows),
        Tensor::Bhsd(part.data(), acc_dtype, batch, hq, qs.rows, dv), o, causal_offset);
    internal::MergePartial(batch * hq * qs.rows, dv, acc[a].o.data(), acc[a].lse.data(),
                           part.data(), part_lse.data());
  };

  const int next = (ring.rank + 1) % ring.size, prev = (ring.rank + ring.size - 1) % ring.size;
  int current = 0;
  for (int step = 0; step < ring.size; ++step) {
    const int src = (ring.rank - step + ring.size) % ring.size;  // whose keys are in kv[current]
    std::vector<MPI_Request> requests;
    if (step + 1 < ring.size) {
      const int incoming = (src + ring.size - 1) % ring.size;
      PostTransfer(false, kv[1 - current].get(), kv_bytes(ring.nk[incoming]), prev, ring.comm,
                   &requests);
      PostTransfer(true, kv[current].get(), kv_bytes(ring.nk[src]), next, ring.comm, &requests);
    }
    error = internal::ErrorOf([&] {
      Tensor kb = k, vb = v;  // step 0: this rank's own, as they are
      if (step > 0) {
        const unsigned char* block = kv[current].get();
        const int64_t keys = ring.nk[src];
        kb = Tensor::Bhsd(block, q.dtype, batch, hkv, keys, dk);
        vb = Tensor::Bhsd(block + batch * hkv * keys * dk * item, q.dtype, batch, hkv, keys, dv);
      }
      for (size_t a = 0; a < mine.size(); ++a) {
        for (const internal::Segment& ks : ring.k_segments[src]) attend(a, ks, kb, vb);
      }
    });
    MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
    internal::AgreeOnErrors(
        ring.comm, error.empty() ? error : Concat(ring.who, "keys of rank ", src, ": ", error));
    current = 1 - current;
  }

  for (size_t a = 0; a < mine.size(); ++a) {
    WriteOut(acc[a].o.data(), Slice(out, 2, mine[a].local, mine[a].rows));
    if (options.lse) {
      WriteOut(acc[a].lse.data(), Slice(*options.lse, 2, mine[a].local, mine[a].rows));
    }
  }
}

}  // namespace

void RingAttention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                   const AttentionOptions& options, MPI_Comm comm, RingSharding sharding) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  UserCheck(initialized && !finalized,
            "moa::ring_attention: expected MPI to be initialised (MPI_Init) and not finalised");
  UserCheck(comm != MPI_COMM_NULL,
            "moa::ring_attention: argument 'comm': expected a communicator, got MPI_COMM_NULL");
  Ring ring;
  ring.comm = comm;
  MPI_Comm_rank(comm, &ring.rank);
  MPI_Comm_size(comm, &ring.size);
  ring.who = Concat("moa::ring_attention (rank ", ring.rank, " of ", ring.size, "): ");
  const char* who = ring.who.c_str();

  // This rank's shards on their own, then what every rank must agree on.
  std::string error = internal::ErrorOf([&] {
    UserCheck(sharding == RingSharding::kContiguous || sharding == RingSharding::kZigzag, who,
              "argument 'sharding': expected kContiguous or kZigzag, got ",
              static_cast<int>(sharding));
    internal::CheckAttentionTensors(q, k, v, out, who);
    if (options.lse) {
      const int64_t sizes[3] = {q.sizes[0], q.sizes[1], q.sizes[2]};
      internal::CheckLse(*options.lse, q.dtype, sizes, out, who);
    }
  });
  internal::AgreeOnErrors(comm, error);
  const std::vector<int64_t> mine = LocalFields(q, k, v, out, options, sharding);
  std::vector<int64_t> all(static_cast<size_t>(kNumFields) * ring.size);
  MPI_Allgather(mine.data(), kNumFields, MPI_INT64_T, all.data(), kNumFields, MPI_INT64_T, comm);
  for (int r = 0; r < ring.size && error.empty(); ++r) {
    for (int f = 0; f < kAgreed; ++f) {
      if (all[r * kNumFields + f] != all[f]) {
        error = Concat("moa::ring_attention: expected the same ", kFieldNames[f],
                       " on every rank, got ", all[r * kNumFields + f], " on rank ", r, " and ",
                       all[f], " on rank 0");
        break;
      }
    }
  }
  // Every rank found the same disagreement (or none): no exchange needed to agree on it.
  UserCheck(error.empty(), error);
  // Totals saturate at kMaxSeq + 1 (each shard has passed the checks, so is at most 2^62 rows).
  auto add_saturated = [](int64_t* total, int64_t rows) {
    *total = *total > kMaxSeq - rows ? kMaxSeq + 1 : *total + rows;
  };
  std::vector<int64_t> nq_of(ring.size);
  for (int r = 0; r < ring.size; ++r) {
    nq_of[r] = all[r * kNumFields + kNq];
    ring.nk.push_back(all[r * kNumFields + kNk]);
    add_saturated(&ring.nq_total, nq_of[r]);
    add_saturated(&ring.nk_total, ring.nk[r]);
  }
  UserCheck(ring.nq_total <= kMaxSeq && ring.nk_total <= kMaxSeq,
            "moa::ring_attention: expected global sequences of at most 2^62 rows, got NQ ",
            ring.nq_total, " and NK ", ring.nk_total, " over ", ring.size, " ranks");
  const bool zigzag = sharding == RingSharding::kZigzag;
  if (zigzag) {
    UserCheck(ring.nq_total >= 2 * ring.size && ring.nk_total >= 2 * ring.size,
              "moa::ring_attention: expected at least 2 rows per rank (", 2 * ring.size,
              ") in q and k for zigzag shards, got NQ ", ring.nq_total, " and NK ", ring.nk_total);
  }
  for (int r = 0; r < ring.size; ++r) {
    ring.q_segments.push_back(zigzag ? internal::ZigzagSegments(ring.nq_total, ring.size, r)
                                     : internal::ContiguousSegments(nq_of, r));
    ring.k_segments.push_back(zigzag ? internal::ZigzagSegments(ring.nk_total, ring.size, r)
                                     : internal::ContiguousSegments(ring.nk, r));
    if (!zigzag) continue;
    const int64_t want_q = ring.q_segments[r][0].rows + ring.q_segments[r][1].rows;
    const int64_t want_k = ring.k_segments[r][0].rows + ring.k_segments[r][1].rows;
    UserCheck(nq_of[r] == want_q && ring.nk[r] == want_k, "moa::ring_attention: rank ", r,
              ": expected zigzag shards of ", want_q, " query rows and ", want_k,
              " key rows (chunks ", r, " and ", 2 * ring.size - 1 - r, " of ", 2 * ring.size,
              "), got ", nq_of[r], " and ", ring.nk[r]);
  }
  if (options.mask) {
    error = internal::ErrorOf([&] {
      const int64_t full[4] = {q.sizes[0], q.sizes[1], q.sizes[2], ring.nk_total};
      internal::CheckMask(*options.mask, q.dtype, full, who);
    });
    internal::AgreeOnErrors(comm, error);
  }

  if (q.dtype == DType::kFloat64) {
    TurnRing<double>(ring, q, k, v, out, options);
  } else {
    TurnRing<float>(ring, q, k, v, out, options);
  }
}

}  // namespace moa
