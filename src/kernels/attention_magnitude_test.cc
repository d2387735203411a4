// The kernels at extreme magnitudes (issue 21, class 1): scores from 1e-30 to the dtype's range,
// additive masks holding -inf, the dtype's lowest value and huge finite values, whole rows very
// negative (padding masks built from finfo.min), and v near the dtype's largest value, on every
// dtype, SIMD target, bfloat16 GEMM path, the few-query and tile paths, split keys and naive.
//
// The problems are exact: q and k hold small integers times powers of two and the scale is a
// power of two, so every score is exactly representable in every dtype and the only rounding
// before the softmax is the dtype's own addition of the mask (done here too). The truth is then
// the float64 softmax of those scores: output and LSE must match it within the dtype's tolerance
// wherever it is finite, and be NaN exactly where it is NaN (a +inf score).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "hwy/targets.h"
#include "kernels/attention_problem.h"
#include "kernels/attention_test_util.h"
#include "kernels/cpu/bf16_dot.h"
#include "kernels/kernel_path_test_util.h"
#include "moa/attention.h"

namespace moa {
namespace {

using testing_util::HostTensor;
using testing_util::Layout;
using testing_util::MakeTensor;

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Shape {
  int64_t hq, hkv, nq, nk, dk, dv;
};

// Few-query (nq <= 16) and tile rows, tails around the 64 x 32 blocks, GQA.
constexpr Shape kShapes[] = {{1, 1, 1, 1, 1, 1},  {2, 1, 1, 77, 8, 5},  {1, 1, 3, 40, 3, 16},
                             {1, 1, 37, 33, 8, 3}, {2, 2, 70, 100, 5, 9}};

// The dtype the kernels add the mask in (float32 for bfloat16 inputs), and its limits.
struct Range {
  bool f64;
  int max_exp;  // largest binary exponent of a finite value
  double Round(double x) const { return f64 ? x : static_cast<double>(static_cast<float>(x)); }
  double Lowest() const {
    return f64 ? std::numeric_limits<double>::lowest() : std::numeric_limits<float>::lowest();
  }
};

double Tolerance(DType d) {
  return d == DType::kFloat64 ? 1e-12 : d == DType::kFloat32 ? 1e-5 : 2e-2;
}

// One problem: q, k, v, an additive mask (or none), a power-of-two scale, and its truth.
struct Problem {
  Shape s;
  DType dtype;
  HostTensor q, k, v, mask;
  bool has_mask = false;
  double scale = 1;
  double vmax = 0;          // largest |v|: the output's error is measured against it
  std::vector<double> out;  // (hq, nq, dv)
  std::vector<double> lse;  // (hq, nq)
};

// Scores of magnitude about 2^e (e drawn over the dtype's range, or near 1), split between q, k
// and the scale so that q, k, q times the scale (the SIMD paths form it) and q k (the AMX path
// scales after the product) all stay normal numbers of the dtype.
Problem Make(const Shape& s, DType dtype, int variant, std::mt19937* rng) {
  const Range range{dtype == DType::kFloat64, dtype == DType::kFloat64 ? 1023 : 127};
  // Scores are at most 9 dk <= 72 times 2^e.
  const int e_max = range.f64 ? 900 : 118, e_min = range.f64 ? -900 : -100;
  const int scale_max = range.f64 ? 300 : 40;
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(*rng); };
  const int e = variant % 5 == 4 ? uniform(-4, 4) : uniform(e_min, e_max);
  const int es = variant % 3 == 0
                     ? 0
                     : uniform(std::max(-scale_max, e - e_max), std::min(scale_max, e + e_max));
  const int eq = (e - es) / 2, ek = e - es - eq;
  Problem p;
  p.s = s;
  p.dtype = dtype;
  p.scale = std::ldexp(1.0, es);
  p.q = MakeTensor(dtype, {1, s.hq, s.nq, s.dk}, Layout::kBhsd);
  p.k = MakeTensor(dtype, {1, s.hkv, s.nk, s.dk}, Layout::kBhsd);
  p.v = MakeTensor(dtype, {1, s.hkv, s.nk, s.dv}, Layout::kBhsd);
  auto fill = [&](HostTensor* t, int exp, int lo, int hi) {
    int64_t i[4] = {0, 0, 0, 0};
    for (i[1] = 0; i[1] < t->view.sizes[1]; ++i[1])
      for (i[2] = 0; i[2] < t->view.sizes[2]; ++i[2])
        for (i[3] = 0; i[3] < t->view.sizes[3]; ++i[3]) {
          t->Set(i, std::ldexp(uniform(lo, hi), exp));
        }
  };
  fill(&p.q, eq, -3, 3);
  fill(&p.k, ek, -3, 3);
  // v: small values, or values near the largest finite (integers of 8 bits times 2^(max - 7),
  // exact in bfloat16 too, at most 250/255 of its maximum), whose weighted sum must not overflow.
  if (variant % 4 == 1) {
    fill(&p.v, range.max_exp - 7, 128, 250);
    int64_t i[4] = {0, 0, 0, 0};
    for (i[1] = 0; i[1] < s.hkv; ++i[1])
      for (i[2] = 0; i[2] < s.nk; ++i[2])
        for (i[3] = 0; i[3] < s.dv; ++i[3]) {
          if (uniform(0, 1)) p.v.Set(i, -p.v.Get(i));
        }
  } else {
    fill(&p.v, uniform(-4, 4), -8, 8);
  }

  p.has_mask = variant % 2 == 0;
  const DType mask_dtype = dtype == DType::kBFloat16 ? DType::kFloat32 : dtype;
  p.mask = MakeTensor(mask_dtype, {1, s.hq, s.nq, s.nk}, Layout::kBhsd);
  const double huge = std::ldexp(1.0, range.max_exp - 8);
  for (int64_t h = 0; h < s.hq; ++h)
    for (int64_t i = 0; i < s.nq; ++i) {
      const int row_kind = uniform(0, 9);  // 0: -inf row, 1: lowest, 2: -1e10, else mixed
      for (int64_t j = 0; j < s.nk; ++j) {
        double m = 0;
        if (row_kind == 0) {
          m = -kInf;
        } else if (row_kind == 1) {
          m = range.Lowest();
        } else if (row_kind == 2) {
          m = range.Round(-1e10);
        } else {
          const int pick = uniform(0, 99);
          m = pick < 55   ? 0.0
              : pick < 67 ? std::ldexp(uniform(-3, 3), e)  // a bias of the scores' size
              : pick < 75 ? -kInf
              : pick < 83 ? range.Lowest()
              : pick < 91 ? -huge * uniform(1, 7) / 8
              : pick < 99 ? huge * uniform(1, 7) / 8
                          : kInf;  // a +inf score: PyTorch gives a NaN row
        }
        const int64_t idx[4] = {0, h, i, j};
        p.mask.Set(idx, m);
      }
    }

  // The truth: the float64 softmax of the exact scores plus the mask, added in the kernels' dtype.
  int64_t idx[4] = {0, 0, 0, 0};
  for (idx[1] = 0; idx[1] < s.hkv; ++idx[1])
    for (idx[2] = 0; idx[2] < s.nk; ++idx[2])
      for (idx[3] = 0; idx[3] < s.dv; ++idx[3]) p.vmax = std::max(p.vmax, std::fabs(p.v.Get(idx)));
  testing_util::Reference truth = testing_util::ReferenceAttention(
      p.q, p.k, p.v, p.has_mask ? &p.mask : nullptr, /*causal=*/false, /*bottom_right=*/false,
      p.scale, /*float32_scores=*/!range.f64);
  p.out = std::move(truth.out);
  p.lse = std::move(truth.lse);
  return p;
}

struct Path {
  const char* name;
  AttentionImpl impl;
  int64_t kv_splits;
};

// Runs problem p on the current kernel path and checks it against the truth.
void Check(const Problem& p, DType out_dtype, const Path& path) {
  const Shape& s = p.s;
  HostTensor out = MakeTensor(out_dtype, {1, s.hq, s.nq, s.dv}, Layout::kBhsd);
  const DType lse_dtype = p.dtype == DType::kFloat64 ? DType::kFloat64 : DType::kFloat32;
  HostTensor lse = MakeTensor(lse_dtype, {1, s.hq, s.nq}, Layout::kBhsd);
  AttentionOptions o;
  o.scale = p.scale;
  if (p.has_mask) o.mask = p.mask.view;
  o.lse = lse.view;
  o.num_threads = 1;
  o.impl = path.impl;
  o.block_q = 64;
  o.block_k = 32;
  o.kv_splits = path.kv_splits;
  Attention(p.q.view, p.k.view, p.v.view, out.view, o);
  const double tol = Tolerance(p.dtype);
  for (int64_t h = 0; h < s.hq; ++h)
    for (int64_t i = 0; i < s.nq; ++i) {
      const double want_lse = p.lse[h * s.nq + i];
      const int64_t li[3] = {0, h, i};
      const double got_lse = lse.Get(li);
      const std::string where = "head " + std::to_string(h) + " query " + std::to_string(i);
      if (std::isnan(want_lse)) {
        EXPECT_TRUE(std::isnan(got_lse)) << where << ": LSE " << got_lse << ", want NaN";
      } else if (std::isinf(want_lse)) {
        EXPECT_EQ(got_lse, want_lse) << where;
      } else {
        EXPECT_LE(std::fabs(got_lse - want_lse), tol * std::max(1.0, std::fabs(want_lse)))
            << where << ": LSE " << got_lse << ", want " << want_lse;
      }
      for (int64_t e = 0; e < s.dv; ++e) {
        const double want = p.out[(h * s.nq + i) * s.dv + e];
        const double got = out.Get4(0, h, i, e);
        if (std::isnan(want)) {
          EXPECT_TRUE(std::isnan(got)) << where << " element " << e << ": " << got << ", want NaN";
        } else {
          EXPECT_LE(std::fabs(got - want), tol * p.vmax)
              << where << " element " << e << ": " << got << ", want " << want << " (|v| up to "
              << p.vmax << ")";
        }
      }
    }
}

TEST(AttentionMagnitudeTest, EveryPathMatchesTheExactSoftmax) {
  constexpr int kProblemsPerShape = 8;
  const Path paths[] = {{"fused", AttentionImpl::kFused, 1},
                        {"fused, keys split in 3", AttentionImpl::kFused, 3},
                        {"naive", AttentionImpl::kNaive, 1}};
  struct Typed {
    DType in, out;
  };
  const Typed types[] = {{DType::kFloat64, DType::kFloat64},
                         {DType::kFloat32, DType::kFloat32},
                         {DType::kBFloat16, DType::kBFloat16},
                         {DType::kBFloat16, DType::kFloat32}};
  const int bf16_paths[] = {internal::kBf16Auto, internal::kBf16NoAmx, internal::kBf16Float32,
                            testing_util::kAmxModel};
  std::mt19937 rng(21);
  std::vector<Problem> problems[3];  // float64, float32, bfloat16
  for (int t = 0; t < 3; ++t) {
    const DType dtype = t == 0 ? DType::kFloat64 : t == 1 ? DType::kFloat32 : DType::kBFloat16;
    for (const Shape& s : kShapes)
      for (int variant = 0; variant < kProblemsPerShape; ++variant) {
        problems[t].push_back(Make(s, dtype, variant, &rng));
      }
  }
  const int64_t cpu = testing_util::CpuSimdTargets();
  for (int64_t target : {int64_t{HWY_SCALAR | HWY_EMU128}, int64_t{HWY_AVX2}, int64_t{HWY_AVX3}})
    for (int bf16_path : bf16_paths)
      for (const Typed& t : types) {
        if (target != (HWY_SCALAR | HWY_EMU128) && !(cpu & target)) continue;
        if (bf16_path != internal::kBf16Auto && t.in != DType::kBFloat16) continue;
        if (bf16_path == testing_util::kAmxModel && !internal::CpuHasAvx512Bf16()) continue;
        const testing_util::ScopedKernelPath scoped(target, bf16_path);
        const auto& list = problems[t.in == DType::kFloat64 ? 0 : t.in == DType::kFloat32 ? 1 : 2];
        for (size_t n = 0; n < list.size(); ++n)
          for (const Path& path : paths) {
            SCOPED_TRACE(std::string(DTypeName(t.in)) + " -> " + DTypeName(t.out) + " on " +
                         internal::AttentionTargetName() + ", bf16 path " +
                         std::to_string(bf16_path) + ", " + path.name + ", problem " +
                         std::to_string(n) + " (nq " + std::to_string(list[n].s.nq) + ", nk " +
                         std::to_string(list[n].s.nk) + ", scale " +
                         std::to_string(std::log2(list[n].scale)) + " log2)");
            Check(list[n], t.out, path);
            if (::testing::Test::HasFailure()) return;  // one problem's report, not thousands
          }
      }
}

}  // namespace
}  // namespace moa
