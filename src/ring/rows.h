// moa — attention across MPI ranks (stage: ring, rows of strided views).
// In: strided (B, H, n, d) views and contiguous buffers. Out: a view of some rows, a packed copy
// (what a rank sends), or accumulators written into the caller's output in its dtype.
#pragma once

#include <cstdint>

#include "moa/attention.h"

namespace moa::internal {

// Rows [begin, begin + count) of dimension `dim` of a view.
Tensor Slice(const Tensor& t, int dim, int64_t begin, int64_t count);

// Copies a (B, H, n, d) view into contiguous BHSD bytes.
void PackBhsd(const Tensor& t, unsigned char* dst);

// Writes contiguous (B, H, n, d) accumulators (or (B, H, n) for a rank-3 LSE) of type A (float
// or double) into a strided output of the output's dtype.
template <typename A>
void WriteOut(const A* acc, const Tensor& out);

}  // namespace moa::internal
