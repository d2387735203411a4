// Google Benchmark of single attention kernels: fused and naive, per dtype, n, d and thread count.
// Reports FLOP/s (4 n^2 d per head, as `moa bench`) as a rate counter. For the full sweep with
// the machine's measured peak and the speed-up table, use `moa bench`.
//   build/release/bench/moa_kernel_bench --benchmark_filter='fused/float32' --benchmark_format=json
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention_problem.h"
#include "moa/attention.h"

namespace {

std::vector<unsigned char> Random(moa::DType dtype, int64_t count) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<unsigned char> bytes(count * moa::DTypeSize(dtype));
  for (int64_t i = 0; i < count; ++i) {
    const float x = u(rng);
    if (dtype == moa::DType::kFloat64) {
      const double y = x;
      std::memcpy(bytes.data() + 8 * i, &y, 8);
    } else if (dtype == moa::DType::kFloat32) {
      std::memcpy(bytes.data() + 4 * i, &x, 4);
    } else {
      const uint16_t b = moa::BFloat16FromFloat(x);
      std::memcpy(bytes.data() + 2 * i, &b, 2);
    }
  }
  return bytes;
}

// Arguments: n, d, threads. Heads = max(1, 4096 / n) so every point does comparable work.
void BM_Attention(benchmark::State& state, moa::AttentionImpl impl, moa::DType dtype) {
  const int64_t n = state.range(0), d = state.range(1), heads = std::max<int64_t>(1, 4096 / n);
  const auto q = Random(dtype, heads * n * d), k = Random(dtype, heads * n * d),
             v = Random(dtype, heads * n * d);
  std::vector<unsigned char> o(heads * n * d * moa::DTypeSize(dtype));
  moa::AttentionOptions options;
  options.impl = impl;
  options.num_threads = static_cast<int>(state.range(2));
  const auto view = [&](const void* p) { return moa::Tensor::Bhsd(p, dtype, 1, heads, n, d); };
  for (auto _ : state) {
    try {
      moa::Attention(view(q.data()), view(k.data()), view(v.data()), view(o.data()), options);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      break;
    }
    benchmark::DoNotOptimize(o.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOP/s"] = benchmark::Counter(4.0 * n * n * d * heads,
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(moa::DTypeName(dtype)) + " on " +
                 (dtype == moa::DType::kBFloat16 ? moa::Bf16GemmPath() : moa::AttentionKernelTarget()));
}

void Args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "d", "threads"});
  for (int64_t n : {512, 1024, 4096})
    for (int64_t d : {64, 128})
      for (int64_t t : {1, 2}) b->Args({n, d, t});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

// Decoding and short query blocks: nq queries per head against nk keys (8 heads), on the
// few-query path or forced onto the tile path, to place FewQueryRows (attention_problem.h).
// Arguments: nq, nk, d, threads, few (1: the few-query path for every block, 0: never).
void BM_FewQueries(benchmark::State& state, moa::DType dtype) {
  const int64_t nq = state.range(0), nk = state.range(1), d = state.range(2), heads = 8;
  const auto q = Random(dtype, heads * nq * d), k = Random(dtype, heads * nk * d),
             v = Random(dtype, heads * nk * d);
  std::vector<unsigned char> o(heads * nq * d * moa::DTypeSize(dtype));
  moa::AttentionOptions options;
  options.num_threads = static_cast<int>(state.range(3));
  moa::internal::SetFewQueryRowsForTest(state.range(4) ? int64_t{1} << 30 : 0);
  for (auto _ : state) {
    moa::Attention(moa::Tensor::Bhsd(q.data(), dtype, 1, heads, nq, d),
                   moa::Tensor::Bhsd(k.data(), dtype, 1, heads, nk, d),
                   moa::Tensor::Bhsd(v.data(), dtype, 1, heads, nk, d),
                   moa::Tensor::Bhsd(o.data(), dtype, 1, heads, nq, d), options);
    benchmark::DoNotOptimize(o.data());
    benchmark::ClobberMemory();
  }
  moa::internal::SetFewQueryRowsForTest(-1);
  state.counters["FLOP/s"] = benchmark::Counter(4.0 * nq * nk * d * heads,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void FewQueryArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"nq", "nk", "d", "threads", "few"});
  for (int64_t nq : {1, 2, 4, 8, 16, 32})
    for (int64_t d : {64, 128})
      for (int64_t few : {0, 1}) b->Args({nq, 4096, d, 1, few});
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

// The fixed cost of one call: one query against nk keys of one head (float32, d = 64), where the
// work itself is a few hundred nanoseconds. Arguments: nk, threads.
void BM_CallOverhead(benchmark::State& state) {
  const moa::DType dtype = moa::DType::kFloat32;
  const int64_t nk = state.range(0), d = 64;
  const auto q = Random(dtype, d), k = Random(dtype, nk * d), v = Random(dtype, nk * d);
  std::vector<unsigned char> o(d * moa::DTypeSize(dtype));
  moa::AttentionOptions options;
  options.num_threads = static_cast<int>(state.range(1));
  for (auto _ : state) {
    moa::Attention(moa::Tensor::Bhsd(q.data(), dtype, 1, 1, 1, d),
                   moa::Tensor::Bhsd(k.data(), dtype, 1, 1, nk, d),
                   moa::Tensor::Bhsd(v.data(), dtype, 1, 1, nk, d),
                   moa::Tensor::Bhsd(o.data(), dtype, 1, 1, 1, d), options);
    benchmark::DoNotOptimize(o.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_CallOverhead)
    ->ArgNames({"nk", "threads"})
    ->ArgsProduct({{1, 16}, {1, 2}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

BENCHMARK_CAPTURE(BM_FewQueries, float32, moa::DType::kFloat32)->Apply(FewQueryArgs);
BENCHMARK_CAPTURE(BM_FewQueries, float64, moa::DType::kFloat64)->Apply(FewQueryArgs);
BENCHMARK_CAPTURE(BM_FewQueries, bfloat16, moa::DType::kBFloat16)->Apply(FewQueryArgs);

BENCHMARK_CAPTURE(BM_Attention, fused/float32, moa::AttentionImpl::kFused, moa::DType::kFloat32)->Apply(Args);
BENCHMARK_CAPTURE(BM_Attention, naive/float32, moa::AttentionImpl::kNaive, moa::DType::kFloat32)->Apply(Args);
BENCHMARK_CAPTURE(BM_Attention, fused/float64, moa::AttentionImpl::kFused, moa::DType::kFloat64)->Apply(Args);
BENCHMARK_CAPTURE(BM_Attention, naive/float64, moa::AttentionImpl::kNaive, moa::DType::kFloat64)->Apply(Args);
BENCHMARK_CAPTURE(BM_Attention, fused/bfloat16, moa::AttentionImpl::kFused, moa::DType::kBFloat16)->Apply(Args);
BENCHMARK_CAPTURE(BM_Attention, naive/bfloat16, moa::AttentionImpl::kNaive, moa::DType::kBFloat16)->Apply(Args);

}  // namespace

BENCHMARK_MAIN();
