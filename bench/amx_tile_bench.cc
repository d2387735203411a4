// Google Benchmark of the AMX bfloat16 tile micro-kernels alone (src/kernels/amx), beside the tile
// unit's own peak: the best the fused bfloat16 kernel's two GEMM phases can reach on this machine.
//   build/release/bench/moa_kernel_bench --benchmark_filter=Amx --benchmark_repetitions=5
// AmxPeak is `moa bench`'s AMX peak: TDPBF16PS on register tiles, no memory. The tile kernels
// block 2 x 2 tiles, so each TDPBF16PS (16 x 16 x 32) needs one 1 KiB tile load; their operands
// here are one 32-query chunk against `keys` keys (K or V^T: keys x 256 bytes, in L1 up to 128
// keys, in L2 beyond), as in the fused kernel at d = 128.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "kernels/amx/amx_bf16.h"

namespace {

using moa::internal::AmxAvailable;

constexpr int64_t kDim = 128;   // head dim (dk = dv)
constexpr int64_t kChunk = 32;  // queries per call, as the kernel's query chunk

void BM_AmxPeak(benchmark::State& state) {
  if (!AmxAvailable()) return state.SkipWithError("no AMX on this CPU or kernel");
  double flops = 0;
  for (auto _ : state) flops += moa::internal::AmxPeakLoop(1 << 14);
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsRate);
}

// bfloat16 values near 1 (the tile unit's power, and so its clock, depends on the data).
template <typename T>
std::vector<T> Ones(int64_t count, T bits) {
  std::vector<T> v(count);
  for (int64_t i = 0; i < count; ++i) v[i] = bits ^ static_cast<T>(i % 7);
  return v;
}

// S^T (keys x 32 queries) = K Q^T.
void BM_AmxScoreTile(benchmark::State& state) {
  if (!AmxAvailable()) return state.SkipWithError("no AMX on this CPU or kernel");
  const int64_t keys = state.range(0);
  const auto k = Ones<uint16_t>(keys * kDim, 0x3f80);
  const auto q = Ones<uint32_t>(kDim / 2 * kChunk, 0x3f803f80u);
  std::vector<float> s(keys * kChunk);
  moa::internal::AmxConfigure();
  for (auto _ : state) {
    moa::internal::AmxScoreTile(k.data(), kDim, keys, kDim, q.data(), kChunk, kChunk, s.data(),
                                kChunk);
    benchmark::DoNotOptimize(s.data());
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
  const auto vt = Ones<uint16_t>(kDim * keys, 0x3f80);
  const auto p = Ones<uint32_t>(keys / 2 * kChunk, 0x3c003c00u);  // ~2^-7, sums stay finite
  std::vector<float> o(kDim * kChunk);
  moa::internal::AmxConfigure();
  for (auto _ : state) {
    moa::internal::AmxPvTile(vt.data(), keys, kDim, keys, p.data(), kChunk, kChunk, o.data(),
                             kChunk);
    benchmark::DoNotOptimize(o.data());
  }
  moa::internal::AmxRelease();
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * keys * kChunk * kDim,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_AmxPeak);
BENCHMARK(BM_AmxScoreTile)->ArgName("keys")->Arg(32)->Arg(128)->Arg(512);
BENCHMARK(BM_AmxPvTile)->ArgName("keys")->Arg(32)->Arg(128)->Arg(512);

}  // namespace
