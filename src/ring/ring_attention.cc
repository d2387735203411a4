// moa — ring attention over MPI (stage: ring). See include/moa/ring_attention.h.
// In: each rank's shards and the options. Out: each rank's rows of the whole attention.
// The key axis lifted across the ranks: every rank folds the K,V shards of all ranks, one per
// step as they come round the ring, into its rows' (lse, o) with the monoid of merge_partial.h.
#include "moa/ring_attention.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include "kernels/attention_checks.h"
#include "kernels/attention_offset.h"
#include "moa/error.h"
#include "ring/agree.h"
#include "ring/merge_partial.h"
#include "ring/placement.h"
#include "ring/rows.h"

namespace moa {
namespace {

using internal::Concat;

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

// The accumulated (o, lse) of one segment of this rank's query rows: (batch, heads, rows, dv) and
// (batch, heads, rows), contiguous.
template <typename A>
struct SegmentState {
  std::vector<A> o, lse;
};

// The ring proper, once every argument has been checked on every rank. A = the accumulator type.
template <typename A>
void TurnRing(const internal::Placement& ring, const Tensor& q, const Tensor& k, const Tensor& v,
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
      internal::PackBhsd(k, kv[0].get());
      internal::PackBhsd(v, kv[0].get() + batch * hkv * k.sizes[2] * dk * item);
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

  // The segment pair (queries qs, keys ks of the K, V views kb, vb) into acc[a].
  auto attend = [&](size_t a, const internal::Segment& ks, const Tensor& kb, const Tensor& vb) {
    const internal::Segment& qs = mine[a];
    AttentionOptions o;
    std::optional<int64_t> causal_offset;
    if (!internal::BlockOptions(ring, options, qs, ks, &o, &causal_offset)) return;
    o.lse = Tensor::Lse(part_lse.data(), acc_dtype, batch, hq, qs.rows);
    internal::AttentionWithCausalOffset(
        internal::Slice(q, 2, qs.local, qs.rows), internal::Slice(kb, 2, ks.local, ks.rows),
        internal::Slice(vb, 2, ks.local, ks.rows),
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
    internal::WriteOut(acc[a].o.data(), internal::Slice(out, 2, mine[a].local, mine[a].rows));
    if (options.lse) {
      internal::WriteOut(acc[a].lse.data(),
                         internal::Slice(*options.lse, 2, mine[a].local, mine[a].rows));
    }
  }
}

}  // namespace

void RingAttention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                   const AttentionOptions& options, MPI_Comm comm, RingSharding sharding) {
  const internal::Placement place =
      internal::PlaceCollectively("moa::ring_attention", q, k, v, out, options, comm, sharding,
                                  internal::Queries::kSharded);
  if (q.dtype == DType::kFloat64) {
    TurnRing<double>(place, q, k, v, out, options);
  } else {
    TurnRing<float>(place, q, k, v, out, options);
  }
}

}  // namespace moa
