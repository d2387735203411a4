// moa — runtime attention (stage: kernels, tests): one kernel path at a time.
// In: a Highway SIMD target and a bfloat16 GEMM path. Out: for the object's scope, the kernels'
// run-time dispatch restricted to them.
#pragma once

#include <cstdint>

#include "hwy/targets.h"
#include "kernels/amx/amx_bf16.h"
#include "kernels/attention_problem.h"

namespace moa::testing_util {

// The bfloat16 path of the AMX kernels on the tile unit's scalar model (it needs AVX512-BF16).
constexpr int kAmxModel = -1;

// For its scope, the kernels' dispatch restricted to one SIMD target, and bfloat16 on one GEMM
// path (internal::kBf16Auto, kBf16NoAmx, kBf16Float32, or kAmxModel).
class ScopedKernelPath {
 public:
  ScopedKernelPath(int64_t target, int bf16_path) {
    hwy::SetSupportedTargetsForTest(target);
    internal::SetBf16PathForTest(bf16_path == kAmxModel ? internal::kBf16Auto : bf16_path);
    internal::SetAmxEmulationForTest(bf16_path == kAmxModel);
  }
  ~ScopedKernelPath() {
    internal::SetBf16PathForTest(internal::kBf16Auto);
    internal::SetAmxEmulationForTest(false);
    hwy::SetSupportedTargetsForTest(0);
  }
  ScopedKernelPath(const ScopedKernelPath&) = delete;
  ScopedKernelPath& operator=(const ScopedKernelPath&) = delete;
};

}  // namespace moa::testing_util
