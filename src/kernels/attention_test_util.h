// moa — runtime attention (stage: kernels, tests): host tensors in any dtype and layout, and the
// plain float64 reference every kernel is checked against.
// In: sizes, dtype, layout, a seed. Out: owned memory with a moa::Tensor view over it; the
// reference output and log-sum-exp computed with the loops of the definition.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "hwy/targets.h"
#include "moa/attention.h"

namespace moa::testing_util {

enum class Layout { kBhsd, kBshd, kStrided };

// The SIMD targets this CPU runs. Read it before looping over hwy::SetSupportedTargetsForTest:
// once that is set, hwy::SupportedTargets() reports the restricted set, and a loop that asked it
// for each target ran only the first.
inline int64_t CpuSimdTargets() {
  hwy::SetSupportedTargetsForTest(0);
  return hwy::SupportedTargets();
}

// Owned, possibly padded memory for a 4-D (or lower rank) tensor plus its view.
struct HostTensor {
  std::vector<unsigned char> bytes;
  Tensor view;

  int64_t Offset(const int64_t* index) const {
    int64_t off = 0;
    for (int i = 0; i < view.rank; ++i) off += index[i] * view.strides[i];
    return off;
  }
  double Get(const int64_t* index) const {
    const unsigned char* p = static_cast<const unsigned char*>(view.data);
    const int64_t off = Offset(index);
    switch (view.dtype) {
      case DType::kFloat64: { double x; std::memcpy(&x, p + off * 8, 8); return x; }
      case DType::kFloat32: { float x; std::memcpy(&x, p + off * 4, 4); return x; }
      case DType::kBFloat16: { uint16_t x; std::memcpy(&x, p + off * 2, 2); return FloatFromBFloat16(x); }
      case DType::kBool: return p[off] ? 1.0 : 0.0;
    }
    return 0;
  }
  void Set(const int64_t* index, double value) {
    unsigned char* p = static_cast<unsigned char*>(view.data);
    const int64_t off = Offset(index);
    switch (view.dtype) {
      case DType::kFloat64: { std::memcpy(p + off * 8, &value, 8); break; }
      case DType::kFloat32: { const float x = static_cast<float>(value); std::memcpy(p + off * 4, &x, 4); break; }
      case DType::kBFloat16: { const uint16_t x = BFloat16FromFloat(static_cast<float>(value)); std::memcpy(p + off * 2, &x, 2); break; }
      case DType::kBool: p[off] = value != 0; break;
    }
  }
  double Get4(int64_t a, int64_t b, int64_t c, int64_t d) const {
    const int64_t i[4] = {a, b, c, d};
    return Get(i);
  }
};

// Allocates sizes (rank 4 unless given) in a layout: BHSD, BSHD, or kStrided = dimensions stored in
// the order (seq, batch, dim, heads) with gaps between elements and rows, so no stride is 1.
inline HostTensor MakeTensor(DType dtype, std::vector<int64_t> sizes, Layout layout) {
  HostTensor t;
  const int rank = static_cast<int>(sizes.size());
  t.view.dtype = dtype;
  t.view.rank = rank;
  for (int i = 0; i < rank; ++i) t.view.sizes[i] = sizes[i];
  std::vector<int> order;  // storage order, outermost first
  if (rank == 4 && layout == Layout::kBshd) order = {0, 2, 1, 3};
  else if (rank == 4 && layout == Layout::kStrided) order = {2, 0, 3, 1};
  else for (int i = 0; i < rank; ++i) order.push_back(i);
  const int64_t gap = layout == Layout::kStrided ? 2 : 1;
  int64_t stride = gap;
  for (int i = rank - 1; i >= 0; --i) {
    t.view.strides[order[i]] = stride;
    stride = stride * sizes[order[i]] + (layout == Layout::kStrided ? 3 : 0);
  }
  t.bytes.assign(static_cast<size_t>(stride + 64) * DTypeSize(dtype), 0xff);  // 0xff: NaN padding
  t.view.data = t.bytes.data();
  return t;
}

inline void FillRandom(HostTensor* t, std::mt19937* rng, double lo, double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  int64_t idx[4] = {0, 0, 0, 0};
  const Tensor& v = t->view;
  for (idx[0] = 0; idx[0] < v.sizes[0]; ++idx[0])
    for (idx[1] = 0; idx[1] < (v.rank > 1 ? v.sizes[1] : 1); ++idx[1])
      for (idx[2] = 0; idx[2] < (v.rank > 2 ? v.sizes[2] : 1); ++idx[2])
        for (idx[3] = 0; idx[3] < (v.rank > 3 ? v.sizes[3] : 1); ++idx[3]) t->Set(idx, dist(*rng));
}

struct Reference {
  std::vector<double> out;  // (batch, q heads, nq, dv), contiguous
  std::vector<double> lse;  // (batch, q heads, nq)
};

// softmax(q k^T * scale + mask) v in float64, straight from the definition (PyTorch SDPA), with a
// fully masked row giving 0 and lse -inf. `mask` may be null; its rank-aligned broadcast is done
// here independently of the library (size 1 = broadcast).
// `causal_offset`: when causal, query i sees key j only if j <= i + causal_offset.
// `float32_scores`: each scaled score, and its sum with the additive mask, is rounded to float32,
// as the kernels form them for float32 and bfloat16 inputs (and PyTorch in float32): with exact
// scores (small integers times powers of two) this is the truth at any magnitude.
inline Reference ReferenceAttentionAt(const HostTensor& q, const HostTensor& k,
                                      const HostTensor& v, const HostTensor* mask, bool causal,
                                      int64_t causal_offset, double scale,
                                      bool float32_scores = false) {
  const auto round = [&](double x) { return float32_scores ? double(static_cast<float>(x)) : x; };
  const int64_t B = q.view.sizes[0], Hq = q.view.sizes[1], nq = q.view.sizes[2],
                dk = q.view.sizes[3], Hkv = k.view.sizes[1], nk = k.view.sizes[2],
                dv = v.view.sizes[3];
  Reference ref;
  ref.out.assign(B * Hq * nq * dv, 0.0);
  ref.lse.assign(B * Hq * nq, -std::numeric_limits<double>::infinity());
  std::vector<double> s(nk);
  std::vector<bool> ok(nk);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h) {
      const int64_t hk = h / (Hq / Hkv);
      for (int64_t i = 0; i < nq; ++i) {
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < nk; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < dk; ++c) dot += q.Get4(b, h, i, c) * k.Get4(b, hk, j, c);
          s[j] = round(dot * scale);
          ok[j] = true;
          if (causal) ok[j] = j <= i + causal_offset;
          if (mask) {
            const int64_t full[4] = {b, h, i, j};
            int64_t idx[4] = {0, 0, 0, 0};
            const int r = mask->view.rank;
            for (int d = 0; d < r; ++d) idx[d] = mask->view.sizes[d] == 1 ? 0 : full[4 - r + d];
            const double m = mask->Get(idx);
            if (mask->view.dtype == DType::kBool) ok[j] = ok[j] && m != 0;
            else s[j] = round(s[j] + m);
          }
          if (ok[j]) mx = std::max(mx, s[j]);
        }
        // A NaN score a query sees makes its row and LSE NaN (as PyTorch); std::max skips NaN.
        bool nan = false;
        for (int64_t j = 0; j < nk; ++j) nan = nan || (ok[j] && std::isnan(s[j]));
        if (nan) {
          for (int64_t e = 0; e < dv; ++e) {
            ref.out[((b * Hq + h) * nq + i) * dv + e] = std::numeric_limits<double>::quiet_NaN();
          }
          ref.lse[(b * Hq + h) * nq + i] = std::numeric_limits<double>::quiet_NaN();
          continue;
        }
        if (mx == -std::numeric_limits<double>::infinity()) continue;  // fully masked row
        double z = 0;
        for (int64_t j = 0; j < nk; ++j) {
          s[j] = ok[j] ? std::exp(s[j] - mx) : 0.0;
          z += s[j];
        }
        // Weights normalised before the sum, so v near the largest double cannot overflow it.
        for (int64_t j = 0; j < nk; ++j) s[j] /= z;
        for (int64_t e = 0; e < dv; ++e) {
          double acc = 0;
          for (int64_t j = 0; j < nk; ++j) acc += s[j] * v.Get4(b, hk, j, e);
          ref.out[((b * Hq + h) * nq + i) * dv + e] = acc;
        }
        ref.lse[(b * Hq + h) * nq + i] = mx + std::log(z);
      }
    }
  return ref;
}

// The causal diagonal top-left (PyTorch) or bottom-right (FlashAttention).
inline Reference ReferenceAttention(const HostTensor& q, const HostTensor& k, const HostTensor& v,
                                    const HostTensor* mask, bool causal, bool bottom_right,
                                    double scale, bool float32_scores = false) {
  const int64_t offset = bottom_right ? k.view.sizes[2] - q.view.sizes[2] : 0;
  return ReferenceAttentionAt(q, k, v, mask, causal, offset, scale, float32_scores);
}

}  // namespace moa::testing_util
