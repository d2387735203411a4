// moa fuzzing — the kernels' public entry, moa::Attention, on problems drawn from the input bytes:
// shapes with tails (0, 1, odd, around the tile sizes), layouts with and without unit strides,
// every dtype, GQA, causal in both alignments, bool and additive masks with every broadcast, LSE,
// split-KV, block sizes, the naive path, and every SIMD target and bfloat16 GEMM path this CPU
// runs. Values span magnitudes from 2^-100 to 2^120 and masks hold -inf, the dtype's lowest value
// and huge finite numbers, yet every score is exact: q and k are small integers times powers of
// two and the scale is a power of two, so the float64 reference below, which rounds the masked
// score to the working precision as PyTorch in that dtype does, is the truth and the comparison
// is well conditioned at any magnitude. A moa::Error is an accepted answer only to arguments the
// API documents as invalid; a crash, sanitizer report or disagreement is a bug.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <vector>

#include "hwy/targets.h"
#include "kernels/attention_problem.h"
#include "kernels/attention_test_util.h"
#include "kernels/cpu/bf16_dot.h"
#include "kernels/kernel_path_test_util.h"
#include "moa/attention.h"
#include "moa/error.h"

namespace {

using moa::DType;
using moa::testing_util::HostTensor;
using moa::testing_util::Layout;
using moa::testing_util::MakeTensor;

constexpr double kInf = std::numeric_limits<double>::infinity();

// Reads the problem's choices from the fuzzer's bytes; zeros once they run out.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint32_t Next() { return pos_ < size_ ? data_[pos_++] : 0; }
  int64_t Below(int64_t n) { return static_cast<int64_t>(Next() % n); }
  template <typename T, size_t N>
  T Pick(const T (&choices)[N]) { return choices[Below(N)]; }
  int64_t Between(int64_t lo, int64_t hi) { return lo + Below(hi - lo + 1); }

 private:
  const uint8_t* data_;
  size_t size_, pos_ = 0;
};

// A sequence or head length: the edges of every vector width and tile, or anything up to 80.
int64_t Length(Bytes& in, int64_t lo) {
  static constexpr int64_t kEdges[] = {1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 80};
  return in.Below(2) ? std::max(lo, in.Pick(kEdges)) : in.Between(lo, 80);
}

// Fills with integers in [-range, range] times 2^exponent (exact in every dtype).
void FillScaledIntegers(HostTensor* t, Bytes& in, int64_t range, int exponent) {
  std::vector<int64_t> sizes(t->view.sizes.begin(), t->view.sizes.begin() + t->view.rank);
  sizes.resize(4, 1);
  uint32_t state = in.Next() * 2654435761u + 1;  // values from a generator seeded by the input
  int64_t i[4];
  for (i[0] = 0; i[0] < sizes[0]; ++i[0])
    for (i[1] = 0; i[1] < sizes[1]; ++i[1])
      for (i[2] = 0; i[2] < sizes[2]; ++i[2])
        for (i[3] = 0; i[3] < sizes[3]; ++i[3]) {
          state = state * 1664525u + 1013904223u;
          const int64_t k = static_cast<int64_t>((state >> 8) % (2 * range + 1)) - range;
          t->Set(i, std::ldexp(static_cast<double>(k), exponent));
        }
}

double Lowest(DType dtype) {
  switch (dtype) {
    case DType::kFloat64: return std::numeric_limits<double>::lowest();
    case DType::kBFloat16: return moa::FloatFromBFloat16(0xff7f);  // -3.39e38
    default: return std::numeric_limits<float>::lowest();
  }
}

[[noreturn]] void Fail(const char* what, int64_t row, double got, double want) {
  std::fprintf(stderr, "moa::Attention disagrees with the reference: %s at row %lld: got %.17g, want %.17g\n",
               what, static_cast<long long>(row), got, want);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int64_t cpu_targets = moa::testing_util::CpuSimdTargets();
  Bytes in(data, size);

  // The kernel path: a SIMD target this CPU runs, and a bfloat16 GEMM path.
  const int64_t targets[] = {0, HWY_SCALAR | HWY_EMU128, HWY_AVX2, HWY_AVX3};
  int64_t target = in.Pick(targets);
  if (target != 0 && target != (HWY_SCALAR | HWY_EMU128) && !(cpu_targets & target)) target = 0;
  const int bf16_paths[] = {moa::internal::kBf16Auto, moa::internal::kBf16NoAmx,
                            moa::internal::kBf16Float32, moa::testing_util::kAmxModel};
  int bf16_path = in.Pick(bf16_paths);
  if (bf16_path == moa::testing_util::kAmxModel && !moa::internal::CpuHasAvx512Bf16()) {
    bf16_path = moa::internal::kBf16Auto;
  }

  const DType dtypes[] = {DType::kFloat64, DType::kFloat32, DType::kBFloat16};
  const DType dtype = in.Pick(dtypes);
  const bool float32_work = dtype != DType::kFloat64;
  const DType out_dtype = dtype == DType::kBFloat16 && in.Below(2) ? DType::kFloat32 : dtype;
  const Layout layouts[] = {Layout::kBhsd, Layout::kBshd, Layout::kStrided};
  const Layout layout = in.Pick(layouts);

  const int64_t batch = in.Between(1, 2), hkv = in.Between(1, 2), hq = hkv * in.Between(1, 3);
  const int64_t nq = Length(in, 1), nk = Length(in, 1);
  // dk in {1, 4, 16, 64} lets the default scale 1/sqrt(dk), a power of two, keep scores exact.
  const int64_t dk = in.Below(2) ? int64_t{1} << (2 * in.Below(4)) : in.Between(1, 40);
  const int64_t dv = in.Between(1, 40);
  const bool default_scale = (dk == 1 || dk == 4 || dk == 16 || dk == 64) && in.Below(2);

  // Magnitudes: q·k·scale up to 2^100 (2^1000 in float64) and down to 2^-100, never overflowing a
  // partial sum; v up to a sixteenth of the dtype's largest value.
  const int max_exp = float32_work ? 100 : 1000;
  const int score_exp = static_cast<int>(in.Between(-100, max_exp)) - 10;  // of one product·scale
  const int scale_exp = default_scale ? -static_cast<int>(std::log2(dk)) / 2 : static_cast<int>(in.Between(-20, 20));
  const int q_exp = (score_exp - scale_exp) / 2, k_exp = score_exp - scale_exp - q_exp;
  const int v_exp = static_cast<int>(in.Between(float32_work ? -100 : -1000, float32_work ? 120 : 1015));
  const double scale = std::ldexp(1.0, scale_exp);

  HostTensor q = MakeTensor(dtype, {batch, hq, nq, dk}, layout);
  HostTensor k = MakeTensor(dtype, {batch, hkv, nk, dk}, layout);
  HostTensor v = MakeTensor(dtype, {batch, hkv, nk, dv}, layout);
  HostTensor out = MakeTensor(out_dtype, {batch, hq, nq, dv}, layout);
  FillScaledIntegers(&q, in, 4, q_exp);
  FillScaledIntegers(&k, in, 4, k_exp);
  FillScaledIntegers(&v, in, 7, v_exp);

  moa::AttentionOptions options;
  if (!default_scale) options.scale = scale;
  options.is_causal = in.Below(3) == 0;
  options.causal_align = in.Below(2) ? moa::CausalAlign::kTopLeft : moa::CausalAlign::kBottomRight;
  options.impl = in.Below(5) == 0 ? moa::AttentionImpl::kNaive : moa::AttentionImpl::kFused;
  options.num_threads = static_cast<int>(in.Between(1, 2));
  options.kv_splits = in.Below(4);
  if (in.Below(3) == 0) {
    options.block_q = 64 * in.Between(1, 2);
    options.block_k = 32 * in.Between(1, 3);
  }

  // The mask: none, bool, or additive in the working precision's dtype (or bfloat16), of rank 2 to
  // 4 with any dimension broadcast; its entries small numbers near the scores, -inf, the lowest
  // value, or huge, and some rows set whole to one very negative value.
  std::optional<HostTensor> mask;
  const int mask_kind = static_cast<int>(in.Below(3));
  if (mask_kind != 0) {
    const DType mask_dtype = mask_kind == 1 ? DType::kBool
                             : !float32_work ? DType::kFloat64
                             : dtype == DType::kBFloat16 && in.Below(2) ? DType::kBFloat16
                                                                        : DType::kFloat32;
    const int rank = static_cast<int>(in.Between(2, 4));
    const int64_t full[4] = {batch, hq, nq, nk};
    std::vector<int64_t> sizes;
    for (int d = 4 - rank; d < 4; ++d) sizes.push_back(in.Below(3) == 0 ? 1 : full[d]);
    mask = MakeTensor(mask_dtype, sizes, Layout::kBhsd);
    FillScaledIntegers(&*mask, in, 3, score_exp + static_cast<int>(in.Between(-4, 12)));
    const double specials[] = {-kInf, Lowest(mask_dtype), -std::ldexp(1.0, float32_work ? 110 : 1000),
                               std::ldexp(1.0, float32_work ? 100 : 1000), 0.0};
    const int64_t specials_count = mask_dtype == DType::kBool ? 0 : in.Below(12);
    int64_t i[4] = {0, 0, 0, 0};
    for (int64_t s = 0; s < specials_count; ++s) {
      const double value = in.Pick(specials);
      for (int d = 0; d < rank; ++d) i[d] = in.Below(mask->view.sizes[d]);
      if (in.Below(2)) {  // a whole row
        for (i[rank - 1] = 0; i[rank - 1] < mask->view.sizes[rank - 1]; ++i[rank - 1]) mask->Set(i, value);
      } else {
        mask->Set(i, value);
      }
    }
    options.mask = mask->view;
  }

  const bool with_lse = in.Below(2);
  HostTensor lse = MakeTensor(float32_work ? DType::kFloat32 : DType::kFloat64, {batch, hq, nq}, Layout::kBhsd);
  if (with_lse) options.lse = lse.view;

  bool refused = false;
  {
    const moa::testing_util::ScopedKernelPath path(target, bf16_path);
    try {
      moa::Attention(q.view, k.view, v.view, out.view, options);
    } catch (const moa::Error& e) {
      refused = true;
      std::fprintf(stderr, "refused: %s\n", e.what());
    }
  }
  if (refused) __builtin_trap();  // every problem drawn here is valid

  // The reference: each score q·k·scale is exact; adding the mask rounds to the working precision,
  // as it does in PyTorch; the softmax and the weighted sum are then taken in float64.
  const moa::testing_util::Reference want = moa::testing_util::ReferenceAttention(
      q, k, v, mask ? &*mask : nullptr, options.is_causal,
      options.causal_align == moa::CausalAlign::kBottomRight, scale, float32_work);
  const double tol = dtype == DType::kFloat64 ? 1e-12 : dtype == DType::kFloat32 ? 1e-5 : 2e-2;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < hq; ++h) {
      const int64_t g = h / (hq / hkv);
      double vmax = 0;
      for (int64_t j = 0; j < nk; ++j)
        for (int64_t e = 0; e < dv; ++e) vmax = std::max(vmax, std::fabs(v.Get4(b, g, j, e)));
      for (int64_t i = 0; i < nq; ++i) {
        const int64_t row = (b * hq + h) * nq + i;
        for (int64_t e = 0; e < dv; ++e) {
          const double w = want.out[row * dv + e], got = out.Get4(b, h, i, e);
          if (std::isnan(w) != std::isnan(got)) Fail("NaN-ness of the output", row, got, w);
          if (!std::isnan(w) && !(std::fabs(got - w) <= tol * vmax)) Fail("output", row, got, w);
        }
        if (with_lse) {
          const int64_t at[3] = {b, h, i};
          const double w = want.lse[row], got = lse.Get(at);
          if (std::isnan(w) != std::isnan(got)) Fail("NaN-ness of the LSE", row, got, w);
          if (!std::isnan(w) && got != w && !(std::fabs(got - w) <= tol * std::max(1.0, std::fabs(w)))) {
            Fail("LSE", row, got, w);
          }
        }
      }
    }
  return 0;
}
