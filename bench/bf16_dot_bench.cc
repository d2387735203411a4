// Google Benchmark of the AVX512-BF16 pair micro-kernels alone (src/kernels/cpu/bf16_dot.h),
// beside that unit's peak: the best the fused bfloat16 kernel's two GEMM phases can reach on a CPU
// with AVX512-BF16 and no AMX.
//   build/release/bench/moa_kernel_bench --benchmark_filter=Bf16 --benchmark_repetitions=5
// Bf16DotPeak is `moa bench`'s AVX512-BF16 peak: 12 VDPBF16PS chains, no memory. The operands are
// one 64-query chunk (the kernels' chunk) against `keys` keys at d = 128: K or V pairs are
// keys x 256 bytes, in L1 up to 64 keys, in L2 beyond.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "bench/bf16_bench_data.h"
#include "kernels/cpu/bf16_dot.h"

namespace {

using moa::bench::Bf16Data;
using moa::bench::Zeros;
using moa::internal::CpuHasAvx512Bf16;

constexpr int64_t kDim = 128;   // head dim (dk = dv)
constexpr int64_t kChunk = 64;  // queries per call

void BM_Bf16DotPeak(benchmark::State& state) {
  if (!CpuHasAvx512Bf16()) return state.SkipWithError("no AVX512-BF16 on this CPU");
  double flops = 0;
  for (auto _ : state) flops += moa::internal::Bf16DotPeakLoop(1 << 16);
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsRate);
}

// S^T (keys x 64 queries) = K Q^T, times the scale.
void BM_Bf16ScoreTile(benchmark::State& state) {
  if (!CpuHasAvx512Bf16()) return state.SkipWithError("no AVX512-BF16 on this CPU");
  const int64_t keys = state.range(0);
  const auto k = Bf16Data<uint16_t>(keys * kDim, 0x3f80);
  const auto q = Bf16Data<uint32_t>(kDim / 2 * kChunk, 0x3f803f80u);
  auto s = Zeros(keys * kChunk);
  for (auto _ : state) {
    moa::internal::Bf16ScoreTile(k.get(), kDim, keys, kDim / 2, q.get(), kChunk, kChunk, 0.1f,
                                 s.get(), kChunk);
    benchmark::DoNotOptimize(s.get());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * keys * kChunk * kDim,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

// O^T (128 x 64 queries) += V^T P^T over `keys` keys: the accumulators are loaded and stored once
// per call, as once per key tile in the kernel.
void BM_Bf16PvTile(benchmark::State& state) {
  if (!CpuHasAvx512Bf16()) return state.SkipWithError("no AVX512-BF16 on this CPU");
  const int64_t keys = state.range(0);
  const auto vp = Bf16Data<uint32_t>(keys / 2 * kDim, 0x3f803f80u);
  const auto p = Bf16Data<uint32_t>(keys / 2 * kChunk, 0x3c003c00u);  // ~2^-7, sums stay finite
  auto o = Zeros(kDim * kChunk);
  for (auto _ : state) {
    moa::internal::Bf16PvTile(vp.get(), kDim, keys / 2, p.get(), kChunk, kChunk, o.get(), kChunk,
                              kDim);
    benchmark::DoNotOptimize(o.get());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * keys * kChunk * kDim,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_Bf16DotPeak);
BENCHMARK(BM_Bf16ScoreTile)->ArgName("keys")->Arg(32)->Arg(128)->Arg(512);
BENCHMARK(BM_Bf16PvTile)->ArgName("keys")->Arg(32)->Arg(128)->Arg(512);

}  // namespace
