// moa — split-KV attention over MPI (stage: ring). See include/moa/split_kv_attention.h.
// In: the whole queries and this rank's keys. Out: the whole attention on every rank.
// The key axis lifted across the ranks as in the ring, but the K,V shards stay put: each rank
// folds its own keys into every query row's (o, lse), and the monoid combines the ranks' states
// in one reduction, as the kernels combine split-KV ranges across threads.
#include "moa/split_kv_attention.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "kernels/attention_offset.h"
#include "moa/error.h"
#include "ring/agree.h"
#include "ring/merge_partial.h"
#include "ring/placement.h"
#include "ring/rows.h"

namespace moa {
namespace {

// The reduction's operation on rows of [o (dv elements), lse] of type A: inout = in ⊕ inout, as
// MPI orders a non-commutative operation: it keeps the ranks' order, though it may group them
// (MergePartial gives the same bits either way round). MPI hands over the row datatype, whose
// size gives dv.
template <typename A>
void MergeRows(void* in, void* inout, int* rows, MPI_Datatype* row_type) {
  int bytes = 0;
  MPI_Type_size(*row_type, &bytes);
  const int64_t width = bytes / static_cast<int64_t>(sizeof(A)), dv = width - 1;
  const A* b = static_cast<const A*>(in);
  A* a = static_cast<A*>(inout);
  for (int64_t r = 0; r < *rows; ++r, a += width, b += width) {
    internal::MergePartial<A>(1, dv, a, a + dv, b, b + dv);  // symmetric: = b ⊕ a
  }
}

template <typename A>
void Split(const internal::Placement& place, const Tensor& q, const Tensor& k, const Tensor& v,
           const Tensor& out, const AttentionOptions& options) {
  const int64_t batch = q.sizes[0], hq = q.sizes[1], nq = q.sizes[2], dv = v.sizes[3];
  const int64_t rows = batch * hq * nq;
  const DType acc_dtype = q.dtype == DType::kFloat64 ? DType::kFloat64 : DType::kFloat32;
  // This rank's partial: the kernels' output and LSE, then packed as rows of [o, lse] (the
  // monoid's identity, o = 0 and lse = -inf, where causality hides all of this rank's keys).
  std::vector<A> part, part_lse, state, merged;
  std::string error = internal::ErrorOf([&] {
    state.assign(static_cast<size_t>(rows * (dv + 1)), A(0));
    merged.resize(state.size());
    AttentionOptions o;
    std::optional<int64_t> offset;
    const internal::Segment& qs = place.q_segments[place.rank][0];
    const internal::Segment& ks = place.k_segments[place.rank][0];
    if (!internal::BlockOptions(place, options, qs, ks, &o, &offset)) {
      const A minus_inf = -std::numeric_limits<A>::infinity();
      for (int64_t r = 0; r < rows; ++r) state[r * (dv + 1) + dv] = minus_inf;
      return;
    }
    part.resize(static_cast<size_t>(rows * dv));
    part_lse.resize(static_cast<size_t>(rows));
    o.lse = Tensor::Lse(part_lse.data(), acc_dtype, batch, hq, nq);
    internal::AttentionWithCausalOffset(q, k, v,
                                        Tensor::Bhsd(part.data(), acc_dtype, batch, hq, nq, dv),
                                        o, offset);
    for (int64_t r = 0; r < rows; ++r) {
      std::copy_n(part.data() + r * dv, dv, state.data() + r * (dv + 1));
      state[r * (dv + 1) + dv] = part_lse[r];
    }
  });
  internal::AgreeOnErrors(place.comm, error.empty() ? error : place.who + error);

  // Reduced to rank 0 in rank order (the operation is not declared commutative), then broadcast:
  // every rank gets the same bits. Rows go in messages of at most 2^30 (MPI counts are int).
  MPI_Datatype row_type;
  MPI_Type_contiguous(static_cast<int>(dv + 1),
                      acc_dtype == DType::kFloat64 ? MPI_DOUBLE : MPI_FLOAT, &row_type);
  MPI_Type_commit(&row_type);
  MPI_Op merge;
  MPI_Op_create(&MergeRows<A>, /*commute=*/0, &merge);
  constexpr int64_t kRowsPerMessage = int64_t{1} << 30;
  for (int64_t at = 0; at < rows; at += kRowsPerMessage) {
    const int count = static_cast<int>(std::min(kRowsPerMessage, rows - at));
    A* mine = state.data() + at * (dv + 1);
    A* all = merged.data() + at * (dv + 1);
    MPI_Reduce(mine, all, count, row_type, merge, 0, place.comm);
    MPI_Bcast(all, count, row_type, 0, place.comm);
  }
  MPI_Op_free(&merge);
  MPI_Type_free(&row_type);

  for (int64_t r = 0; r < rows; ++r) {  // back to (o rows, lse) for the writes
    std::copy_n(merged.data() + r * (dv + 1), dv, state.data() + r * dv);
  }
  internal::WriteOut(state.data(), out);
  if (options.lse) {
    for (int64_t r = 0; r < rows; ++r) state[r] = merged[r * (dv + 1) + dv];
    internal::WriteOut(state.data(), *options.lse);
  }
}

}  // namespace

void SplitKvAttention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                      const AttentionOptions& options, MPI_Comm comm) {
  const internal::Placement place =
      internal::PlaceCollectively("moa::split_kv_attention", q, k, v, out, options, comm,
                                  RingSharding::kContiguous, internal::Queries::kReplicated);
  if (q.dtype == DType::kFloat64) {
    Split<double>(place, q, k, v, out, options);
  } else {
    Split<float>(place, q, k, v, out, options);
  }
}

}  // namespace moa
