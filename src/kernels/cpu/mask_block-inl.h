// moa — runtime attention (stage: kernels, CPU SIMD through Google Highway): a user's mask on a
// block of scores, read along the mask's rows and transposed in registers, one Highway target at a
// time.
// In: a square block of mask rows (queries) of adjacent keys, a vector of scores wide: on AVX-512
// 16 for float32 scores (bool, bfloat16 or float32 masks) and 8 for float64 (bool or float64
// masks); on AVX2 8 for float32.
// Out: the block of S^T (keys x queries, queries along the lanes) masked: -inf where a bool mask
// is false, the additive mask added elsewhere.
//
// Included by kernels/cpu/attention_hwy.cc after hwy/foreach_target.h: the guard below lets it be
// included once per target. AVX-512 and AVX2 get a body; on the other targets (and for float64 on
// AVX2) kMaskBlockTakes is false and the kernel applies masks element by element.
#if defined(MOA_KERNELS_CPU_MASK_BLOCK_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MOA_KERNELS_CPU_MASK_BLOCK_INL_H_
#undef MOA_KERNELS_CPU_MASK_BLOCK_INL_H_
#else
#define MOA_KERNELS_CPU_MASK_BLOCK_INL_H_
#endif

#include <cstdint>
#include <limits>
#include <type_traits>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace moa::internal {
namespace HWY_NAMESPACE {

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
// 16 rows of 16 floats (r[i] lane j) become 16 columns (r[j] lane i): unpacks within 128-bit
// lanes, then two rounds of 128-bit block shuffles; 64 shuffles for 256 elements.
HWY_INLINE void Transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
  }
  auto lo = [](__m512 a, __m512 b) {
    return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
  };
  auto hi = [](__m512 a, __m512 b) {
    return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
  };
  for (int k = 0; k < 4; ++k) {
    r[4 * k] = lo(t[4 * k], t[4 * k + 2]);
    r[4 * k + 1] = hi(t[4 * k], t[4 * k + 2]);
    r[4 * k + 2] = lo(t[4 * k + 1], t[4 * k + 3]);
    r[4 * k + 3] = hi(t[4 * k + 1], t[4 * k + 3]);
  }
  for (int k = 0; k < 4; ++k) {
    t[k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88);
    t[4 + k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xdd);
    t[8 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
    t[12 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xdd);
  }
  for (int k = 0; k < 4; ++k) {
    r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);
    r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xdd);
    r[4 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0x88);
    r[12 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0xdd);
  }
}

// 8 rows of 8 doubles become 8 columns: unpacks within 128-bit lanes, then two rounds of 128-bit
// block shuffles; 24 shuffles for 64 elements.
HWY_INLINE void Transpose8x8(__m512d r[8]) {
  __m512d t[8];
  for (int k = 0; k < 4; ++k) {
    t[2 * k] = _mm512_unpacklo_pd(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_pd(r[2 * k], r[2 * k + 1]);
  }
  for (int k = 0; k < 2; ++k) {
    r[k] = _mm512_shuffle_f64x2(t[k], t[2 + k], 0x88);
    r[2 + k] = _mm512_shuffle_f64x2(t[k], t[2 + k], 0xdd);
    r[4 + k] = _mm512_shuffle_f64x2(t[4 + k], t[6 + k], 0x88);
    r[6 + k] = _mm512_shuffle_f64x2(t[4 + k], t[6 + k], 0xdd);
  }
  for (int k = 0; k < 2; ++k) {
    t[k] = _mm512_shuffle_f64x2(r[k], r[4 + k], 0x88);
    t[4 + k] = _mm512_shuffle_f64x2(r[k], r[4 + k], 0xdd);
    t[2 + k] = _mm512_shuffle_f64x2(r[2 + k], r[6 + k], 0x88);
    t[6 + k] = _mm512_shuffle_f64x2(r[2 + k], r[6 + k], 0xdd);
  }
  for (int k = 0; k < 8; ++k) r[k] = t[k];
}

// Whether MaskBlock takes masks of type M on accumulators of type A: the pairs the API allows
// (bool with any; float32 and bfloat16 with float32; float64 with float64).
template <typename A, typename M>
inline constexpr bool kMaskBlockTakes =
    std::is_same_v<M, uint8_t> ||
    (sizeof(A) == 4 ? std::is_same_v<M, float> || std::is_same_v<M, uint16_t>
                    : std::is_same_v<M, double>);
// Queries (and keys) per block: one vector of A.
template <typename A>
inline constexpr int64_t kMaskBlockQueries = 64 / sizeof(A);

// The mask of one block of queries (rows ldm apart) x as many adjacent keys, a vector of A each
// (16 float32, 8 float64), onto S^T[j][i] (rows lds apart): the rows read as vectors and
// transposed in registers. Element by element, each S element took a scalar read and a scalar
// write, and a full bool mask cost float32 a quarter to a half of the kernel's rate. Bool is
// widened to 0/1 lanes (nonzero keeps the score), bfloat16 to float32.
template <typename M>
HWY_INLINE void MaskBlock(const M* m, int64_t ldm, double* s, int64_t lds) {
  __m512d r[8];
  for (int q = 0; q < 8; ++q) {
    const M* row = m + q * ldm;
    if constexpr (std::is_same_v<M, uint8_t>) {
      r[q] = _mm512_castsi512_pd(
          _mm512_cvtepu8_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(row))));
    } else {
      static_assert(std::is_same_v<M, double>, "float64 queries take bool or float64 masks");
      r[q] = _mm512_loadu_pd(row);
    }
  }
  Transpose8x8(r);
  const __m512d neg_inf = _mm512_set1_pd(-std::numeric_limits<double>::infinity());
  for (int j = 0; j < 8; ++j) {
    double* srow = s + j * lds;
    const __m512d x = _mm512_loadu_pd(srow);
    if constexpr (std::is_same_v<M, uint8_t>) {
      const __mmask8 keep = _mm512_test_epi64_mask(_mm512_castpd_si512(r[j]),
                                                   _mm512_castpd_si512(r[j]));
      _mm512_storeu_pd(srow, _mm512_mask_blend_pd(keep, neg_inf, x));
    } else {
      _mm512_storeu_pd(srow, _mm512_add_pd(x, r[j]));
    }
  }
}

template <typename M>
HWY_INLINE void MaskBlock(const M* m, int64_t ldm, float* s, int64_t lds) {
  __m512 r[16];
  for (int q = 0; q < 16; ++q) {
    const M* row = m + q * ldm;
    if constexpr (std::is_same_v<M, uint8_t>) {
      r[q] = _mm512_castsi512_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(
          reinterpret_cast<const __m128i*>(row))));
    } else if constexpr (std::is_same_v<M, uint16_t>) {
      r[q] = _mm512_castsi512_ps(_mm512_slli_epi32(
          _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row))), 16));
    } else {
      static_assert(std::is_same_v<M, float>, "float32 queries take bool, bfloat16 or float32");
      r[q] = _mm512_loadu_ps(row);
    }
  }
  Transpose16x16(r);
  const __m512 neg_inf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int j = 0; j < 16; ++j) {
    float* srow = s + j * lds;
    const __m512 x = _mm512_loadu_ps(srow);
    if constexpr (std::is_same_v<M, uint8_t>) {  // nonzero (true) keeps the score
      const __mmask16 keep = _mm512_test_epi32_mask(_mm512_castps_si512(r[j]),
                                                    _mm512_castps_si512(r[j]));
      _mm512_storeu_ps(srow, _mm512_mask_blend_ps(keep, neg_inf, x));
    } else {
      _mm512_storeu_ps(srow, _mm512_add_ps(x, r[j]));
    }
  }
}

#elif HWY_ARCH_X86 && HWY_TARGET == HWY_AVX2
// 8 rows of 8 floats become 8 columns: unpacks and shuffles within 128-bit lanes, then the lanes
// swapped across; 24 shuffles for 64 elements.
HWY_INLINE void Transpose8x8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int k = 0; k < 4; ++k) {
    t[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
  }
  for (int k = 0; k < 2; ++k) {
    u[4 * k] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0x44);
    u[4 * k + 1] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0xee);
    u[4 * k + 2] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
    u[4 * k + 3] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xee);
  }
  for (int k = 0; k < 4; ++k) {
    r[k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x20);
    r[4 + k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x31);
  }
}

// float32 scores only: 8 lanes. float64 (4 lanes) keeps the element loop.
template <typename A, typename M>
inline constexpr bool kMaskBlockTakes =
    sizeof(A) == 4 &&
    (std::is_same_v<M, uint8_t> || std::is_same_v<M, float> || std::is_same_v<M, uint16_t>);
template <typename A>
inline constexpr int64_t kMaskBlockQueries = 32 / sizeof(A);

// As the AVX-512 MaskBlock, on 8 queries x 8 keys.
template <typename M>
HWY_INLINE void MaskBlock(const M* m, int64_t ldm, float* s, int64_t lds) {
  __m256 r[8];
  for (int q = 0; q < 8; ++q) {
    const M* row = m + q * ldm;
    if constexpr (std::is_same_v<M, uint8_t>) {
      r[q] = _mm256_castsi256_ps(
          _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(row))));
    } else if constexpr (std::is_same_v<M, uint16_t>) {
      r[q] = _mm256_castsi256_ps(_mm256_slli_epi32(
          _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row))), 16));
    } else {
      static_assert(std::is_same_v<M, float>, "float32 queries take bool, bfloat16 or float32");
      r[q] = _mm256_loadu_ps(row);
    }
  }
  Transpose8x8(r);
  const __m256 neg_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  for (int j = 0; j < 8; ++j) {
    float* srow = s + j * lds;
    const __m256 x = _mm256_loadu_ps(srow);
    if constexpr (std::is_same_v<M, uint8_t>) {  // a zero (false) lane takes -inf
      const __m256 drop = _mm256_castsi256_ps(
          _mm256_cmpeq_epi32(_mm256_castps_si256(r[j]), _mm256_setzero_si256()));
      _mm256_storeu_ps(srow, _mm256_blendv_ps(x, neg_inf, drop));
    } else {
      _mm256_storeu_ps(srow, _mm256_add_ps(x, r[j]));
    }
  }
}

#else
template <typename A, typename M>
inline constexpr bool kMaskBlockTakes = false;
template <typename A>
inline constexpr int64_t kMaskBlockQueries = 0;
#endif

}  // namespace HWY_NAMESPACE
}  // namespace moa::internal
HWY_AFTER_NAMESPACE();

#endif  // MOA_KERNELS_CPU_MASK_BLOCK_INL_H_
