// moa cost — measuring the machine (stage: cost). In: a thread count and a time budget.
// Out: a MachineModel with this machine's FMA peaks (through moa::MeasurePeakGflops, the loop the
// kernels' benchmark uses), vector exp rate and read bandwidth at each cache level and DRAM, each
// the median of 5 repeats, plus the OS cache geometry and the cited energy constants.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cost/measure_hwy.cc"
#ifndef HWY_DISABLED_TARGETS
// As in kernels/cpu/peak_hwy.cc: fewer targets, shorter builds; the rates of interest are the
// AVX2 / AVX-512 ones the kernels dispatch to.
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4 | HWY_AVX3_DL)
#endif
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <chrono>
#include <cstdint>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace moa::cost {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// 8 independent exps per step: the exp polynomial's latency is hidden, so this is throughput.
template <typename T>
double ExpLoop(int64_t iters) {
  const hn::ScalableTag<T> d;
  const auto step = hn::Set(d, static_cast<T>(-1e-6));
  auto x0 = hn::Set(d, T(-0.5)), x1 = hn::Set(d, T(-1)), x2 = hn::Set(d, T(-1.5));
  auto x3 = hn::Set(d, T(-2)), x4 = hn::Set(d, T(-2.5)), x5 = hn::Set(d, T(-3));
  auto x6 = hn::Set(d, T(-3.5)), x7 = hn::Set(d, T(-4));
  auto acc = hn::Zero(d), acc2 = hn::Zero(d);
  for (int64_t i = 0; i < iters; ++i) {
    acc = hn::Add(acc, hn::Add(hn::Add(hn::Exp(d, x0), hn::Exp(d, x1)),
                               hn::Add(hn::Exp(d, x2), hn::Exp(d, x3))));
    acc2 = hn::Add(acc2, hn::Add(hn::Add(hn::Exp(d, x4), hn::Exp(d, x5)),
                                 hn::Add(hn::Exp(d, x6), hn::Exp(d, x7))));
    x0 = hn::Add(x0, step); x1 = hn::Add(x1, step); x2 = hn::Add(x2, step); x3 = hn::Add(x3, step);
    x4 = hn::Add(x4, step); x5 = hn::Add(x5, step); x6 = hn::Add(x6, step); x7 = hn::Add(x7, step);
  }
  return static_cast<double>(hn::GetLane(hn::Add(acc, acc2)));
}

double ExpLoopF32(int64_t iters) { return ExpLoop<float>(iters); }
double ExpLoopF64(int64_t iters) { return ExpLoop<double>(iters); }
size_t LanesF32() { return hn::Lanes(hn::ScalableTag<float>()); }
size_t LanesF64() { return hn::Lanes(hn::ScalableTag<double>()); }

// Sums `count` floats (a multiple of 8 vectors) `reps` times with 8 accumulators: a read stream.
double ReadSum(const float* data, int64_t count, int64_t reps) {
  const hn::ScalableTag<float> d;
  const int64_t n = static_cast<int64_t>(hn::Lanes(d));
  auto a0 = hn::Zero(d), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (int64_t r = 0; r < reps; ++r) {
    for (int64_t i = 0; i + 8 * n <= count; i += 8 * n) {
      a0 = hn::Add(a0, hn::LoadU(d, data + i));
      a1 = hn::Add(a1, hn::LoadU(d, data + i + n));
      a2 = hn::Add(a2, hn::LoadU(d, data + i + 2 * n));
      a3 = hn::Add(a3, hn::LoadU(d, data + i + 3 * n));
      a4 = hn::Add(a4, hn::LoadU(d, data + i + 4 * n));
      a5 = hn::Add(a5, hn::LoadU(d, data + i + 5 * n));
      a6 = hn::Add(a6, hn::LoadU(d, data + i + 6 * n));
      a7 = hn::Add(a7, hn::LoadU(d, data + i + 7 * n));
    }
  }
  const auto s = hn::Add(hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)),
                         hn::Add(hn::Add(a4, a5), hn::Add(a6, a7)));
  return static_cast<double>(hn::GetLane(hn::SumOfLanes(d, s)));
}

}  // namespace HWY_NAMESPACE
}  // namespace moa::cost
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <thread>
#include <vector>

#include "cost/machine_model.h"
#include "moa/attention.h"

namespace moa::cost {
HWY_EXPORT(ExpLoopF32);
HWY_EXPORT(ExpLoopF64);
HWY_EXPORT(LanesF32);
HWY_EXPORT(LanesF64);
HWY_EXPORT(ReadSum);

namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Runs `body(iters)` on `threads` threads, sized to about `seconds`; median rate of 5 repeats,
// where `work_per_iter` converts iterations to the unit of the rate.
template <typename Body>
double MedianRate(Body body, double work_per_iter, int threads, double seconds) {
  const auto run = [&](int64_t iters) {
    const auto start = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back([&, t] { body(iters, t); });
    body(iters, 0);
    for (std::thread& th : pool) th.join();
    return work_per_iter * static_cast<double>(iters) * threads / Since(start);
  };
  int64_t iters = 1;
  // Calibrate: grow until one run takes a tenth of a repeat's share.
  for (;;) {
    const auto start = Clock::now();
    run(iters);
    if (Since(start) > seconds / 50 || iters > (int64_t{1} << 40)) break;
    iters *= 4;
  }
  const double per_run = seconds / 5;
  const double rate_guess = run(iters) / threads;
  iters = std::max<int64_t>(1, static_cast<int64_t>(per_run * rate_guess / work_per_iter));
  std::vector<double> rates;
  for (int r = 0; r < 5; ++r) rates.push_back(run(iters));
  return Median(rates);
}

// Read bandwidth in bytes/s over a buffer of `bytes` per thread (each thread its own buffer,
// touched once first so pages exist and the first pass is not a page-fault benchmark).
double ReadBandwidth(int64_t bytes, int threads, double seconds) {
  const int64_t step = 8 * 16;  // floats per 8 vectors of the widest target
  const int64_t count = std::max<int64_t>(step, bytes / 4 / step * step);
  std::vector<std::vector<float>> buffers(threads, std::vector<float>(count, 1.0f));
  std::vector<double> sinks(threads, 0);
  const double rate = MedianRate(
      [&](int64_t reps, int t) {
        sinks[t] += HWY_DYNAMIC_DISPATCH(ReadSum)(buffers[t].data(), count, reps);
      },
      static_cast<double>(count) * 4, threads, seconds);
  double sink = 0;
  for (double s : sinks) sink += s;
  return sink < 0 ? 0 : rate;  // the sums are positive; using them keeps the loads alive
}

}  // namespace

MachineModel MeasureMachine(int threads, double seconds) {
  threads = std::max(1, threads);
  MachineModel m = DefaultMachine();
  m.measured = true;
  m.notes.clear();
  const double share = seconds / 16;  // budget units; see the calls below
  // FMA peaks per core, one thread; median of 3 (the peak loop itself keeps the best of three).
  const auto peak = [&](DType dtype) {
    std::vector<double> v;
    for (int i = 0; i < 3; ++i) v.push_back(MeasurePeakGflops(dtype, 1, share / 2) * 1e9);
    return Median(v);
  };
  m.fma_flops_f64 = peak(DType::kFloat64);
  m.fma_flops_f32 = peak(DType::kFloat32);
  m.bf16_path = Bf16GemmPath();
  if (m.bf16_path == std::string("float32 SIMD")) {
    m.fma_flops_bf16 = 0;  // priced at the float32 rate
    m.bf16_path = "";
  } else {
    m.fma_flops_bf16 = peak(DType::kBFloat16);
  }
  double sink = 0;
  const double lanes32 = static_cast<double>(HWY_DYNAMIC_DISPATCH(LanesF32)());
  const double lanes64 = static_cast<double>(HWY_DYNAMIC_DISPATCH(LanesF64)());
  m.exp_per_s_f32 = MedianRate(
      [&](int64_t it, int) { sink += HWY_DYNAMIC_DISPATCH(ExpLoopF32)(it); }, 8 * lanes32, 1, share);
  m.exp_per_s_f64 = MedianRate(
      [&](int64_t it, int) { sink += HWY_DYNAMIC_DISPATCH(ExpLoopF64)(it); }, 8 * lanes64, 1, share);
  if (sink != sink) m.notes.push_back("exp loop produced NaN");  // keeps `sink` alive
  for (size_t i = 0; i < m.caches.size(); ++i) {
    CacheLevel& c = m.caches[i];
    // Half the level, per thread; the shared level is split among the threads. A VM reports the
    // host's last level (300 MiB on the machine this was written on) of which it holds a share,
    // so its probe is at most max(4 x L2, 16 MiB): a stream that size stays in any server LLC.
    int64_t probe = c.bytes / 2;
    if (c.shared && i > 0) probe = std::min(probe, std::max(4 * m.caches[i - 1].bytes, int64_t{16} << 20));
    const int64_t per_thread_all = c.shared ? probe / threads : probe;
    c.read_bw_1t = ReadBandwidth(probe, 1, share);
    c.read_bw_all = ReadBandwidth(per_thread_all, threads, share);
  }
  // DRAM: twice the last level (at least 64 MiB, at most 1 GiB in all) so the stream misses it.
  const int64_t llc = m.caches.empty() ? (32 << 20) : m.caches.back().bytes;
  const int64_t dram_bytes = std::clamp<int64_t>(2 * llc, int64_t{64} << 20, int64_t{1} << 30);
  m.dram_bw_1t = ReadBandwidth(dram_bytes, 1, 2 * share);
  m.dram_bw_all = ReadBandwidth(dram_bytes / threads, threads, 2 * share);
  m.notes.push_back("measured by `moa peak` with " + std::to_string(threads) +
                    " thread(s); each rate the median of 5 repeats (FMA: of 3)");
  m.notes.push_back("FMA: 12 independent SIMD FMA chains on target " +
                    std::string(AttentionKernelTarget()) + "; bfloat16 on " +
                    (m.bf16_path.empty() ? std::string("(not measured: float32 rate)") : m.bf16_path));
  m.notes.push_back("exp: Highway contrib Exp, 8 independent vectors per step");
  m.notes.push_back("bandwidth: SIMD sum over half of each cache level per thread; DRAM over " +
                    std::to_string(dram_bytes >> 20) + " MiB (an LLC shared with other tenants "
                    "of a VM may hold less than the OS reports)");
  return m;
}

}  // namespace moa::cost
#endif  // HWY_ONCE
