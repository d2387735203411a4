// moa — runtime attention (stage: kernels, CPU SIMD through Google Highway): the register-blocked
// GEMM micro-kernels of the float32 / float64 paths, one Highway target at a time.
// In: K rows and Q^T (scores), or V rows and P^T (P V), queries along the vector lanes.
// Out: S^T rows, or O^T rows accumulated in place.
//
// Included by kernels/cpu/attention_hwy.cc (the fused and naive kernels) and by
// bench/simd_micro_bench.cc (the same micro-kernels timed alone, beside the FMA peak), after
// hwy/foreach_target.h: the guard below lets it be included once per target.
#if defined(MOA_KERNELS_CPU_SIMD_GEMM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MOA_KERNELS_CPU_SIMD_GEMM_INL_H_
#undef MOA_KERNELS_CPU_SIMD_GEMM_INL_H_
#else
#define MOA_KERNELS_CPU_SIMD_GEMM_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace moa::internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Register blocking of the two GEMM micro-kernels: kRows keys (score) or output columns (P V) by
// kNV query vectors. AVX-512 has 32 registers: 6 x 4 accumulators, 4 loaded vectors and a
// broadcast fit, and 6 rows load 10 vectors per 24 FMAs where 4 x 4 loads 8 per 16; targets with
// 16 registers use 4 x 2.
#if HWY_TARGET <= HWY_AVX3
constexpr size_t kNV = 4;
constexpr int64_t kRows = 6;
#else
constexpr size_t kNV = 2;
constexpr int64_t kRows = 4;
#endif

// Queries per micro-kernel call (the fused kernel's query chunk) for accumulators of `acc_bytes`
// bytes: kNV vectors of them.
HWY_INLINE int64_t ChunkQueries(int64_t acc_bytes) {
  return static_cast<int64_t>(kNV * hn::Lanes(hn::ScalableTag<uint8_t>())) / acc_bytes;
}

// S^T[r][queries] = sum_c K[r][c] * Q^T[c][queries] for R keys r and NV*N queries: broadcast one
// key element, stream one row of Q^T. K is read row by row as stored (MOA_RULES worked example 4:
// no K^T is ever formed) and queries sit along the vector lanes.
template <size_t NV, int64_t R, class D, typename A>
HWY_INLINE void ScoreMicro(D d, const A* HWY_RESTRICT k, int64_t ldk, int64_t dk,
                           const A* HWY_RESTRICT qt, int64_t ldq, A* HWY_RESTRICT st,
                           int64_t lds) {
  const size_t N = hn::Lanes(d);
  using V = hn::Vec<D>;
  V acc[R][NV];
  for (int64_t r = 0; r < R; ++r)
    for (size_t v = 0; v < NV; ++v) acc[r][v] = hn::Zero(d);
  for (int64_t c = 0; c < dk; ++c) {
    V qv[NV];
    for (size_t v = 0; v < NV; ++v) qv[v] = hn::Load(d, qt + c * ldq + v * N);
    for (int64_t r = 0; r < R; ++r) {
      const V kb = hn::Set(d, k[r * ldk + c]);
      for (size_t v = 0; v < NV; ++v) acc[r][v] = hn::MulAdd(kb, qv[v], acc[r][v]);
    }
  }
  for (int64_t r = 0; r < R; ++r)
    for (size_t v = 0; v < NV; ++v) hn::Store(acc[r][v], d, st + r * lds + v * N);
}

// O^T[e + r][queries] += sum_j V[j][e + r] * P^T[j][queries] for R output columns r.
template <size_t NV, int64_t R, class D, typename A>
HWY_INLINE void PvMicro(D d, const A* HWY_RESTRICT vrows, int64_t ldv, int64_t cols,
                        const A* HWY_RESTRICT pt, int64_t ldp, A* HWY_RESTRICT ot, int64_t ldo) {
  const size_t N = hn::Lanes(d);
  using V = hn::Vec<D>;
  V acc[R][NV];
  for (int64_t r = 0; r < R; ++r)
    for (size_t v = 0; v < NV; ++v) acc[r][v] = hn::Load(d, ot + r * ldo + v * N);
  for (int64_t j = 0; j < cols; ++j) {
    V pv[NV];
    for (size_t v = 0; v < NV; ++v) pv[v] = hn::Load(d, pt + j * ldp + v * N);
    for (int64_t r = 0; r < R; ++r) {
      const V vb = hn::Set(d, vrows[j * ldv + r]);
      for (size_t v = 0; v < NV; ++v) acc[r][v] = hn::MulAdd(vb, pv[v], acc[r][v]);
    }
  }
  for (int64_t r = 0; r < R; ++r)
    for (size_t v = 0; v < NV; ++v) hn::Store(acc[r][v], d, ot + r * ldo + v * N);
}

// S^T rows for `count` keys: whole groups of kRows, then one call sized to the remainder, so no
// key row past `count` is read (K is read in place up to the tensor's last row).
template <int64_t R = kRows, class D, typename A>
HWY_INLINE void ScoreRows(D d, const A* k, int64_t ldk, int64_t count, int64_t dk, const A* qt,
                          int64_t ldq, A* st, int64_t lds) {
  if constexpr (R == kRows) {
    for (; count >= R; count -= R, k += R * ldk, st += R * lds) {
      ScoreMicro<kNV, R>(d, k, ldk, dk, qt, ldq, st, lds);
    }
    if (count > 0) ScoreRows<R - 1>(d, k, ldk, count, dk, qt, ldq, st, lds);
  } else if constexpr (R > 0) {
    if (count == R) {
      ScoreMicro<kNV, R>(d, k, ldk, dk, qt, ldq, st, lds);
    } else {
      ScoreRows<R - 1>(d, k, ldk, count, dk, qt, ldq, st, lds);
    }
  }
}

// O^T rows [0, width) += V^T P^T over `cols` keys: whole groups of kRows output columns, then the
// remainder, so exactly `width` columns of each V row are read.
template <int64_t R = kRows, class D, typename A>
HWY_INLINE void PvRows(D d, const A* vrows, int64_t ldv, int64_t width, int64_t cols, const A* pt,
                       int64_t ldp, A* ot, int64_t ldo) {
  if constexpr (R == kRows) {
    for (; width >= R; width -= R, vrows += R, ot += R * ldo) {
      PvMicro<kNV, R>(d, vrows, ldv, cols, pt, ldp, ot, ldo);
    }
    if (width > 0) PvRows<R - 1>(d, vrows, ldv, width, cols, pt, ldp, ot, ldo);
  } else if constexpr (R > 0) {
    if (width == R) {
      PvMicro<kNV, R>(d, vrows, ldv, cols, pt, ldp, ot, ldo);
    } else {
      PvRows<R - 1>(d, vrows, ldv, width, cols, pt, ldp, ot, ldo);
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace moa::internal
HWY_AFTER_NAMESPACE();

#endif  // MOA_KERNELS_CPU_SIMD_GEMM_INL_H_
