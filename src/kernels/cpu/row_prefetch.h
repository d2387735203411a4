// moa — runtime attention (stage: kernels, CPU): the value rows a few-query group's P V will read
// in two passes, asked for while the group's scores stream the key rows (FewQueryGroup).
// In: the rows' first address, their stride and length in bytes. Out: prefetch hints towards L2,
// one key row at a time; they never fault and never change a result.
//
// Why: the hardware prefetchers stream V well in one pass over its rows, less so in two. Asking
// for each value row beside its key row ran grouped GQA decoding (32 query heads on 8, n = 2048
// to 16384, one core; the same binary with and without the hints, medians of three or four runs)
// 1.01-1.09x as fast where the P V takes two passes (float32 1.07-1.09x and bfloat16 1.01-1.05x
// at d = 128, float64 1.04-1.09x at 64), and 0.77-0.95x where it takes one (d = 64), so only
// two-pass groups ask.
#pragma once

#include <cstdint>

namespace moa::internal {

struct RowPrefetch {
  const char* rows = nullptr;  // row 0; nothing is asked for when null
  int64_t stride = 0;          // bytes from one row to the next
  int64_t bytes = 0;           // bytes of each row

  void operator()(int64_t j) const {
    if (rows == nullptr) return;
    for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(rows + j * stride + b, 0, 2);
  }
};

}  // namespace moa::internal
