// moa — runtime attention (stage: kernels, CPU SIMD): the machine's measured FMA peak.
// In: a dtype, a thread count, a time budget. Out: GFLOP/s of independent fused multiply-adds on
// the best Highway target, the denominator of the benchmark's "fraction of peak".
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/peak_hwy.cc"
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4 | HWY_AVX3_DL)
#endif
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <chrono>
#include <cstdint>
#include <vector>

#include "hwy/highway.h"
#include "kernels/parallel.h"
#include "moa/attention.h"

HWY_BEFORE_NAMESPACE();
namespace moa::internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// 12 independent chains: FMA latency (4 cycles on Intel since Skylake) x 2 FMA ports needs >= 8
// in flight; 12 leaves margin and fits 16 registers. `sink` keeps the loop from being removed.
// The chains start from distinct values: started equal they are identical, and GCC's value
// numbering merged all twelve into one latency-bound FMA per iteration, which was then counted as
// twelve (a "peak" of 281 GFLOP/s on a core whose FMA ports do 175).
template <typename T>
void FmaChains(int64_t iters, T* sink) {
  const hn::ScalableTag<T> d;
  const auto x = hn::Set(d, static_cast<T>(0.9999999));
  const auto y = hn::Set(d, static_cast<T>(1e-7));
  const auto start = [&](int chain) { return hn::Set(d, static_cast<T>(1 + chain / 16.0)); };
  auto a0 = start(0), a1 = start(1), a2 = start(2), a3 = start(3), a4 = start(4), a5 = start(5);
  auto a6 = start(6), a7 = start(7), a8 = start(8), a9 = start(9), a10 = start(10), a11 = start(11);
  for (int64_t i = 0; i < iters; ++i) {
    a0 = hn::MulAdd(a0, x, y); a1 = hn::MulAdd(a1, x, y); a2 = hn::MulAdd(a2, x, y);
    a3 = hn::MulAdd(a3, x, y); a4 = hn::MulAdd(a4, x, y); a5 = hn::MulAdd(a5, x, y);
    a6 = hn::MulAdd(a6, x, y); a7 = hn::MulAdd(a7, x, y); a8 = hn::MulAdd(a8, x, y);
    a9 = hn::MulAdd(a9, x, y); a10 = hn::MulAdd(a10, x, y); a11 = hn::MulAdd(a11, x, y);
  }
  auto s = hn::Add(hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)), hn::Add(hn::Add(a4, a5), hn::Add(a6, a7)));
  s = hn::Add(s, hn::Add(hn::Add(a8, a9), hn::Add(a10, a11)));
  *sink += hn::GetLane(s);
}

double PeakFlops(bool f64, int64_t iters, int threads) {
  const int64_t tasks = 4 * threads;
  std::vector<double> sinks(threads, 0.0);
  const double lanes = f64 ? static_cast<double>(hn::Lanes(hn::ScalableTag<double>()))
                           : static_cast<double>(hn::Lanes(hn::ScalableTag<float>()));
  const double flops_per_task = 2.0 * 12 * lanes * static_cast<double>(iters);
  const auto start = std::chrono::steady_clock::now();
  ParallelFor(tasks, threads, [&](int64_t, int worker) {
    if (f64) {
      double s = 0;
      FmaChains<double>(iters, &s);
      sinks[worker] += s;
    } else {
      float s = 0;
      FmaChains<float>(iters, &s);
      sinks[worker] += s;
    }
  });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double sink = 0;
  for (double s : sinks) sink += s;
  // The sums are finite positive numbers; using them keeps the loops alive.
  return sink < 0 ? 0 : flops_per_task * tasks / secs;
}

}  // namespace HWY_NAMESPACE
}  // namespace moa::internal
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>

#include "kernels/amx/amx_bf16.h"
#include "kernels/attention_problem.h"
#include "kernels/cpu/bf16_dot.h"

namespace moa {
namespace internal {
HWY_EXPORT(PeakFlops);

// Rate of a non-Highway peak loop (AMX or VDPBF16PS) on `threads` threads, best of three.
template <typename Loop>
double LoopPeak(Loop loop, int threads, double seconds) {
  const auto time = [&](int64_t iters) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<double> flops(threads, 0.0);
    ParallelFor(4 * threads, threads, [&](int64_t, int worker) { flops[worker] += loop(iters); });
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double total = 0;
    for (double f : flops) total += f;
    return total / secs;
  };
  const double rate = time(1 << 12);
  const double flops_per_iter = loop(1);
  int64_t iters = static_cast<int64_t>(seconds / 3 / 4 * (rate / threads) / flops_per_iter) + 64;
  double best = 0;
  for (int i = 0; i < 3; ++i) best = std::max(best, time(iters));
  return best;
}
}  // namespace internal

// The bfloat16 units are compiled into the AVX-512 targets only (64-query chunks), so another
// target (SetAttentionKernelTarget) takes the float32 path even where the CPU has them.
static bool Bf16UnitsReachable() { return internal::FusedChunkQueries(DType::kFloat32) == 64; }

const char* Bf16GemmPath() {
  if (Bf16UnitsReachable() && internal::AmxAvailable()) return "AMX";
  if (Bf16UnitsReachable() && internal::CpuHasAvx512Bf16()) return "AVX512-BF16";
  return "float32 SIMD";
}

double MeasurePeakGflops(DType dtype, int num_threads, double seconds) {
  const bool f64 = dtype == DType::kFloat64;
  if (num_threads < 1) num_threads = 1;
  const bool bf16_units = dtype == DType::kBFloat16 && Bf16UnitsReachable();
  if (bf16_units && internal::AmxAvailable()) {
    return internal::LoopPeak(internal::AmxPeakLoop, num_threads, seconds) / 1e9;
  }
  if (bf16_units && internal::CpuHasAvx512Bf16()) {
    return internal::LoopPeak(internal::Bf16DotPeakLoop, num_threads, seconds) / 1e9;
  }
  // Calibrate on a short run, then size the measured run to the budget; best of three.
  int64_t iters = 1 << 16;
  double rate = HWY_DYNAMIC_DISPATCH(internal::PeakFlops)(f64, iters, num_threads);
  const double flops_per_iter = rate > 0 ? rate / num_threads : 1e9;
  iters = static_cast<int64_t>(seconds / 3 / 4 * flops_per_iter / (2.0 * 12 * 16)) + 1024;
  double best = 0;
  for (int i = 0; i < 3; ++i) {
    const double r = HWY_DYNAMIC_DISPATCH(internal::PeakFlops)(f64, iters, num_threads);
    best = r > best ? r : best;
  }
  return best / 1e9;
}

}  // namespace moa
#endif  // HWY_ONCE
