// Google Benchmark of the float32 / float64 GEMM micro-kernels alone (kernels/cpu/simd_gemm-inl.h),
// beside the FMA peak: how close the fused kernel's two GEMM phases can come to the peak on this
// machine when nothing else competes for the caches.
//   build/release/bench/moa_kernel_bench --benchmark_filter=Simd --benchmark_repetitions=5
// One key tile of 128 keys at d = 128 against `slabs` query chunks (64 float32 or 32 float64
// queries each, as the kernel's chunk): 1 slab keeps Q^T (scores) or O^T (P V) in L1 across
// calls; 8 slabs (256 KiB) make each call fetch its slab from L2, as each chunk does in the
// kernel after the other phases have run.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/simd_micro_bench.cc"
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4 | HWY_AVX3_DL)
#endif
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cstdint>

#include "hwy/aligned_allocator.h"
#include "hwy/highway.h"
#include "kernels/cpu/simd_gemm-inl.h"

HWY_BEFORE_NAMESPACE();
namespace moa::internal {
namespace HWY_NAMESPACE {

constexpr int64_t kKeys = 128, kDim = 128;

// `reps` passes over `slabs` chunks; returns the flops done.
template <typename A>
double RunMicro(bool pv, int64_t slabs, int64_t reps) {
  const hn::ScalableTag<A> d;
  const int64_t chunk = ChunkQueries(sizeof(A));
  const int64_t ld = slabs * chunk + 64 / static_cast<int64_t>(sizeof(A));  // as TileLayout::ld
  auto kv = hwy::AllocateAligned<A>(kKeys * kDim);        // K or V rows
  auto slab = hwy::AllocateAligned<A>(kDim * ld);         // Q^T or O^T
  auto scores = hwy::AllocateAligned<A>(kKeys * chunk);   // S^T or P^T of one chunk
  for (int64_t i = 0; i < kKeys * kDim; ++i) kv[i] = A(1e-3) * static_cast<A>(i % 7);
  for (int64_t i = 0; i < kDim * ld; ++i) slab[i] = A(1e-3) * static_cast<A>(i % 5);
  for (int64_t i = 0; i < kKeys * chunk; ++i) scores[i] = A(1e-3) * static_cast<A>(i % 3);
  for (int64_t r = 0; r < reps; ++r) {
    for (int64_t s = 0; s < slabs; ++s) {
      if (pv) {
        PvRows(d, kv.get(), kDim, kDim, kKeys, scores.get(), chunk, slab.get() + s * chunk, ld);
      } else {
        ScoreRows(d, kv.get(), kDim, kKeys, kDim, slab.get() + s * chunk, ld, scores.get(), chunk);
      }
    }
  }
  volatile A sink = scores[kKeys * chunk - 1] + slab[kDim * ld - 1];  // the results are used
  (void)sink;
  return 2.0 * kKeys * kDim * chunk * slabs * reps;
}

double RunMicroOfThisTarget(bool f64, bool pv, int64_t slabs, int64_t reps) {
  return f64 ? RunMicro<double>(pv, slabs, reps) : RunMicro<float>(pv, slabs, reps);
}

}  // namespace HWY_NAMESPACE
}  // namespace moa::internal
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <benchmark/benchmark.h>

#include "moa/attention.h"

namespace moa::internal {
HWY_EXPORT(RunMicroOfThisTarget);
}  // namespace moa::internal

namespace {

// The FMA peak of `moa bench` (12 independent FMA chains, no memory), one thread.
void BM_SimdFmaPeak(benchmark::State& state) {
  const moa::DType dtype = state.range(0) ? moa::DType::kFloat64 : moa::DType::kFloat32;
  double gflops = 0;
  int64_t n = 0;
  for (auto _ : state) gflops += moa::MeasurePeakGflops(dtype, 1, 0.05), ++n;
  state.counters["FLOP/s"] = gflops / static_cast<double>(n) * 1e9;
}

// args: float64 (0 or 1), slabs.
void Micro(benchmark::State& state, bool pv) {
  const bool f64 = state.range(0) != 0;
  const int64_t slabs = state.range(1);
  double flops = 0;
  for (auto _ : state) {
    flops += HWY_DYNAMIC_DISPATCH(moa::internal::RunMicroOfThisTarget)(f64, pv, slabs, 16);
  }
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsRate);
}
void BM_SimdScoreMicro(benchmark::State& state) { Micro(state, false); }
void BM_SimdPvMicro(benchmark::State& state) { Micro(state, true); }

}  // namespace

BENCHMARK(BM_SimdFmaPeak)->ArgName("f64")->Arg(0)->Arg(1);
BENCHMARK(BM_SimdScoreMicro)->ArgNames({"f64", "slabs"})->ArgsProduct({{0, 1}, {1, 8}});
BENCHMARK(BM_SimdPvMicro)->ArgNames({"f64", "slabs"})->ArgsProduct({{0, 1}, {1, 8}});
#endif  // HWY_ONCE
