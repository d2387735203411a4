// moa — runtime attention (stage: kernels): AVX512-BF16 micro-kernels (see bf16_dot.h).
#include "kernels/cpu/bf16_dot.h"

#include <cstring>

#if defined(__x86_64__) && !defined(MOA_NO_X86_BF16)
#include <cpuid.h>
#include <immintrin.h>
#include <utility>
#define MOA_BF16_X86 1
#endif

namespace moa::internal {

#ifdef MOA_BF16_X86

bool CpuHasAvx512Bf16() {
  static const bool has = [] {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const bool avx512f = b & (1u << 16), avx512bw = b & (1u << 30);
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
    const bool bf16 = a & (1u << 5);
    // The OS must save ZMM state: XCR0 bits 1, 2, 5, 6, 7.
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return avx512f && avx512bw && bf16 && (lo & 0xe6) == 0xe6;
  }();
  return has;
}

// Everything below runs only where CpuHasAvx512Bf16(). A pragma rather than a function attribute,
// so that the lambdas of Unrolled get the target too.
#if defined(__clang__)  // clang has no GCC target pragma (the fuzz preset builds with clang)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")
#endif

namespace {

inline __m512i Broadcast32(const void* p) {
  int32_t x;
  std::memcpy(&x, p, 4);
  return _mm512_set1_epi32(x);
}

// f(0), ..., f(N - 1) as straight-line code, with the index a constant: the accumulator arrays
// below then have constant indices from the start and GCC 12 keeps them in registers. Written as
// loops over r and v, it kept them on the stack around the inner loop (64 extra zmm moves a call,
// about a tenth of the score GEMM at d = 64).
template <int N, class F>
inline void Unrolled(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) {
    (f(std::integral_constant<int, I>{}), ...);
  }(std::make_integer_sequence<int, N>{});
}

// 4 keys x 64 queries of scores: 16 accumulators, 4 pair-vectors of Q and 4 broadcast K pairs per
// step, 16 VDPBF16PS (32 bfloat16 products each).
void ScoreMicro(const uint16_t* k, int64_t ldk, int64_t npairs, const uint32_t* q, int64_t ldq,
                float scale, float* st, int64_t lds) {
  __m512 acc[16];
  Unrolled<16>([&](auto a) { acc[a] = _mm512_setzero_ps(); });
  for (int64_t p = 0; p < npairs; ++p) {
    __m512bh qv[4];
    Unrolled<4>([&](auto v) { qv[v] = (__m512bh)_mm512_load_si512(q + p * ldq + 16 * v); });
    Unrolled<4>([&](auto r) {
      const __m512bh kb = (__m512bh)Broadcast32(k + r * ldk + 2 * p);
      Unrolled<4>([&](auto v) { acc[4 * r + v] = _mm512_dpbf16_ps(acc[4 * r + v], kb, qv[v]); });
    });
  }
  const __m512 s = _mm512_set1_ps(scale);
  Unrolled<16>([&](auto a) {
    _mm512_store_ps(st + a / 4 * lds + 16 * (a % 4), _mm512_mul_ps(acc[a], s));
  });
}

void PvMicro(const uint32_t* vp, int64_t ldv, int64_t npairs, const uint32_t* pp, int64_t ldp,
             float* ot, int64_t ldo) {
  __m512 acc[16];
  Unrolled<16>([&](auto a) { acc[a] = _mm512_load_ps(ot + a / 4 * ldo + 16 * (a % 4)); });
  for (int64_t p = 0; p < npairs; ++p) {
    __m512bh pv[4];
    Unrolled<4>([&](auto v) { pv[v] = (__m512bh)_mm512_load_si512(pp + p * ldp + 16 * v); });
    Unrolled<4>([&](auto r) {
      const __m512bh vb = (__m512bh)_mm512_set1_epi32(static_cast<int32_t>(vp[p * ldv + r]));
      Unrolled<4>([&](auto v) { acc[4 * r + v] = _mm512_dpbf16_ps(acc[4 * r + v], vb, pv[v]); });
    });
  }
  Unrolled<16>([&](auto a) { _mm512_store_ps(ot + a / 4 * ldo + 16 * (a % 4), acc[a]); });
}

// Lane i: lo[i] and hi[i] rounded to bfloat16 (nearest even; subnormals flush to 0) in its low
// and high half: VCVTNE2PS2BF16, then a word permute, as the fused kernels' softmax packs pairs.
inline __m512i PairLanes(__m512 lo, __m512 hi) {
  const __m512i interleave = _mm512_loadu_si512(kPairInterleave);
  return _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

// Masks of the first n of 16 or 32 lanes (n clamped to 0 .. all).
inline __mmask16 FirstLanes16(int64_t n) {
  return n >= 16 ? __mmask16{0xffff}
                 : n <= 0 ? __mmask16{0} : static_cast<__mmask16>((1u << n) - 1);
}
inline __mmask32 FirstLanes32(int64_t n) {
  return n >= 32 ? ~__mmask32{0} : n <= 0 ? __mmask32{0} : static_cast<__mmask32>((1u << n) - 1);
}

// unpacklo_epi16 of two value rows' 32 elements pairs elements 0-3 of each 128-bit block,
// unpackhi elements 4-7: these indices (permutex2var over lo, hi) put both back in element order.
alignas(64) constexpr int32_t kUnpackOrder[2][16] = {
    {0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23},
    {8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31}};

// f(integral_constant<int, n>) for a run-time n in 1 .. N.
template <int N, class F>
inline void WithConstant(int64_t n, F&& f) {
  Unrolled<N>([&](auto i) {
    if (i + 1 == n) f(std::integral_constant<int, i + 1>{});
  });
}

// dot(r, q) over dk elements, lane by lane: `full` = dk rounded down to 32, `tail` the mask of the
// rest (the rest of the last vector is 0).
inline __m512 DotRow(const uint16_t* r, const uint16_t* q, int64_t full, __mmask32 tail) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t c = 0; c < full; c += 32) {
    acc = _mm512_dpbf16_ps(acc, (__m512bh)_mm512_loadu_si512(r + c),
                           (__m512bh)_mm512_loadu_si512(q + c));
  }
  if (tail != 0) {
    acc = _mm512_dpbf16_ps(acc, (__m512bh)_mm512_maskz_loadu_epi16(tail, r + full),
                           (__m512bh)_mm512_maskz_loadu_epi16(tail, q + full));
  }
  return acc;
}

// Lane x: the sum of acc[x]'s lanes, times scale. The four sums of lanes side by side in each
// 128-bit block (as SumsOfLanes4), then the blocks folded. The unpacks are spelled as their
// masked forms with every lane kept: the plain ones start from an undefined vector, which GCC 12
// reports as maybe uninitialized.
inline __m128 SumsOf4(const __m512 (&acc)[4], float scale) {
  const __mmask16 all16 = 0xffff;
  const __mmask8 all8 = 0xff;
  const __m512 ab = _mm512_add_ps(_mm512_mask_unpacklo_ps(acc[0], all16, acc[0], acc[1]),
                                  _mm512_mask_unpackhi_ps(acc[0], all16, acc[0], acc[1]));
  const __m512 ce = _mm512_add_ps(_mm512_mask_unpacklo_ps(acc[2], all16, acc[2], acc[3]),
                                  _mm512_mask_unpackhi_ps(acc[2], all16, acc[2], acc[3]));
  const __m512d abd = _mm512_castps_pd(ab), ced = _mm512_castps_pd(ce);
  const __m512 abce =
      _mm512_add_ps(_mm512_castpd_ps(_mm512_mask_unpacklo_pd(abd, all8, abd, ced)),
                    _mm512_castpd_ps(_mm512_mask_unpackhi_pd(abd, all8, abd, ced)));
  const __m256 zero8 = _mm256_setzero_ps();
  const __m256 half = _mm256_add_ps(_mm512_mask_extractf32x8_ps(zero8, all8, abce, 0),
                                    _mm512_mask_extractf32x8_ps(zero8, all8, abce, 1));
  return _mm_mul_ps(_mm_add_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1)),
                    _mm_set1_ps(scale));
}

// R query rows against each key row: each key vector of 32 elements, loaded once, meets the R rows
// in R VDPBF16PS, and one SumsOf4 ends the R dot products. With each key row j, `prefetch` asks
// for value row j (row_prefetch.h).
template <int R>
void DecodeScoresRows(const uint16_t* q, int64_t ldq, const uint16_t* k, int64_t ldk,
                      int64_t keys, int64_t dk, float scale, float* s, int64_t lds,
                      const RowPrefetch& prefetch) {
  const int64_t full = dk / 32 * 32;
  const __mmask32 tail = FirstLanes32(dk - full);
  for (int64_t j = 0; j < keys; ++j) {
    const uint16_t* r = k + j * ldk;
    prefetch(j);
    __m512 acc[4];
    Unrolled<4>([&](auto x) { acc[x] = _mm512_setzero_ps(); });
    for (int64_t c = 0; c < full; c += 32) {
      const __m512bh kv = (__m512bh)_mm512_loadu_si512(r + c);
      Unrolled<R>([&](auto x) {
        acc[x] = _mm512_dpbf16_ps(acc[x], kv, (__m512bh)_mm512_loadu_si512(q + x * ldq + c));
      });
    }
    if (tail != 0) {  // the head dim's last dk % 32 elements, the rest of the vector 0
      const __m512bh kv = (__m512bh)_mm512_maskz_loadu_epi16(tail, r + full);
      Unrolled<R>([&](auto x) {
        const __m512i qv = _mm512_maskz_loadu_epi16(tail, q + x * ldq + full);
        acc[x] = _mm512_dpbf16_ps(acc[x], kv, (__m512bh)qv);
      });
    }
    alignas(16) float out[4];
    _mm_store_ps(out, SumsOf4(acc, scale));
    Unrolled<R>([&](auto x) { s[x * lds + j] = out[x]; });
  }
}

// One query row: four key rows, one after the other in address order, into four independent sums
// that one SumsOf4 ends (one row against each key row would end every dot product in a reduction
// of its own); then the last keys % 4 one at a time.
void DecodeScores1(const uint16_t* q, const uint16_t* k, int64_t ldk, int64_t keys, int64_t dk,
                   float scale, float* s) {
  const int64_t full = dk / 32 * 32;
  const __mmask32 tail = FirstLanes32(dk - full);
  int64_t j = 0;
  for (; j + 4 <= keys; j += 4) {
    __m512 acc[4];
    Unrolled<4>([&](auto x) { acc[x] = DotRow(k + (j + x) * ldk, q, full, tail); });
    _mm_storeu_ps(s + j, SumsOf4(acc, scale));
  }
  for (; j < keys; ++j) {
    const __m512 acc[4] = {DotRow(k + j * ldk, q, full, tail), _mm512_setzero_ps(),
                           _mm512_setzero_ps(), _mm512_setzero_ps()};
    s[j] = _mm_cvtss_f32(SumsOf4(acc, scale));
  }
}

// NC chunks of 32 output columns of R rows over every key pair: 2 x NC x R accumulators. The
// last chunk reads and writes only the columns of `last`.
template <int R, int NC>
void DecodePvChunks(const uint32_t* pp, int64_t ldpp, int64_t keys, const uint16_t* v,
                    int64_t ldv, __mmask32 last, float* o, int64_t ldo) {
  __m512 lo[NC][R], hi[NC][R];
  Unrolled<NC * R>([&](auto a) {
    lo[a / R][a % R] = _mm512_setzero_ps();
    hi[a / R][a % R] = _mm512_setzero_ps();
  });
  for (int64_t j = 0; j < keys; j += 2) {
    const uint16_t* r0 = v + j * ldv;
    const bool second = j + 1 < keys;  // an odd last key pairs with a zero row
    __m512bh pb[R];
    Unrolled<R>([&](auto x) { pb[x] = (__m512bh)_mm512_set1_epi32(pp[x * ldpp + j / 2]); });
    Unrolled<NC>([&](auto c) {
      const __mmask32 m = c == NC - 1 ? last : ~__mmask32{0};
      const __m512i a = _mm512_maskz_loadu_epi16(m, r0 + 32 * c);
      const __m512i b = second ? _mm512_maskz_loadu_epi16(m, r0 + ldv + 32 * c)
                               : _mm512_setzero_si512();
      const __m512bh vlo = (__m512bh)_mm512_unpacklo_epi16(a, b);
      const __m512bh vhi = (__m512bh)_mm512_unpackhi_epi16(a, b);
      Unrolled<R>([&](auto x) {
        lo[c][x] = _mm512_dpbf16_ps(lo[c][x], pb[x], vlo);
        hi[c][x] = _mm512_dpbf16_ps(hi[c][x], pb[x], vhi);
      });
    });
  }
  const __m512i order0 = _mm512_load_si512(kUnpackOrder[0]);
  const __m512i order1 = _mm512_load_si512(kUnpackOrder[1]);
  Unrolled<NC * R>([&](auto a) {
    constexpr int c = a / R, x = a % R;
    const __mmask32 m = c == NC - 1 ? last : ~__mmask32{0};
    const __mmask16 m0 = static_cast<__mmask16>(m), m1 = static_cast<__mmask16>(m >> 16);
    float* oc = o + x * ldo + 32 * c;
    const __m512 out0 = _mm512_permutex2var_ps(lo[c][x], order0, hi[c][x]);
    const __m512 out1 = _mm512_permutex2var_ps(lo[c][x], order1, hi[c][x]);
    _mm512_mask_storeu_ps(oc, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, oc), out0));
    _mm512_mask_storeu_ps(oc + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, oc + 16), out1));
  });
}

// The R-row P V (Bf16DecodePv). Each row's probabilities become bfloat16 pairs in place: 32
// floats at a time become 16 pairs written over the first half of what was just read (nearest
// even, as VCVTNE2PS2BF16 rounds). Then passes of 32 * kChunks output columns (at most 16
// accumulators: one row takes 256 columns a pass, as DecodePv; four rows 64, float32 and bfloat16
// at d = 128 in two passes, as DecodePvRows) over the value rows, the last pass 1 to kChunks
// chunks, its last partial.
template <int R>
void DecodePvRows(float* p, int64_t ldp, int64_t keys, const uint16_t* v, int64_t ldv, int64_t dv,
                  float* o, int64_t ldo) {
  for (int x = 0; x < R; ++x) {
    float* row = p + x * ldp;
    for (int64_t j = 0; j < keys; j += 32) {
      const __m512 a = _mm512_maskz_loadu_ps(FirstLanes16(keys - j), row + j);
      const __m512 b = _mm512_maskz_loadu_ps(FirstLanes16(keys - j - 16), row + j + 16);
      _mm512_storeu_si512(reinterpret_cast<uint32_t*>(row) + j / 2,
                          (__m512i)_mm512_cvtne2ps_pbh(b, a));
    }
  }
  const auto* pp = reinterpret_cast<const uint32_t*>(p);
  constexpr int kChunks = 8 / R;
  int64_t e = 0;
  for (; dv - e > 32 * kChunks; e += 32 * kChunks) {
    DecodePvChunks<R, kChunks>(pp, ldp, keys, v + e, ldv, FirstLanes32(32), o + e, ldo);
  }
  const int64_t chunks = (dv - e + 31) / 32;
  const __mmask32 last = FirstLanes32(dv - e - 32 * (chunks - 1));
  WithConstant<kChunks>(chunks, [&](auto nc) {
    DecodePvChunks<R, nc>(pp, ldp, keys, v + e, ldv, last, o + e, ldo);
  });
}

}  // namespace

void Bf16ScoreTile(const uint16_t* k, int64_t ldk, int64_t keys4, int64_t npairs,
                   const uint32_t* qpairs, int64_t ldq, int64_t rows_pad, float scale, float* st,
                   int64_t lds) {
  // Query chunks outermost: one Q chunk (npairs x 64 pairs) stays in L1 across the key groups.
  for (int64_t i = 0; i < rows_pad; i += 64)
    for (int64_t j = 0; j < keys4; j += 4)
      ScoreMicro(k + j * ldk, ldk, npairs, qpairs + i, ldq, scale, st + j * lds + i, lds);
}

void Bf16PvTile(const uint32_t* vpairs, int64_t ldv, int64_t npairs, const uint32_t* ppairs,
                int64_t ldp, int64_t rows_pad, float* ot, int64_t ldo, int64_t dv4) {
  for (int64_t i = 0; i < rows_pad; i += 64)
    for (int64_t e = 0; e < dv4; e += 4)
      PvMicro(vpairs + e, ldv, npairs, ppairs + i, ldp, ot + e * ldo + i, ldo);
}

void Bf16PairRows(float* st, int64_t lds, int64_t rows, int64_t rows_pad) {
  // Pair row p is written over float row p, which pair p / 2 has already consumed (p <= 2p).
  for (int64_t p = 0; 2 * p < rows; ++p) {
    const float* lo = st + 2 * p * lds;
    const float* hi = lo + lds;
    uint32_t* out = reinterpret_cast<uint32_t*>(st + p * lds);
    const bool has_hi = 2 * p + 1 < rows;
    for (int64_t i = 0; i < rows_pad; i += 16) {
      const __m512 h = has_hi ? _mm512_load_ps(hi + i) : _mm512_setzero_ps();
      _mm512_store_si512(out + i, PairLanes(_mm512_load_ps(lo + i), h));
    }
  }
}

void Bf16DecodeScores(const uint16_t* q, int64_t ldq, int64_t rows, const uint16_t* k,
                      int64_t ldk, int64_t keys, int64_t dk, float scale, float* s, int64_t lds,
                      const RowPrefetch& prefetch) {
  if (rows == 1) {
    DecodeScores1(q, k, ldk, keys, dk, scale, s);
  } else {
    WithConstant<4>(rows, [&](auto r) {
      DecodeScoresRows<r>(q, ldq, k, ldk, keys, dk, scale, s, lds, prefetch);
    });
  }
}

void Bf16DecodePv(float* p, int64_t ldp, int64_t rows, int64_t keys, const uint16_t* v,
                  int64_t ldv, int64_t dv, float* o, int64_t ldo) {
  WithConstant<4>(rows, [&](auto r) { DecodePvRows<r>(p, ldp, keys, v, ldv, dv, o, ldo); });
}

__attribute__((noinline)) double Bf16DotPeakLoop(int64_t iters) {
  __m512 acc[12];
  for (auto& a : acc) a = _mm512_setzero_ps();
  const __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80), y = (__m512bh)_mm512_set1_epi32(0x33d633d6);
  for (int64_t i = 0; i < iters; ++i)
    for (auto& a : acc) a = _mm512_dpbf16_ps(a, x, y);
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  volatile float sink = _mm512_cvtss_f32(s);  // every chain feeds lane 0
  (void)sink;
  return 12.0 * 32 * 2 * static_cast<double>(iters);
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else  // not x86-64: the portable float32 path is always used.

bool CpuHasAvx512Bf16() { return false; }
void Bf16ScoreTile(const uint16_t*, int64_t, int64_t, int64_t, const uint32_t*, int64_t, int64_t,
                   float, float*, int64_t) {}
void Bf16PvTile(const uint32_t*, int64_t, int64_t, const uint32_t*, int64_t, int64_t, float*,
                int64_t, int64_t) {}
void Bf16PairRows(float*, int64_t, int64_t, int64_t) {}
void Bf16DecodeScores(const uint16_t*, int64_t, int64_t, const uint16_t*, int64_t, int64_t,
                      int64_t, float, float*, int64_t, const RowPrefetch&) {}
void Bf16DecodePv(float*, int64_t, int64_t, int64_t, const uint16_t*, int64_t, int64_t, float*,
                  int64_t) {}
double Bf16DotPeakLoop(int64_t) { return 0; }

#endif

}  // namespace moa::internal
