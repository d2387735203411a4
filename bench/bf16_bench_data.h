// Operands of the bfloat16 micro-kernel benchmarks (amx_tile_bench.cc, bf16_dot_bench.cc): 64-byte
// aligned, since the AVX512-BF16 kernels load whole vectors.
#pragma once

#include <cstdint>

#include "hwy/aligned_allocator.h"

namespace moa::bench {

// `count` elements near `bits`: one bfloat16 (uint16_t) or a pair (uint32_t) per element, varied
// a little so the data is not constant (the tile unit's power, and so its clock, depends on it).
template <typename T>
hwy::AlignedFreeUniquePtr<T[]> Bf16Data(int64_t count, T bits) {
  auto v = hwy::AllocateAligned<T>(count);
  for (int64_t i = 0; i < count; ++i) v[i] = bits ^ static_cast<T>(i % 7);
  return v;
}

// `count` float32 zeros: the accumulators.
inline hwy::AlignedFreeUniquePtr<float[]> Zeros(int64_t count) {
  auto v = hwy::AllocateAligned<float>(count);
  for (int64_t i = 0; i < count; ++i) v[i] = 0;
  return v;
}

}  // namespace moa::bench
