// Google Benchmark of the AMX bfloat16 tile micro-kernels alone (src/kernels/amx), beside the tile
// unit's own peak: the best the fused bfloat16 kernel's two GEMM phases can reach on this machine.
//   build/release/bench/moa_kernel_bench --benchmark_filter=Amx --benchmark_repetitions=5
// AmxPeak is `moa bench`'s AMX peak: TDPBF16PS on register tiles, no memory. The tile kernels
// block 2 x 2 tiles, so each TDPBF16PS (16 x 16 x 32) needs one 1 KiB tile load; their operands
// here are one 32-query chunk against `keys` keys (K or V^T: keys x 256 bytes, in L1 up to 128
// keys, in L2 beyond), as in the fused kernel at d = 128.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "bench/bf16_bench_data.h"
#include "kernels/amx/amx_bf16.h"

namespace {

using moa::bench::Bf16Data;
using moa::bench::Zeros;
using moa::internal::AmxAvailable;

constexpr int64_t kDim = 128;   // head dim (dk = dv)
constexpr int64_t kChunk = 32;  // queries per call, as the kernel's query chunk

void BM_AmxPeak(benchmark::State& state) {
  if (!AmxAvailable()) return state.SkipWithError("no AMX on this CPU or kernel");
  double flops = 0;
  for (auto _ : state) flops += moa::internal::AmxPeakLoop(1 << 14);
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsRate);
}

// S^T (keys x 32 queries) = K Q^T.
void BM_AmxScoreTile(benchmark::State& state) {
  if (!AmxAvailable()) return state.SkipWithError("no AMX on this CPU or kernel");
  const int64_t keys = state.range(0);
  const auto k = Bf16Data<uint16_t>(keys * kDim, 0x3f80);
  const auto q = Bf16Data<uint32_t>(kDim / 2 * kChunk, 0x3f803f80u);
  auto s = Zeros(keys * kChunk);
  moa::internal::AmxConfigure();
  for (auto _ : state) {
    moa::internal::AmxScoreTile(k.get(), kDim, keys, kDim, q.get(), kChunk, kChunk, s.get(),
                                kChunk);
    benchmark::DoNotOptimize(s.get());
  }
  moa::internal::AmxRelease();
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * keys * kChunk * kDim,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

// O^T (128 x 32 queries) += V^T P^T over `keys` keys: the accumulators are loaded and stored once
// per call, as once per key tile in the kernel.
void BM_AmxPvTile(benchmark::State& state) {
  if (!AmxAvailable()) return state.SkipWithError("no AMX on this CPU or kernel");
  const int64_t keys = state.range(0);
  const auto vt = Bf16Data<uint16_t>(kDim * keys, 0x3f80);
  const auto p = Bf16Data<uint32_t>(keys / 2 * kChunk, 0x3c003c00u);  // ~2^-7, sums stay finite
  auto o = Zeros(kDim * kChunk);
  moa::internal::AmxConfigure();
  for (auto _ : state) {
    moa::internal::AmxPvTile(vt.get(), keys, kDim, keys, p.get(), kChunk, kChunk, o.get(),
                             kChunk);
    benchmark::DoNotOptimize(o.get());
  }
  moa::internal::AmxRelease();
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * keys * kChunk * kDim,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_AmxPeak);
BENCHMARK(BM_AmxScoreTile)->ArgName("keys")->Arg(32)->Arg(128)->Arg(512);
BENCHMARK(BM_AmxPvTile)->ArgName("keys")->Arg(32)->Arg(128)->Arg(512);

}  // namespace
