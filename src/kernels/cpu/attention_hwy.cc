// moa — runtime attention (stage: kernels, CPU SIMD through Google Highway).
// In: a validated AttentionProblem (kernels/attention_problem.h) with caller-owned scratch.
// Out: the attention output (and log-sum-exp) written through the problem's strides.
//
// The fused kernel is the lifted ONF of DESIGN.md: the query axis is lifted into blocks of bq rows
// (one task each, over threads), the key axis into tiles of bk rows, and the softmax reduction over
// keys is carried across tiles by the online-softmax state (m, z, o) of each query row. Per tile:
// S = (q * scale) K^T, mask, m' = max(m, rowmax S), P = exp(S - m'), z and o rescaled by
// exp(m - m'), o += P V. Nothing larger than a tile is ever allocated.
//
// Everything per task is held transposed, queries along the SIMD lanes (Q^T, S^T, O^T): then K and
// V are read row by row exactly as stored (one broadcast element at a time, no K^T copy — a
// measured 48% of the time went to transposing K tiles in the first version), the softmax max and
// sum run lane-wise with no horizontal reductions, and only Q (once per task) and O (once, at the
// end) change orientation.
//
// On the float32 / float64 path a tile is processed one query chunk at a time (kNV vectors: 64
// float32 or 32 float64 queries on AVX-512): the chunk's scores (bk x chunk) go through mask,
// softmax and P V while they sit in L1, and only the chunk's Q^T and O^T slabs come from L2. The
// kernel takes any bq (a multiple of 64) and any bk (remainders run exact-size micro-kernels).
// Measured at n = 4096, d = 128 (2 cores, noisy host): time moves by a few percent at most over
// bk 32-192 and bq 256-512. bk near 96 keeps the score chunk (bk x 256 bytes) in L1 beside the
// Q^T slab (32 KiB at dk = 128); float64 gained ~5% from bk 96-128 over 32 (the O^T accumulators
// are loaded and stored once per chunk and tile); bq should give every thread an equal share of
// tasks (float64's bq = 448 leaves one short task of 10 at n = 4096).
//
// The naive kernel materialises S^T (nk x nq) for one head at a time in three passes — GEMM,
// softmax, GEMM — built from the same micro-kernels, so the two differ only in memory traffic.
//
// This file is compiled once per SIMD target (foreach_target.h) and dispatched at run time, so one
// binary runs with AVX-512, AVX2 or the portable EMU128 target. bfloat16 inputs are widened to
// float32 while packing, so they take the float32 path (fp32 accumulation).

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/attention_hwy.cc"
// SSSE3/SSE4 add nothing over the portable target for this kernel worth their compile time, and
// AVX3_DL adds nothing over AVX3 for float FMA; AVX2 stays for machines without AVX-512.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4 | HWY_AVX3_DL)
#endif
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "kernels/attention_problem.h"
#include "kernels/amx/amx_bf16.h"
#include "kernels/amx/amx_flash.h"
#include "kernels/cpu/bf16_dot.h"
#include "kernels/cpu/decode_gemv-inl.h"
#include "kernels/cpu/mask_block-inl.h"
#include "kernels/cpu/simd_gemm-inl.h"
#include "kernels/pow2_poly.h"
#include "kernels/parallel.h"
#include "moa/error.h"

HWY_BEFORE_NAMESPACE();
namespace moa::internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr int64_t kGroup = 4;  // key rows per step of the bfloat16 pair kernels (bf16_dot.h)
// How far (natural log units) a query's maximum may rise before the online softmax moves its
// reference and rescales z and O^T: probabilities stay below e^8 ~ 3e3, far from overflow.
constexpr double kRescaleSlack = 8.0;
constexpr int64_t kFewQueryKeys = 512;  // keys per step of the few-query path (FewQueryTask)
// Query rows whose scores the few-query path computes together (DecodeScoresRows). Their score rows
// fit the S^T tile: 4 x max(bk, kFewQueryKeys) <= bkp x 96 elements (MakeTileLayout).
constexpr int64_t kDecodeRows = 4;
// The longest value row (bytes) a few-query group's P V reads in two passes (FewQueryGroup).
constexpr int64_t kTwoPassRowBytes = 512;
constexpr double kLog2e = 1.44269504088896340736;  // e^x = 2^(x log2(e)), the softmax's Pow2
// Softmax references (natural-log units) below which the exponent is one FMA,
// x s log2(e) - ref log2(e): the rounding of ref log2(e), at most ulp(2^16) / 2 = 2^-8 (float32),
// moves every probability of the query by the same factor, which the division by z cancels. Past
// it that error grows with the magnitude (hundreds at 1e10, so 2^t overflowed or vanished: NaN or
// zero rows) and the exponent is formed as (x s - ref) log2(e), exactly 0 for the maximum.
constexpr double kFmaReferenceLimit = 32768.0;

// Element access: bfloat16 travels as its 16 bits (uint16_t).
template <typename A>
HWY_INLINE A Widen(double x) { return static_cast<A>(x); }
template <typename A>
HWY_INLINE A Widen(float x) { return static_cast<A>(x); }
template <typename A>
HWY_INLINE A Widen(uint16_t x) {
  const uint32_t bits = static_cast<uint32_t>(x) << 16;  // bfloat16 is the top half of a float
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return static_cast<A>(f);
}
template <typename A>
HWY_INLINE A Widen(uint8_t x) { return static_cast<A>(x); }

template <typename Out, typename A>
HWY_INLINE void Narrow(A x, Out* dst) {
  if constexpr (std::is_same_v<Out, uint16_t>) {
    *dst = BFloat16FromFloat(static_cast<float>(x));
  } else {
    *dst = static_cast<Out>(x);
  }
}

// 2^t for t <= 16 (a score minus its reference, in base 2), exactly 0 at -inf, NaN kept.
// t = n + r, n an integer and |r| <= 1/2, and 2^r from a polynomial fitted for minimal relative
// error on [-1/2, 1/2]: degree 5 for float32 (1.6e-7 in float arithmetic), degree 10 for float64
// (4.4e-16). With the base-2 scaling folded into the caller's FMA this is about half the
// instructions of hn::Exp (range check, Cody-Waite reduction, two-step 2^n), which took 16% of
// the fused kernel's time.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V Pow2(D d, V t) {
  using T = hn::TFromD<D>;
  // Results under 2^-126 (float) or 2^-1022 (double) may be flushed to 0, and -inf gives exactly 0:
  // with VSCALEF the clamp is far enough below the subnormals for 2^n to round to 0, elsewhere it
  // makes n + bias the exponent field's zero.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  constexpr T kMin = sizeof(T) == 4 ? T(kPow2MinScalefF32) : T(-1100);
#else
  constexpr T kMin = sizeof(T) == 4 ? T(-127) : T(-1023);
#endif
#if HWY_ARCH_X86 && HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128
  t = hn::Max(hn::Set(d, kMin), t);  // MAXPS/MAXPD return the second operand, t, when t is NaN
#else
  // The portable targets' Max returns the number when one operand is NaN (so may others'):
  // without the select a NaN score became the clamp, a probability of 0 (NanInputsGiveNanRows).
  t = hn::IfThenElse(hn::IsNaN(t), t, hn::Max(hn::Set(d, kMin), t));
#endif
  const V n = hn::Round(t);
  const V r = hn::Sub(t, n);
  V poly;
  if constexpr (sizeof(T) == 4) {
    poly = hn::Set(d, kPow2PolyF32[0]);
    for (int c = 1; c < 5; ++c) poly = hn::MulAdd(poly, r, hn::Set(d, kPow2PolyF32[c]));
  } else {
    poly = hn::MulAdd(hn::Set(d, T(7.038183077767337e-09)), r, hn::Set(d, T(1.0208323555589693e-07)));
    poly = hn::MulAdd(poly, r, hn::Set(d, T(1.3215653579050039e-06)));
    poly = hn::MulAdd(poly, r, hn::Set(d, T(1.5252659424450675e-05)));
    poly = hn::MulAdd(poly, r, hn::Set(d, T(0.0001540352999426367)));
    poly = hn::MulAdd(poly, r, hn::Set(d, T(0.0013333558225806618)));
    poly = hn::MulAdd(poly, r, hn::Set(d, T(0.009618129107983141)));
    poly = hn::MulAdd(poly, r, hn::Set(d, T(0.05550410866448177)));
    poly = hn::MulAdd(poly, r, hn::Set(d, T(0.240226506959091)));
    poly = hn::MulAdd(poly, r, hn::Set(d, T(0.6931471805599492)));
  }
  poly = hn::MulAdd(poly, r, hn::Set(d, T(1)));
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  // VSCALEF: poly * 2^n in one instruction.
  if constexpr (sizeof(T) == 4) {
    return V{_mm512_scalef_ps(poly.raw, n.raw)};
  } else {
    return V{_mm512_scalef_pd(poly.raw, n.raw)};
  }
#else
  // 2^n built in the exponent field: 0 <= n + bias < 2 * bias after the clamp.
  const hn::RebindToSigned<D> di;
  constexpr int kMantissa = sizeof(T) == 4 ? 23 : 52;
  const auto bias = hn::Set(di, static_cast<hn::TFromD<decltype(di)>>(-kMin));
  const auto bits = hn::ShiftLeft<kMantissa>(hn::Add(hn::ConvertTo(di, n), bias));
  return hn::Mul(poly, hn::BitCast(d, bits));
#endif
}

// The caller's element types, as template parameters, and the accumulator type A.
template <typename In, typename A, typename Out>
struct Kernel {
  const AttentionProblem& p;
  TileLayout t;
  hn::ScalableTag<A> d;
  int64_t lanes;
  int64_t chunk;  // queries per micro-kernel call
  // K / V rows can be read in place when they are already A with unit inner stride.
  bool k_direct, v_direct;
  // bfloat16 inputs on an AVX-512 target of a CPU with AVX512-BF16: both GEMMs run as VDPBF16PS
  // on bfloat16 pairs (bf16_dot.h) at twice the float32 FMA rate; the softmax stays float32.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  static constexpr bool kBf16DotCompiled = std::is_same_v<In, uint16_t>;
#else
  static constexpr bool kBf16DotCompiled = false;
#endif
  bool bf16_dot;
  // bfloat16 inputs where the CPU has AMX: both GEMMs on AMX tiles (amx_bf16.h), preferred over
  // AVX512-BF16. Uses the same pair layouts, padded to 32-element steps. Every AMX CPU also has
  // AVX512-BF16, which the softmax's bfloat16 rounding (PackPair, amx_flash.h) uses; it is checked.
  bool amx;
  // The fused AMX path keeps Q pairs and O^T chunk-major (kAmxChunk queries, amx_flash.h) and,
  // on key tiles no mask touches, runs the pipelined step (it needs a positive scale, folded into
  // the exp).
  bool amx_pipelined;
  // bfloat16 K and V read in place by the few-query path: both GEMVs on VDPBF16PS
  // (Bf16DecodeScores, Bf16DecodePv), the scores from Q's own bfloat16 rows, which the task keeps
  // in its K tile.
  bool bf16_decode;
  int64_t npairs;  // pair rows of Q: (dk + 1) / 2, or dkp / 2 with AMX
  bool k_direct_pairs;
  // Every probability is taken times 2^-pow2_shift (subtracted from the exponent, which costs no
  // instruction), so that O, which sums up to e^kRescaleSlack x nk of them times V, stays finite
  // for V up to the dtype's largest value; z takes the same factor, so O / z is unchanged, and
  // the LSE adds it back (Lse). 2^pow2_shift > e^kRescaleSlack nk; probabilities under
  // 2^(pow2_shift - 126) of the maximum's (float32) flush to 0, far below float32 rounding.
  int pow2_shift;

  explicit Kernel(const AttentionProblem& problem)
      : p(problem),
        t(MakeTileLayout(problem)),
        lanes(static_cast<int64_t>(hn::Lanes(d))),
        chunk(static_cast<int64_t>(kNV) * lanes),
        k_direct(std::is_same_v<In, A> && problem.ks[3] == 1),
        v_direct(std::is_same_v<In, A> && problem.vs[3] == 1),
        bf16_dot(kBf16DotCompiled && chunk == 64 && problem.bf16_path != kBf16Float32 &&
                 CpuHasAvx512Bf16()),
        amx(kBf16DotCompiled && chunk == 64 && problem.bf16_path == kBf16Auto && AmxAvailable() &&
            CpuHasAvx512Bf16()),
        amx_pipelined(amx && problem.mask == nullptr && problem.scale > 0),
        bf16_decode(kBf16DotCompiled && lanes == 16 && problem.bf16_path != kBf16Float32 &&
                    problem.ks[3] == 1 && problem.vs[3] == 1 && CpuHasAvx512Bf16()),
        npairs(amx ? t.dkp / 2 : (problem.dk + 1) / 2),
        k_direct_pairs(problem.ks[3] == 1 && problem.dk % (amx ? 32 : 2) == 0),
        pow2_shift(12 + static_cast<int>(std::bit_width(static_cast<uint64_t>(problem.nk)))) {
    static_assert(kRescaleSlack <= 8.0, "pow2_shift assumes e^kRescaleSlack < 2^12");
    if (amx) bf16_dot = false;
  }

  // The log-sum-exp of a row from its reference m and its sum z (both as the online softmax
  // keeps them, z times 2^-pow2_shift): -inf where no key was seen.
  A Lse(A m, A z) const {
    return z != 0 ? m + std::log(std::ldexp(z, pow2_shift)) : -std::numeric_limits<A>::infinity();
  }

  // --- bfloat16 pair layout (used only when bf16_dot, which implies A = float) ---

  static float* AsFloat(A* x) { return reinterpret_cast<float*>(x); }

  static uint32_t Bits(const In* x) {
    uint16_t b;
    std::memcpy(&b, x, 2);
    return b;
  }

  // Q rows [i0, i0 + rows) as pairs (Q[i][2p], Q[i][2p+1]) in lane i of row p; padding 0. Row
  // p of query i is at PairAt(p, i): one block of rows_pad lanes per row, or chunk-major.
  int64_t PairAt(int64_t pr, int64_t i, bool chunk_major) const {
    return chunk_major ? (i / kAmxChunk * npairs + pr) * kAmxChunk + i % kAmxChunk : pr * t.ld + i;
  }
  void PackQPairs(int64_t b, int64_t h, int64_t i0, int64_t rows, int64_t rows_pad, uint32_t* qp,
                  bool chunk_major = false) const {
    const In* base = static_cast<const In*>(p.q) + b * p.qs[0] + h * p.qs[1];
    int64_t i_begin = 0;  // queries before it were packed by the vector loop
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
    // Where a pair is two adjacent bfloat16 of a row, 16 queries' pair pr is one 32-bit gather
    // (16 adjacent lanes in either layout: a chunk-major chunk holds 32 queries). The element loop
    // below cost 6% of the AVX512-BF16 kernel's time at n = 512, d = 64. AMX pads the head dim to
    // 32: its pairs past dk are zero.
    if (p.qs[3] == 1 && p.dk % 2 == 0 && std::abs(p.qs[2]) <= INT32_MAX / 16) {
      const __m512i offsets = _mm512_mullo_epi32(
          _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
          _mm512_set1_epi32(static_cast<int32_t>(p.qs[2])));
      for (; i_begin + 16 <= rows; i_begin += 16) {
        const In* rows16 = base + (i0 + i_begin) * p.qs[2];
        for (int64_t pr = 0; pr < npairs; ++pr) {
          _mm512_store_si512(qp + PairAt(pr, i_begin, chunk_major),
                             2 * pr < p.dk
                                 ? _mm512_i32gather_epi32(offsets, rows16 + 2 * pr, sizeof(In))
                                 : _mm512_setzero_si512());
        }
      }
    }
#endif
    for (int64_t pr = 0; pr < npairs; ++pr) {
      for (int64_t i = i_begin; i < rows_pad; ++i) {
        uint32_t lo = 0, hi = 0;  // AMX pads the head dim to 32 with zero pairs
        if (i < rows && 2 * pr < p.dk) {
          const In* row = base + (i0 + i) * p.qs[2];
          lo = Bits(row + 2 * pr * p.qs[3]);
          hi = 2 * pr + 1 < p.dk ? Bits(row + (2 * pr + 1) * p.qs[3]) : 0;
        }
        qp[PairAt(pr, i, chunk_major)] = lo | hi << 16;
      }
    }
  }

  // `count` K rows from j0 as raw bfloat16, 2 * npairs per row (padded with 0), rows up to a
  // multiple of `group` zero.
  void PackKBf16(int64_t b, int64_t hk, int64_t j0, int64_t count, uint16_t* dst,
                 int64_t group = kGroup) const {
    const In* base = static_cast<const In*>(p.k) + b * p.ks[0] + hk * p.ks[1];
    const int64_t ld = 2 * npairs;
    for (int64_t j = 0; j < count; ++j) {
      const In* row = base + (j0 + j) * p.ks[2];
      for (int64_t c = 0; c < p.dk; ++c) dst[j * ld + c] = static_cast<uint16_t>(Bits(row + c * p.ks[3]));
      std::fill(dst + j * ld + p.dk, dst + (j + 1) * ld, uint16_t{0});
    }
    std::fill(dst + count * ld, dst + RoundUpTo(count, group) * ld, uint16_t{0});
  }

  // --- AMX (used only when amx) ---

  // S^T for keys [j0, j0 + cols) on AMX, then times scale (applied in float32, not to bfloat16 q).
  void ScoreTileAmx(int64_t b, int64_t hk, int64_t j0, int64_t cols, const uint32_t* qp,
                    int64_t rows_pad, uint16_t* kpack, A* st, int64_t lds, bool apply_scale) const {
    int64_t full = 0;
    if (k_direct_pairs) {
      full = cols / 32 * 32;
      const uint16_t* krows = reinterpret_cast<const uint16_t*>(
          static_cast<const In*>(p.k) + b * p.ks[0] + hk * p.ks[1] + j0 * p.ks[2]);
      if (full > 0) AmxScoreTile(krows, p.ks[2], full, t.dkp, qp, t.ld, rows_pad, AsFloat(st), lds);
    }
    if (full < cols) {
      PackKBf16(b, hk, j0 + full, cols - full, kpack, 32);
      AmxScoreTile(kpack, t.dkp, RoundUpTo(cols - full, 32), t.dkp, qp, t.ld, rows_pad,
                   AsFloat(st + full * lds), lds);
    }
    if (!apply_scale) return;  // the caller folds the scale into the softmax
    const auto vscale = hn::Set(d, static_cast<A>(p.scale));
    for (int64_t j = 0; j < cols; ++j)
      for (int64_t i = 0; i < rows_pad; i += lanes) {
        A* x = st + j * lds + i;
        hn::Store(hn::Mul(hn::Load(d, x), vscale), d, x);
      }
  }

  // O^T += V^T P^T on AMX: V^T of the tile packed (dvp x RoundUpTo(cols, 32), zero padded), P^T
  // already in pair rows; pair rows past the keys are zeroed up to the 32-key step.
  void PvTileAmx(int64_t b, int64_t hk, int64_t j0, int64_t cols, A* pairs, int64_t ldp,
                 int64_t rows_pad, uint16_t* vt, A* ot) const {
    const int64_t keys32 = RoundUpTo(cols, 32);
    TransposeVAmx(b, hk, j0, cols, vt);
    for (int64_t pr = (cols + 1) / 2; pr < keys32 / 2; ++pr) {
      std::fill(pairs + pr * ldp, pairs + pr * ldp + rows_pad, A(0));
    }
    AmxPvTile(vt, t.bkp, t.dvp, keys32, reinterpret_cast<const uint32_t*>(pairs), ldp, rows_pad,
              AsFloat(ot), t.ld);
  }

  // V^T of keys [j0, j0 + cols) into vt (dvp rows of RoundUpTo(cols, 32), t.bkp apart, zero padded).
  void TransposeVAmx(int64_t b, int64_t hk, int64_t j0, int64_t cols, uint16_t* vt) const {
    const In* base = static_cast<const In*>(p.v) + b * p.vs[0] + hk * p.vs[1] + j0 * p.vs[2];
    if (p.vs[3] == 1) {
      AmxTransposeV(reinterpret_cast<const uint16_t*>(base), p.vs[2], cols, p.dv, vt, t.bkp);
    } else {
      TransposeVScalar(base, cols, vt);
    }
  }

  // One key tile of the fused kernel on AMX, chunk-major (kAmxChunk queries per chunk, their Q
  // pairs and O^T contiguous): the pipelined step of amx_flash.h where no mask applies (under a
  // causal mask: tiles every query of the block sees whole); otherwise each chunk's S^T goes
  // through scale, mask, softmax and P.V while it is in L1. sc: scratch for three chunks.
  void AmxTile(int64_t b, int64_t h, int64_t hk, int64_t i0, int64_t rows, int64_t j0,
               int64_t cols, const uint32_t* qp, uint16_t* kpack, uint16_t* vt, A* sc, A* ot,
               A* m, A* z, bool fold_scale) const {
    // K rows in place when they are whole 32-key steps of unit-stride pairs, else packed with
    // zero rows up to the 32-key step.
    const uint16_t* krows = kpack;
    int64_t ldk = t.dkp;
    if (k_direct_pairs && cols % 32 == 0) {
      krows = reinterpret_cast<const uint16_t*>(static_cast<const In*>(p.k) + b * p.ks[0] +
                                                hk * p.ks[1] + j0 * p.ks[2]);
      ldk = p.ks[2];
    } else {
      PackKBf16(b, hk, j0, cols, kpack, 32);
    }
    TransposeVAmx(b, hk, j0, cols, vt);
    if (amx_pipelined && KeysSeen(i0, j0, cols) == cols) {  // the block's first query sees all
      AmxFlashTile a;
      a.k = krows;
      a.ldk = ldk;
      a.vt = vt;
      a.ldv = t.bkp;
      a.keys = cols;
      a.dkp = t.dkp;
      a.dvp = t.dvp;
      a.chunks = RoundUpTo(rows, kAmxChunk) / kAmxChunk;
      a.qpairs = qp;
      a.ot = AsFloat(ot);
      a.m = AsFloat(m);
      a.z = AsFloat(z);
      a.scale = static_cast<float>(p.scale);
      a.rescale_slack = static_cast<float>(kRescaleSlack);
      a.pow2_shift = static_cast<float>(pow2_shift);
      a.scratch = AsFloat(sc);
      AmxFlashKeyTile(a);
      return;
    }
    for (int64_t i = 0; i < rows; i += kAmxChunk) {
      const int64_t chunk_rows = std::min(kAmxChunk, rows - i);
      // Under a causal mask keys past those the chunk's last query sees are skipped.
      const int64_t keys = KeysSeen(i0 + i + chunk_rows - 1, j0, cols);
      if (keys <= 0) continue;
      const int64_t keys32 = RoundUpTo(keys, 32);
      A* oc = ot + OAt(0, i, OLayout::kChunkMajor);
      AmxScoreTile(krows, ldk, keys32, t.dkp, qp + PairAt(0, i, /*chunk_major=*/true), kAmxChunk,
                   kAmxChunk, AsFloat(sc), kAmxChunk);
      if (!fold_scale) {
        const auto vscale = hn::Set(d, static_cast<A>(p.scale));
        for (int64_t x = 0; x < keys * kAmxChunk; x += lanes) {
          hn::Store(hn::Mul(hn::Load(d, sc + x), vscale), d, sc + x);
        }
      }
      if (NeedsMask()) MaskTile(b, h, i0 + i, chunk_rows, j0, keys, sc, kAmxChunk);
      OnlineSoftmax(sc, kAmxChunk, keys, kAmxChunk, m + i, z + i, oc, kAmxChunk, /*rescale=*/true,
                    fold_scale ? static_cast<A>(p.scale) : A(1), /*to_pairs=*/true);
      std::fill(sc + (keys + 1) / 2 * kAmxChunk, sc + keys32 / 2 * kAmxChunk, A(0));
      AmxPvTile(vt, t.bkp, t.dvp, keys32, reinterpret_cast<const uint32_t*>(sc), kAmxChunk,
                kAmxChunk, AsFloat(oc), kAmxChunk);
    }
  }

  // V^T of `cols` keys from base into vt (dvp rows of keys32, zero padded) for strided V.
  void TransposeVScalar(const In* base, int64_t cols, uint16_t* vt) const {
    const int64_t keys32 = RoundUpTo(cols, 32);
    for (int64_t e = 0; e < t.dvp; ++e) {
      uint16_t* row = vt + e * t.bkp;
      if (e < p.dv) {
        for (int64_t j = 0; j < cols; ++j) row[j] = static_cast<uint16_t>(Bits(base + j * p.vs[2] + e * p.vs[3]));
        std::fill(row + cols, row + keys32, uint16_t{0});
      } else {
        std::fill(row, row + keys32, uint16_t{0});
      }
    }
  }

  void ScoreTileBf16(int64_t b, int64_t hk, int64_t j0, int64_t cols, const uint32_t* qp,
                     int64_t rows_pad, uint16_t* kpack, A* st, int64_t lds) const {
    const float scale = static_cast<float>(p.scale);
    int64_t full = 0;
    if (k_direct_pairs) {
      full = cols / kGroup * kGroup;
      const uint16_t* krows = reinterpret_cast<const uint16_t*>(
          static_cast<const In*>(p.k) + b * p.ks[0] + hk * p.ks[1] + j0 * p.ks[2]);
      Bf16ScoreTile(krows, p.ks[2], full, npairs, qp, t.ld, rows_pad, scale, AsFloat(st), lds);
    }
    if (full < cols) {
      PackKBf16(b, hk, j0 + full, cols - full, kpack);
      Bf16ScoreTile(kpack, 2 * npairs, RoundUpTo(cols - full, kGroup), npairs, qp, t.ld, rows_pad,
                    scale, AsFloat(st + full * lds), lds);
    }
  }

  // V rows [j0, j0 + cols) as pairs (V[2p][e], V[2p+1][e]) in element e of row p, dv4 per row.
  void PackVPairs(int64_t b, int64_t hk, int64_t j0, int64_t cols, uint32_t* vp) const {
    const In* base = static_cast<const In*>(p.v) + b * p.vs[0] + hk * p.vs[1];
    for (int64_t pr = 0; 2 * pr < cols; ++pr) {
      const In* lo = base + (j0 + 2 * pr) * p.vs[2];
      const In* hi = 2 * pr + 1 < cols ? lo + p.vs[2] : nullptr;
      uint32_t* dst = vp + pr * t.dv4;
      for (int64_t e = 0; e < p.dv; ++e) {
        dst[e] = Bits(lo + e * p.vs[3]) | (hi ? Bits(hi + e * p.vs[3]) << 16 : 0u);
      }
      std::fill(dst + p.dv, dst + t.dv4, 0u);
    }
  }

  // O^T += V^T P^T where P^T's float rows have just been turned into pair rows in place.
  void PvTileBf16(int64_t b, int64_t hk, int64_t j0, int64_t cols, const A* pairs, int64_t ldp,
                  int64_t rows_pad, uint32_t* vpack, A* ot) const {
    PackVPairs(b, hk, j0, cols, vpack);
    Bf16PvTile(vpack, t.dv4, (cols + 1) / 2, reinterpret_cast<const uint32_t*>(pairs), ldp,
               rows_pad, AsFloat(ot), t.ld, t.dv4);
  }

  A* Tile(int worker, size_t off) const {
    return reinterpret_cast<A*>(p.scratch + p.scratch_per_thread * worker + off);
  }

  // Q rows [i0, i0 + rows) of head (b, h), times scale, transposed into qt (dk x bq_pad); the
  // padding queries up to cols_pad are 0. Done once per task, so its strided access is amortised
  // over all nk keys.
  void PackQt(int64_t b, int64_t h, int64_t i0, int64_t rows, int64_t rows_pad, A* qt) const {
    const In* base = static_cast<const In*>(p.q) + b * p.qs[0] + h * p.qs[1];
    const A scale = static_cast<A>(p.scale);
    for (int64_t c = 0; c < p.dk; ++c) {
      A* dst = qt + c * t.ld;
      for (int64_t i = 0; i < rows; ++i) dst[i] = Widen<A>(base[(i0 + i) * p.qs[2] + c * p.qs[3]]) * scale;
      std::fill(dst + rows, dst + rows_pad, A(0));
    }
  }

  // Row-major copy of `count` rows [j0, j0 + count) of a (b, hk) head of K or V with `width`
  // columns into dst (ld columns); rows up to RoundUpTo(count, 4) and columns up to ld are 0.
  void PackRows(const void* src, const int64_t* st, int64_t b, int64_t hk, int64_t j0,
                int64_t count, int64_t width, A* dst, int64_t ld) const {
    const In* base = static_cast<const In*>(src) + b * st[0] + hk * st[1];
    for (int64_t j = 0; j < count; ++j) {
      const In* row = base + (j0 + j) * st[2];
      A* out = dst + j * ld;
      for (int64_t e = 0; e < width; ++e) out[e] = Widen<A>(row[e * st[3]]);
      std::fill(out + width, out + ld, A(0));
    }
    std::fill(dst + count * ld, dst + RoundUpTo(count, kGroup) * ld, A(0));
  }

  // A tile's K or V rows: in place when they are A with unit stride (`direct`), else widened into
  // `pack` with leading dimension ld_pack.
  const A* TileRows(const void* src, const int64_t* st, bool direct, int64_t b, int64_t hk,
                    int64_t j0, int64_t cols, int64_t width, A* pack, int64_t ld_pack,
                    int64_t* ld) const {
    if (direct) {
      *ld = st[2];
      return reinterpret_cast<const A*>(static_cast<const In*>(src) + b * st[0] + hk * st[1] +
                                        j0 * st[2]);
    }
    PackRows(src, st, b, hk, j0, cols, width, pack, ld_pack);
    *ld = ld_pack;
    return pack;
  }
  const A* KRows(int64_t b, int64_t hk, int64_t j0, int64_t cols, A* kpack, int64_t* ldk) const {
    return TileRows(p.k, p.ks, k_direct, b, hk, j0, cols, p.dk, kpack, p.dk, ldk);
  }
  const A* VRows(int64_t b, int64_t hk, int64_t j0, int64_t cols, A* vpack, int64_t* ldv) const {
    return TileRows(p.v, p.vs, v_direct, b, hk, j0, cols, p.dv, vpack, t.dv4, ldv);
  }

  // S^T (cols x rows_pad, ld lds) = K[j0 .. j0+cols) Q^T, one query chunk at a time (naive path).
  void ScoreTile(int64_t b, int64_t hk, int64_t j0, int64_t cols, const A* qt, int64_t rows_pad,
                 A* kpack, A* st, int64_t lds) const {
    int64_t ldk;
    const A* krows = KRows(b, hk, j0, cols, kpack, &ldk);
    for (int64_t i = 0; i < rows_pad; i += chunk) {
      ScoreRows(d, krows, ldk, cols, p.dk, qt + i, t.ld, st + i, lds);
    }
  }

  // O^T (dv x rows_pad) += V[j0 .. j0+cols)^T P^T (naive path).
  void PvTile(int64_t b, int64_t hk, int64_t j0, int64_t cols, const A* pt, int64_t ldp,
              int64_t rows_pad, A* vpack, A* ot) const {
    int64_t ldv;
    const A* vrows = VRows(b, hk, j0, cols, vpack, &ldv);
    for (int64_t i = 0; i < rows_pad; i += chunk) {
      PvRows(d, vrows, ldv, p.dv, cols, pt + i, ldp, ot + i, t.ld);
    }
  }

  // Under a causal mask query q sees key k only if k <= q + causal_offset: of queries i0 ..
  // i0 + rows, those from FirstSeeing(k, ...) on see key k; of keys kj0 .. kj0 + keys, query q
  // sees the first KeysSeen(q, ...).
  int64_t FirstSeeing(int64_t k, int64_t i0, int64_t rows) const {
    return p.causal ? std::clamp<int64_t>(k - p.causal_offset - i0, 0, rows) : 0;
  }
  int64_t KeysSeen(int64_t q, int64_t kj0, int64_t keys) const {
    return p.causal ? std::clamp<int64_t>(q + p.causal_offset - kj0 + 1, 0, keys) : keys;
  }

  // The user's mask on S^T[j][i] (at st + j * lds + i) for keys kj0 + j, j < keys, and queries
  // i0 + i, i < rows, on the scores the causal limit leaves (the others are -inf already and stay
  // so: -inf plus an additive mask's +inf would be NaN). Mask rows are read along their keys,
  // query by query, in blocks of kMaskKeys keys. Reading down a key's column instead (one query
  // after the next) stepped by the mask's row stride, a power of two at n = 4096, so every read
  // fell in the same L1 set: a full (nq, nk) mask made the kernel 1.8-2.6x slower.
  template <typename M>
  void MaskTyped(int64_t b, int64_t h, int64_t i0, int64_t rows, int64_t kj0, int64_t keys, A* st,
                 int64_t lds) const {
    constexpr int64_t kMaskKeys = 64;  // S^T rows written per query: 64 lines, well inside L1
    const M* base = static_cast<const M*>(p.mask) + b * p.ms[0] + h * p.ms[1] + kj0 * p.ms[3];
    const A neg_inf = -std::numeric_limits<A>::infinity();
    auto apply = [&](M m, A& s) {
      if constexpr (std::is_same_v<M, uint8_t>) {
        if (!m) s = neg_inf;
      } else {
        s += Widen<A>(m);
      }
    };
    if (p.ms[2] == 0) {  // one value per key for every query (a padding mask): a fill or an add
      for (int64_t j = 0; j < keys; ++j) {
        const M m = base[j * p.ms[3]];
        A* srow = st + j * lds;
        for (int64_t i = FirstSeeing(kj0 + j, i0, rows); i < rows; ++i) apply(m, srow[i]);
      }
      return;
    }
    for (int64_t jb = 0; jb < keys; jb += kMaskKeys) {
      const int64_t block_end = std::min(keys, jb + kMaskKeys);
      // Query i's keys from `from` to the block's end (or as far as it may look), one at a time.
      auto rest_of_row = [&](int64_t i, int64_t from) {
        const M* row = base + (i0 + i) * p.ms[2];
        const int64_t end = std::min(block_end, KeysSeen(i0 + i, kj0, keys));
        for (int64_t j = from; j < end; ++j) apply(row[j * p.ms[3]], st[j * lds + i]);
      };
      int64_t i = 0;
      if constexpr (kMaskBlockTakes<A, M>) {
        // A vector's worth of queries x as many keys at a time (mask_block-inl.h), where all of
        // those queries see all of those keys (the group's first query sees the fewest) and keys
        // are adjacent in a mask row; the rest one by one.
        constexpr int64_t n = kMaskBlockQueries<A>;
        for (; p.ms[3] == 1 && i + n <= rows; i += n) {
          const int64_t seen = std::min(block_end, KeysSeen(i0 + i, kj0, keys));
          int64_t j = jb;
          for (; j + n <= seen; j += n) {
            MaskBlock(base + (i0 + i) * p.ms[2] + j, p.ms[2], st + j * lds + i, lds);
          }
          for (int64_t q = i; q < i + n; ++q) rest_of_row(q, j);
        }
      }
      for (; i < rows; ++i) rest_of_row(i, jb);
    }
  }

  // Causal limit and the user's mask on the scores of keys kj0 .. kj0 + keys against queries
  // i0 .. i0 + rows (S^T rows lds apart): forbidden scores become -inf, so exp() gives exactly 0.
  void MaskTile(int64_t b, int64_t h, int64_t i0, int64_t rows, int64_t kj0, int64_t keys, A* st,
                int64_t lds) const {
    for (int64_t j = 0; p.causal && j < keys; ++j) {
      std::fill(st + j * lds, st + j * lds + FirstSeeing(kj0 + j, i0, rows),
                -std::numeric_limits<A>::infinity());
    }
    if (p.mask == nullptr) return;
    switch (p.mask_dtype) {
      case DType::kBool: MaskTyped<uint8_t>(b, h, i0, rows, kj0, keys, st, lds); break;
      case DType::kFloat64: MaskTyped<double>(b, h, i0, rows, kj0, keys, st, lds); break;
      case DType::kFloat32: MaskTyped<float>(b, h, i0, rows, kj0, keys, st, lds); break;
      case DType::kBFloat16: MaskTyped<uint16_t>(b, h, i0, rows, kj0, keys, st, lds); break;
    }
  }

  bool NeedsMask() const { return p.causal || p.mask != nullptr; }

  // Rounds float32 lanes to bfloat16 (nearest even) and packs rows j (low half) and j + 1 (high
  // half) into one 32-bit lane: the pair layout of bf16_dot.h and amx_bf16.h. VCVTNE2PS2BF16 rounds
  // both rows in one instruction and a word permute interleaves them; the integer rounding it
  // replaced took a fifth of the softmax. It flushes subnormals to 0, which for a probability
  // (at least one per query is e^-8 or more) changes nothing measurable. Pairs exist only where
  // the CPU has AVX512-BF16 (bf16_dot, amx); Highway 1.0.3 has no target that enables it, so the
  // instruction is written as inline assembly, which needs none.
  HWY_INLINE hn::Vec<hn::ScalableTag<A>> PackPair(hn::Vec<hn::ScalableTag<A>> lo,
                                                  hn::Vec<hn::ScalableTag<A>> hi) const {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
    if constexpr (sizeof(A) == 4) {
      __m512i rounded;  // bfloat16 lanes 0-15 from lo, 16-31 from hi
      asm("vcvtne2ps2bf16 %2, %1, %0" : "=v"(rounded) : "v"(hi.raw), "v"(lo.raw));
      const __m512i interleave = _mm512_loadu_si512(kPairInterleave);
      return {_mm512_castsi512_ps(_mm512_permutexvar_epi16(interleave, rounded))};
    }
#endif
    (void)hi;
    return lo;  // never used: pairs exist only on AVX-512 targets, for bfloat16 inputs (A = float)
  }

  // OnlineSoftmax's exp pass over one vector of queries (S^T column st, `cols` rows lds apart):
  // each score becomes its probability 2^t (written as bfloat16 pairs with to_pairs); returns
  // their sum. kFma: t = x s log2(e) - ref2, one FMA; else t = (x s - ref) log2(e) - shift.
  template <bool kFma, class V>
  HWY_INLINE V ExpColumns(A* st, int64_t lds, int64_t cols, bool to_pairs, V vscale, V ref, V ref2,
                          V shift) const {
    const V log2e = hn::Set(d, A(kLog2e));
    const V vscale2 = hn::Mul(vscale, log2e);
    auto exponent = [&](V x) HWY_ATTR {
      if constexpr (kFma) {
        return hn::MulSub(x, vscale2, ref2);
      } else {
        return hn::MulSub(hn::Sub(hn::Mul(x, vscale), ref), log2e, shift);
      }
    };
    V sum = hn::Zero(d);
    if (to_pairs) {
      for (int64_t j = 0; j < cols; j += 2) {
        const V e0 = Pow2(d, exponent(hn::Load(d, st + j * lds)));
        const V e1 =
            j + 1 < cols ? Pow2(d, exponent(hn::Load(d, st + (j + 1) * lds))) : hn::Zero(d);
        sum = hn::Add(sum, hn::Add(e0, e1));
        hn::Store(PackPair(e0, e1), d, st + (j / 2) * lds);
      }
    } else {
      for (int64_t j = 0; j < cols; ++j) {
        const V e = Pow2(d, exponent(hn::Load(d, st + j * lds)));
        hn::Store(e, d, st + j * lds);
        sum = hn::Add(sum, e);
      }
    }
    return sum;
  }

  // The online-softmax step on a tile, vectorised along queries: m' = max(m, max_j s S^T[j]),
  // P^T = exp(s S^T - m'), z' = z e^{m - m'} + sum_j P^T[j], O^T *= e^{m - m'}, where s is
  // score_scale (> 0; 1 when the scores are already scaled). A query whose scores are all masked
  // so far keeps m = -inf and uses 0 as reference: exp(-inf - 0) = 0, not NaN. With to_pairs the
  // probabilities are written as bfloat16 pair rows in place (pair row j/2 over float row j/2,
  // which this column has already consumed), saving a pass over the tile. P^T, z and O^T carry
  // the factor 2^-pow2_shift.
  void OnlineSoftmax(A* st, int64_t lds, int64_t cols, int64_t rows_pad, A* m, A* z, A* ot,
                     int64_t ldo, bool rescale, A score_scale = A(1), bool to_pairs = false) const {
    const auto neg_inf = hn::Set(d, -std::numeric_limits<A>::infinity());
    const auto vscale = hn::Set(d, score_scale);
    const auto log2e = hn::Set(d, A(kLog2e));
    const auto slack = hn::Set(d, A(kRescaleSlack));
    const auto shift = hn::Set(d, static_cast<A>(pow2_shift));
    const auto fma_limit = hn::Set(d, A(kFmaReferenceLimit));
    for (int64_t i = 0; i < rows_pad; i += lanes) {
      const auto m_old = hn::Load(d, m + i);
      auto raw = neg_inf;
      for (int64_t j = 0; j < cols; ++j) raw = hn::Max(raw, hn::Load(d, st + j * lds + i));
      auto mx = hn::Max(m_old, hn::Mul(raw, vscale));
      // Lazy rescaling: while no query's maximum grew by more than kRescaleSlack the old reference
      // is kept (P <= e^kRescaleSlack, exact in the end since z and O^T share it), which skips the
      // pass over O^T below.
      bool moved = true;
      if (rescale && hn::AllTrue(d, hn::Le(mx, hn::Add(m_old, slack)))) {
        mx = m_old;
        moved = false;
      }
      const auto ref = hn::IfThenZeroElse(hn::Eq(mx, neg_inf), mx);
      // exp(s x - ref) 2^-shift = 2^t. Where every reference of the vector is small, t is one FMA,
      // s log2(e) x - (ref log2(e) + shift); else (s x - ref) log2(e) - shift, from the same
      // rounded s x the maximum was taken over (kFmaReferenceLimit).
      const auto ref2 = hn::MulAdd(ref, log2e, shift);
      const auto sum =
          hn::AllTrue(d, hn::Lt(hn::Abs(ref), fma_limit))
              ? ExpColumns<true>(st + i, lds, cols, to_pairs, vscale, ref, ref2, shift)
              : ExpColumns<false>(st + i, lds, cols, to_pairs, vscale, ref, ref2, shift);
      if (rescale && moved) {
        const auto alpha = Pow2(d, hn::Mul(hn::Sub(m_old, ref), log2e));
        hn::Store(hn::MulAdd(hn::Load(d, z + i), alpha, sum), d, z + i);
        for (int64_t e = 0; e < t.dv4; ++e) {
          A* o = ot + e * ldo + i;
          hn::Store(hn::Mul(hn::Load(d, o), alpha), d, o);
        }
      } else if (rescale) {  // the reference did not move: alpha is 1 in every lane
        hn::Store(hn::Add(hn::Load(d, z + i), sum), d, z + i);
      } else {
        hn::Store(sum, d, z + i);
      }
      hn::Store(mx, d, m + i);
    }
  }

  // `lanes` consecutive output elements at dst, narrowed to Out as Narrow does (bfloat16: round
  // to nearest even, NaN kept as a quiet NaN, as BFloat16FromFloat).
  HWY_INLINE void StoreRow(hn::Vec<hn::ScalableTag<A>> v, Out* dst) const {
    if constexpr (std::is_same_v<Out, A>) {
      hn::StoreU(v, d, dst);
    } else {
      static_assert(std::is_same_v<Out, uint16_t> && sizeof(A) == 4, "bfloat16 from float32");
      const hn::RebindToUnsigned<decltype(d)> du;
      const hn::RebindToSigned<decltype(d)> ds;
      const hn::Rebind<uint16_t, decltype(du)> d16;
      const auto bits = hn::BitCast(du, v);
      const auto rounded = hn::Add(
          bits, hn::Add(hn::Set(du, 0x7fffu), hn::And(hn::ShiftRight<16>(bits), hn::Set(du, 1u))));
      const auto magnitude = hn::BitCast(ds, hn::And(bits, hn::Set(du, 0x7fffffffu)));
      const auto nan = hn::RebindMask(du, hn::Gt(magnitude, hn::Set(ds, 0x7f800000)));
      const auto out = hn::IfThenElse(nan, hn::Or(bits, hn::Set(du, 0x00400000u)), rounded);
      hn::StoreU(hn::TruncateTo(d16, hn::ShiftRight<16>(out)), d16, dst);
    }
  }

  // Where a task's output accumulator keeps element e of query i: O^T with rows t.ld apart (the
  // SIMD and AVX512-BF16 paths), O^T chunk-major (the fused AMX path), or one query's row after
  // another, t.dv4 apart (the few-query path).
  enum class OLayout { kTransposed, kChunkMajor, kRows };
  int64_t OAt(int64_t e, int64_t i, OLayout layout) const {
    switch (layout) {
      case OLayout::kChunkMajor: return (i / kAmxChunk * t.dvp + e) * kAmxChunk + i % kAmxChunk;
      case OLayout::kRows: return i * t.dv4 + e;
      case OLayout::kTransposed: break;
    }
    return e * t.ld + i;
  }

  // Writes queries i0 .. i0 + rows of O^T divided by z (0 for fully masked rows), and the LSE.
  // Output rows of unit stride take a vector of O^T's column at a time (a gather of rows t.ld
  // apart): element by element, with bfloat16 rounding in a call each, this took ~10% of the
  // bfloat16 kernel's time at n = 512. The other layouts keep the element loop.
  void WriteRows(int64_t b, int64_t h, int64_t i0, int64_t rows, const A* ot, const A* m,
                 const A* z, bool write_lse, OLayout layout = OLayout::kTransposed) const {
    Out* base = static_cast<Out*>(p.o) + b * p.os[0] + h * p.os[1];
    const hn::RebindToSigned<decltype(d)> di;
    using TI = hn::TFromD<decltype(di)>;
    const auto column = hn::Mul(hn::Iota(di, TI(0)), hn::Set(di, static_cast<TI>(t.ld)));
    const int64_t vector_end =
        layout == OLayout::kTransposed && p.os[3] == 1 ? p.dv / lanes * lanes : 0;
    for (int64_t i = 0; i < rows; ++i) {
      const A inv = z[i] != 0 ? A(1) / z[i] : A(0);  // NaN stays NaN (NanInputsGiveNanRows)
      Out* row = base + (i0 + i) * p.os[2];
      const auto vinv = hn::Set(d, inv);
      for (int64_t e = 0; e < vector_end; e += lanes) {
        StoreRow(hn::Mul(hn::GatherIndex(d, ot + e * t.ld + i, column), vinv), row + e);
      }
      for (int64_t e = vector_end; e < p.dv; ++e) {
        Narrow<Out>(ot[OAt(e, i, layout)] * inv, row + e * p.os[3]);
      }
      if (write_lse && p.lse) {
        static_cast<A*>(p.lse)[b * p.lse_s[0] + h * p.lse_s[1] + (i0 + i) * p.lse_s[2]] =
            Lse(m[i], z[i]);
      }
    }
  }

  // One key tile of the fused kernel on the float32 / float64 SIMD path, chunk by chunk of
  // queries: the chunk's scores (cols x chunk, in sc) go through mask, softmax and P V while they
  // are still in L1, where a whole-tile pass per step sent S^T (bk x bq) through L2 three times.
  void SimdTile(int64_t b, int64_t h, int64_t hk, int64_t i0, int64_t rows, int64_t rows_pad,
                int64_t j0, int64_t cols, const A* qt, A* kpack, A* vpack, A* sc, A* ot, A* m,
                A* z) const {
    int64_t ldk, ldv;
    const A* krows = KRows(b, hk, j0, cols, kpack, &ldk);
    const A* vrows = VRows(b, hk, j0, cols, vpack, &ldv);
    for (int64_t i = 0; i < rows_pad; i += chunk) {
      const int64_t chunk_rows = std::min(chunk, rows - i);
      // Under a causal mask keys past those the chunk's last query sees are masked for the whole
      // chunk and skipped.
      const int64_t keys = KeysSeen(i0 + i + chunk_rows - 1, j0, cols);
      if (keys <= 0) continue;
      ScoreRows(d, krows, ldk, keys, p.dk, qt + i, t.ld, sc, chunk);
      if (NeedsMask()) {
        MaskTile(b, h, i0 + i, chunk_rows, j0, keys, sc, chunk);
      }
      OnlineSoftmax(sc, chunk, keys, chunk, m + i, z + i, ot + i, t.ld, /*rescale=*/true);
      PvRows(d, vrows, ldv, p.dv, keys, sc, chunk, ot + i, t.ld);
    }
  }

  // One key tile of the fused kernel on the AVX512-BF16 pair kernels: whole-tile passes (scores,
  // softmax, P V) over the query chunks that see every key of the tile. Under a causal mask the
  // chunks before those see only the keys up to their last query: each takes its own passes over
  // just those keys, and a chunk that sees none is skipped. Whole-tile passes there computed and
  // then masked a triangle of the tile (bfloat16 causal ran at 62-68% of the peak against 80-86%
  // without the mask).
  void Bf16Tile(int64_t b, int64_t h, int64_t hk, int64_t i0, int64_t rows, int64_t rows_pad,
                int64_t j0, int64_t cols, const uint32_t* qp, uint16_t* kpack, uint32_t* vpack,
                A* st, A* ot, A* m, A* z) const {
    PackVPairs(b, hk, j0, cols, vpack);
    // Queries i .. i + count - 1 of the block (lanes i .. i + lanes_pad - 1) against the tile's
    // first `keys` keys.
    auto pass = [&](int64_t i, int64_t count, int64_t lanes_pad, int64_t keys) {
      ScoreTileBf16(b, hk, j0, keys, qp + i, lanes_pad, kpack, st + i, t.ld);
      if (NeedsMask()) {
        MaskTile(b, h, i0 + i, count, j0, keys, st + i, t.ld);
      }
      OnlineSoftmax(st + i, t.ld, keys, lanes_pad, m + i, z + i, ot + i, t.ld, /*rescale=*/true,
                    A(1), /*to_pairs=*/true);
      Bf16PvTile(vpack, t.dv4, (keys + 1) / 2, reinterpret_cast<const uint32_t*>(st + i), t.ld,
                 lanes_pad, AsFloat(ot + i), t.ld, t.dv4);
    };
    // Keys of the tile that the chunk from query i sees: those its last query sees.
    auto seen = [&](int64_t i) {
      return KeysSeen(i0 + i + std::min(chunk, rows - i) - 1, j0, cols);
    };
    int64_t full = 0;  // chunks from here on see every key of the tile
    if (p.causal) {
      for (; full < rows_pad && seen(full) < cols; full += chunk) {
        if (seen(full) > 0) pass(full, std::min(chunk, rows - full), chunk, seen(full));
      }
    }
    if (full < rows_pad) pass(full, rows - full, rows_pad - full, cols);
  }

  // One piece of the fused kernel: query block qb of head (b, h) against every key tile, or,
  // when the problem splits the keys (split-KV, below), against every kv_splits-th tile from the
  // piece's own: tile t of S goes to range t mod S, key (lo·S + r)·bk + li, the lifted ONF's
  // ⟨⌈m/(S·Bk)⌉ S Bk⟩ (moa derive --lift BQ,BK,S).
  void FusedTask(int64_t b, int64_t h, int64_t qb, int64_t piece, int worker) const {
    const int64_t hk = h / (p.q_heads / p.kv_heads);  // GQA: shared key/value head, no copy
    const int64_t i0 = qb * p.bq, rows = std::min(p.bq, p.nq - i0);
    // Under a causal mask tiles past the keys the block's last query sees are skipped entirely
    // (half the work for a square causal problem).
    const int64_t key_end = KeysSeen(i0 + rows - 1, 0, p.nk);
    const int64_t split = piece % p.kv_splits;
    if (rows <= p.few_query_rows) {
      FewQueryTask(b, h, hk, i0, rows, split, key_end, piece, worker);
      return;
    }
    const int64_t rows_pad = RoundUpTo(rows, chunk);
    A* qt = Tile(worker, t.q_off);
    A* kpack = Tile(worker, t.k_off);
    A* vpack = Tile(worker, t.v_off);
    A* st = Tile(worker, t.s_off);
    A* ot = Tile(worker, t.o_off);
    A* m = Tile(worker, t.m_off);
    A* z = Tile(worker, t.z_off);
    if (bf16_dot || amx) {
      PackQPairs(b, h, i0, rows, rows_pad, reinterpret_cast<uint32_t*>(qt), /*chunk_major=*/amx);
    } else {
      PackQt(b, h, i0, rows, rows_pad, qt);
    }
    if (amx) AmxConfigure();
    // AMX scores come unscaled; without a mask to add, the scale joins the softmax's subtraction
    // (one FMA) instead of costing a pass over the tile. It must be positive to commute with max.
    const bool fold_scale = amx && !NeedsMask() && p.scale > 0;
    std::fill(ot, ot + t.dvp * t.ld, A(0));
    std::fill(m, m + rows_pad, -std::numeric_limits<A>::infinity());
    std::fill(z, z + rows_pad, A(0));
    for (int64_t j0 = split * p.bk; j0 < key_end; j0 += p.kv_splits * p.bk) {
      const int64_t cols = std::min(p.bk, key_end - j0);
      if (amx) {
        AmxTile(b, h, hk, i0, rows, j0, cols, reinterpret_cast<const uint32_t*>(qt),
                reinterpret_cast<uint16_t*>(kpack), reinterpret_cast<uint16_t*>(vpack), st, ot, m,
                z, fold_scale);
        continue;
      }
      if (!bf16_dot) {
        SimdTile(b, h, hk, i0, rows, rows_pad, j0, cols, qt, kpack, vpack, st, ot, m, z);
        continue;
      }
      Bf16Tile(b, h, hk, i0, rows, rows_pad, j0, cols, reinterpret_cast<const uint32_t*>(qt),
               reinterpret_cast<uint16_t*>(kpack), reinterpret_cast<uint32_t*>(vpack), st, ot, m,
               z);
    }
    if (amx) AmxRelease();
    FinishPiece(b, h, i0, rows, piece, ot, m, z, amx ? OLayout::kChunkMajor : OLayout::kTransposed);
  }

  // A block of at most p.few_query_rows queries (decoding): each query meets the key and value
  // rows along the head dim (decode_gemv-inl.h), so the work is that of its own rows and not of
  // a whole query chunk, and K and V stream through once per tile. The online softmax runs along
  // the keys with the exact running maximum as reference. The task takes the block's queries of
  // p.head_group heads from h on, which share key/value head hk (GQA): row r is query
  // i0 + r % rows of head h + r / rows, so the shared K and V are read once for all of them. Q rows
  // (times scale) and O rows are row-major in the task's Q^T and O^T tiles; scores in its S^T tile.
  void FewQueryTask(int64_t b, int64_t h, int64_t hk, int64_t i0, int64_t rows, int64_t split,
                    int64_t key_end, int64_t piece, int worker) const {
    A* q = Tile(worker, t.q_off);
    A* o = Tile(worker, t.o_off);
    A* m = Tile(worker, t.m_off);
    A* z = Tile(worker, t.z_off);
    const int64_t all_rows = p.head_group * rows;
    const A scale = static_cast<A>(p.scale);
    for (int64_t r = 0; r < all_rows; ++r) {
      const In* qrow = static_cast<const In*>(p.q) + b * p.qs[0] + (h + r / rows) * p.qs[1] +
                       (i0 + r % rows) * p.qs[2];
      for (int64_t c = 0; c < p.dk; ++c) q[r * p.dk + c] = Widen<A>(qrow[c * p.qs[3]]) * scale;
      if constexpr (kBf16DotCompiled) {
        // The bits of all_rows <= kQueryQuantum rows (attention.cc caps few_query_rows) fit
        // the K tile, 32 x dkp floats at least, unused when K is read in place.
        if (bf16_decode) {
          uint16_t* qbits = reinterpret_cast<uint16_t*>(Tile(worker, t.k_off)) + r * p.dk;
          for (int64_t c = 0; c < p.dk; ++c) qbits[c] = qrow[c * p.qs[3]];
        }
      }
    }
    std::fill(o, o + all_rows * t.dv4, A(0));
    std::fill(m, m + all_rows, -std::numeric_limits<A>::infinity());
    std::fill(z, z + all_rows, A(0));
    // Keys per step: the tile path's bk keeps a chunk's scores in L1 beside Q^T, which one query's
    // row does not need; longer steps run K's and V's streams longer between the softmax passes
    // (packed K and V rows of a strided input keep bk, the size of their buffers).
    const bool in_place = KvInPlace();
    const int64_t step = in_place ? std::max(p.bk, kFewQueryKeys) : p.bk;
    for (int64_t j0 = split * step; j0 < key_end; j0 += p.kv_splits * step) {
      const int64_t cols = std::min(step, key_end - j0);
      if (in_place) {  // rows as stored, bfloat16 widened in registers
        const In* k = static_cast<const In*>(p.k) + b * p.ks[0] + hk * p.ks[1] + j0 * p.ks[2];
        const In* v = static_cast<const In*>(p.v) + b * p.vs[0] + hk * p.vs[1] + j0 * p.vs[2];
        FewQueryTile(b, h, i0, rows, j0, cols, k, p.ks[2], v, p.vs[2], worker);
      } else {
        int64_t ldk, ldv;
        const A* k = KRows(b, hk, j0, cols, Tile(worker, t.k_off), &ldk);
        const A* v = VRows(b, hk, j0, cols, Tile(worker, t.v_off), &ldv);
        FewQueryTile(b, h, i0, rows, j0, cols, k, ldk, v, ldv, worker);
      }
    }
    FinishPiece(b, h, i0, rows, piece, o, m, z, OLayout::kRows);
  }

  // The few-query path reads K and V rows as stored (no packing) where the head dim is contiguous.
  bool KvInPlace() const { return p.ks[3] == 1 && p.vs[3] == 1; }

  // Keys [j0, j0 + cols) for each row of a few-query task: scores, mask, online softmax, P V; rows
  // in groups of kDecodeRows (FewQueryGroup), then the 2 or 3 left as one more group, or the one
  // left alone.
  template <typename T>
  void FewQueryTile(int64_t b, int64_t h, int64_t i0, int64_t rows, int64_t j0, int64_t cols,
                    const T* k, int64_t ldk, const T* v, int64_t ldv, int worker) const {
    A* o = Tile(worker, t.o_off);
    A* m = Tile(worker, t.m_off);
    A* z = Tile(worker, t.z_off);
    A* scores = Tile(worker, t.s_off);
    const int64_t all_rows = p.head_group * rows;
    int64_t g0 = 0;
    for (; g0 + kDecodeRows <= all_rows; g0 += kDecodeRows) {
      FewQueryGroup<kDecodeRows>(b, h, i0, rows, g0, j0, cols, k, ldk, v, ldv, worker);
    }
    if (all_rows - g0 == 3) FewQueryGroup<3>(b, h, i0, rows, g0, j0, cols, k, ldk, v, ldv, worker);
    if (all_rows - g0 == 2) FewQueryGroup<2>(b, h, i0, rows, g0, j0, cols, k, ldk, v, ldv, worker);
    if (all_rows - g0 != 1) return;
    const int64_t i = g0, query = i0 + i % rows;
    const int64_t keys = KeysSeen(query, j0, cols);
    if (keys <= 0) return;
    RowScores(i, k, ldk, keys, scores, worker);
    if (RowSoftmax(b, h + i / rows, query, j0, keys, scores, m + i, z + i, o + i * t.dv4)) {
      RowPv(scores, v, ldv, keys, o + i * t.dv4);
    }
  }

  // Row i of a few-query task: its scores against `keys` key rows (DecodeScores), on VDPBF16PS
  // from Q's own bfloat16 row where bf16_decode.
  template <typename T>
  void RowScores(int64_t i, const T* k, int64_t ldk, int64_t keys, A* s, int worker) const {
    if constexpr (kBf16DotCompiled && std::is_same_v<T, uint16_t>) {
      if (bf16_decode) {
        const auto* qbits = reinterpret_cast<const uint16_t*>(Tile(worker, t.k_off));
        Bf16DecodeScores(qbits + i * p.dk, p.dk, 1, k, ldk, keys, p.dk,
                         static_cast<float>(p.scale), AsFloat(s), 0);
        return;
      }
    }
    DecodeScores(d, Tile(worker, t.q_off) + i * p.dk, k, ldk, keys, p.dk, s);
  }

  // One row's probabilities s times `keys` value rows added to orow (DecodePv), on VDPBF16PS
  // where bf16_decode (s is then rounded to bfloat16 pairs in place).
  template <typename T>
  void RowPv(A* s, const T* v, int64_t ldv, int64_t keys, A* orow) const {
    if constexpr (kBf16DotCompiled && std::is_same_v<T, uint16_t>) {
      if (bf16_decode) {
        Bf16DecodePv(AsFloat(s), 0, 1, keys, v, ldv, p.dv, AsFloat(orow), 0);
        return;
      }
    }
    DecodePv(d, s, v, ldv, keys, p.dv, orow);
  }

  // Rows g0 .. g0 + R - 1 (R <= kDecodeRows) of a few-query task against keys [j0, j0 + cols).
  template <int64_t R, typename T>
  void FewQueryGroup(int64_t b, int64_t h, int64_t i0, int64_t rows, int64_t g0, int64_t j0,
                     int64_t cols, const T* k, int64_t ldk, const T* v, int64_t ldv,
                     int worker) const {
    const A* q = Tile(worker, t.q_off);
    A* o = Tile(worker, t.o_off);
    A* m = Tile(worker, t.m_off);
    A* z = Tile(worker, t.z_off);
    A* scores = Tile(worker, t.s_off);
    const int64_t lds = RoundUpTo(cols, lanes);  // score rows: kDecodeRows of them fit the S^T tile
    // The rows of a group share each key vector's load (DecodeScoresRows) and, where rows_pv, each
    // value vector's too (DecodePvRows); a group runs over the keys its last-seeing row sees, its
    // other rows' scores past their own keys made 0 after the softmax. Groups of 2 and 3 rows (all
    // of 2 and 3 query heads per key/value head, what GQA leaves of 6 and 7) read K once where row
    // by row read it 2 or 3 times.
    // rows_pv: at most two passes over each value row (kPvRowsAcc / R output vectors a pass), and
    // two only over rows of at most kTwoPassRowBytes. Measured (moa bench --nq 1 --heads H
    // --kv-heads 8, one core, EPYC): two passes over 512-byte rows beat the one-row P V (float32
    // d = 128 with 4 rows 1.4x, float64 d = 64 with 4 rows 1.06-1.16x); over 1 KiB rows they
    // lost (float64 d = 128 with 2 rows 0.7-0.75x, float32 d = 256 with 2 rows 0.72-0.8x, with
    // steps of 256 keys as well as 512, so not for want of L2), as did four passes (float64
    // d = 128 with 4 rows, 0.7x).
    const int64_t vectors = RoundUpTo(p.dv, lanes) / lanes;
    const int64_t per_pass = static_cast<int64_t>(kPvRowsAcc) / R;
    const int64_t passes = (vectors + per_pass - 1) / per_pass;
    const bool rows_pv =
        passes == 1 ||
        (passes == 2 && p.dv * static_cast<int64_t>(sizeof(T)) <= kTwoPassRowBytes);
    // Two passes over value rows read in place: they are asked for beside the key rows
    // (row_prefetch.h). Packed rows sit in the task's V tile, in cache already.
    RowPrefetch prefetch;
    if (rows_pv && passes == 2 && KvInPlace()) {
      prefetch = {reinterpret_cast<const char*>(v), ldv * static_cast<int64_t>(sizeof(T)),
                  p.dv * static_cast<int64_t>(sizeof(T))};
    }
    int64_t group_keys = 0;
    for (int64_t i = g0; i < g0 + R; ++i) {
      group_keys = std::max(group_keys, KeysSeen(i0 + i % rows, j0, cols));
    }
    if (group_keys <= 0) return;
    bool scored = false;
    if constexpr (kBf16DotCompiled && std::is_same_v<T, uint16_t>) {
      if (bf16_decode) {
        const auto* qbits = reinterpret_cast<const uint16_t*>(Tile(worker, t.k_off));
        Bf16DecodeScores(qbits + g0 * p.dk, p.dk, R, k, ldk, group_keys, p.dk,
                         static_cast<float>(p.scale), scores, lds, prefetch);
        scored = true;
      }
    }
    if (!scored) {
      DecodeScoresRows<R>(d, q + g0 * p.dk, p.dk, k, ldk, group_keys, p.dk, scores, lds,
                          prefetch);
    }
    for (int64_t x = 0; x < R; ++x) {
      const int64_t i = g0 + x, query = i0 + i % rows;
      const int64_t keys = KeysSeen(query, j0, cols);
      A* s = scores + x * lds;
      const bool live = keys > 0 && RowSoftmax(b, h + i / rows, query, j0, keys, s, m + i, z + i,
                                               o + i * t.dv4);
      if (rows_pv) {
        std::fill(s + (live ? keys : 0), s + group_keys, A(0));
      } else if (live) {
        RowPv(s, v, ldv, keys, o + i * t.dv4);
      }
    }
    if (!rows_pv) return;
    if constexpr (kBf16DotCompiled && std::is_same_v<T, uint16_t>) {
      if (bf16_decode) {
        Bf16DecodePv(AsFloat(scores), lds, R, group_keys, v, ldv, p.dv, AsFloat(o + g0 * t.dv4),
                     t.dv4);
        return;
      }
    }
    DecodePvRows<R>(d, scores, lds, v, ldv, group_keys, p.dv, o + g0 * t.dv4, t.dv4);
  }

  // One score row of the few-query path, keys [j0, j0 + keys) of query `query` of head h, through
  // its mask and the online softmax: s becomes the row's probabilities (times exp(-m)), m and z
  // its running max and sum, and orow is rescaled to the new max. False when every key so far is
  // masked (nothing to add).
  HWY_INLINE bool RowSoftmax(int64_t b, int64_t h, int64_t query, int64_t j0, int64_t keys, A* s,
                             A* m, A* z, A* orow) const {
    const A neg_inf = -std::numeric_limits<A>::infinity();
    if (p.mask != nullptr) MaskTile(b, h, query, 1, j0, keys, s, 1);
    const int64_t keys_pad = RoundUpTo(keys, lanes);
    std::fill(s + keys, s + keys_pad, neg_inf);  // exp gives exactly 0 there
    auto vmax = hn::Set(d, neg_inf);
    for (int64_t j = 0; j < keys_pad; j += lanes) vmax = hn::Max(vmax, hn::Load(d, s + j));
    const A m_new = std::max(*m, hn::GetLane(hn::MaxOfLanes(d, vmax)));
    if (m_new == neg_inf) {
      // Every key masked so far, or NaN scores, which the maximum may drop: then z is NaN, so the
      // row's output and LSE are NaN (NanInputsGiveNanRows), not a fully masked row's 0 and -inf.
      for (int64_t j = 0; j < keys; ++j) {
        if (std::isnan(s[j])) *z = std::numeric_limits<A>::quiet_NaN();
      }
      return false;
    }
    // As OnlineSoftmax: one FMA below kFmaReferenceLimit, else the exact difference first.
    const auto log2e = hn::Set(d, A(kLog2e));
    const auto shift = hn::Set(d, static_cast<A>(pow2_shift));
    const auto ref = hn::Set(d, m_new);
    const auto ref2 = hn::MulAdd(ref, log2e, shift);
    auto sum = hn::Zero(d);
    if (std::abs(m_new) < A(kFmaReferenceLimit)) {
      for (int64_t j = 0; j < keys_pad; j += lanes) {
        const auto e = Pow2(d, hn::MulSub(hn::Load(d, s + j), log2e, ref2));
        hn::Store(e, d, s + j);
        sum = hn::Add(sum, e);
      }
    } else {
      for (int64_t j = 0; j < keys_pad; j += lanes) {
        const auto e = Pow2(d, hn::MulSub(hn::Sub(hn::Load(d, s + j), ref), log2e, shift));
        hn::Store(e, d, s + j);
        sum = hn::Add(sum, e);
      }
    }
    if (m_new != *m) {
      const A alpha = std::exp(*m - m_new);  // 0 while m was -inf
      for (int64_t e = 0; e < p.dv; ++e) orow[e] *= alpha;
      *z *= alpha;
    }
    *z += hn::GetLane(hn::SumOfLanes(d, sum));
    *m = m_new;
    return true;
  }

  // --- split-KV: several pieces per task, their online-softmax states combined afterwards ---

  // One split's state: m and z of bq_pad rows, then their output rows (dv apart). A task has
  // head_group x rows <= bq_pad rows (attention.cc).
  A* SplitState(int64_t piece) const {
    return static_cast<A*>(p.split_state) + piece * t.bq_pad * (p.dv + 2);
  }

  // Query block rows of heads h .. h + head_group - 1, one after the other, to the output: o in
  // the layout of the path that computed it (several heads only in OLayout::kRows).
  void WriteHeads(int64_t b, int64_t h, int64_t i0, int64_t rows, const A* o, const A* m,
                  const A* z, OLayout layout) const {
    for (int64_t g = 0; g < p.head_group; ++g) {
      WriteRows(b, h + g, i0, rows, o + OAt(0, g * rows, layout), m + g * rows, z + g * rows,
                /*write_lse=*/true, layout);
    }
  }

  // The end of a piece: the task's output, or, when keys are split, its (m, z, o) state.
  void FinishPiece(int64_t b, int64_t h, int64_t i0, int64_t rows, int64_t piece, const A* o,
                   const A* m, const A* z, OLayout layout) const {
    if (p.kv_splits == 1) {
      WriteHeads(b, h, i0, rows, o, m, z, layout);
      return;
    }
    const int64_t all_rows = p.head_group * rows;
    A* state = SplitState(piece);
    std::copy(m, m + all_rows, state);
    std::copy(z, z + all_rows, state + t.bq_pad);
    A* orows = state + 2 * t.bq_pad;
    for (int64_t i = 0; i < all_rows; ++i) {
      for (int64_t e = 0; e < p.dv; ++e) orows[i * p.dv + e] = o[OAt(e, i, layout)];
    }
  }

  // The output of query block qb of head (b, h) from its splits' states: the online-softmax
  // states are a monoid (m, z, o) . (m', z', o') = (M, z e^(m - M) + z' e^(m' - M),
  // o e^(m - M) + o' e^(m' - M)) with M = max(m, m'), so the order and grouping of the key ranges
  // do not matter (DESIGN.md). A split that saw no key (z = 0) adds nothing; one whose z is NaN
  // makes the row NaN.
  void CombineSplits(int64_t b, int64_t h, int64_t qb, int64_t task, int worker) const {
    const int64_t i0 = qb * p.bq, rows = std::min(p.bq, p.nq - i0);
    const int64_t all_rows = p.head_group * rows;
    A* o = Tile(worker, t.o_off);
    A* m = Tile(worker, t.m_off);
    A* z = Tile(worker, t.z_off);
    std::fill(o, o + all_rows * t.dv4, A(0));
    for (int64_t i = 0; i < all_rows; ++i) {
      A mx = -std::numeric_limits<A>::infinity(), zsum = 0;
      for (int64_t r = 0; r < p.kv_splits; ++r) {
        const A* state = SplitState(task * p.kv_splits + r);
        if (state[t.bq_pad + i] != 0) mx = std::max(mx, state[i]);
      }
      for (int64_t r = 0; r < p.kv_splits; ++r) {
        const A* state = SplitState(task * p.kv_splits + r);
        if (state[t.bq_pad + i] == 0) continue;
        const A w = std::exp(state[i] - mx);
        zsum += state[t.bq_pad + i] * w;
        const A* orow = state + 2 * t.bq_pad + i * p.dv;
        for (int64_t e = 0; e < p.dv; ++e) o[i * t.dv4 + e] += orow[e] * w;
      }
      m[i] = mx;
      z[i] = zsum;
    }
    WriteHeads(b, h, i0, rows, o, m, z, OLayout::kRows);
  }

  void RunFused() const {
    const int64_t qblocks = RoundUpTo(p.nq, p.bq) / p.bq;
    // A task is query block qb of head_group heads from h = (task % per_batch) / qblocks * group.
    const int64_t group = p.head_group, per_batch = p.q_heads / group * qblocks;
    // Under a causal mask a query block's work grows with its index: the dynamic schedule then
    // hands out the last blocks first (largest first), so that the small ones fill in at the end.
    // In order, 8 blocks on 2 threads finished at 20 block-units of work where 18 suffice.
    auto block_of = [&](int64_t task) {
      return p.causal ? qblocks - 1 - task % qblocks : task % qblocks;
    };
    const int64_t tasks = p.batch * per_batch;
    ParallelFor(tasks * p.kv_splits, p.num_threads, [&](int64_t piece, int worker) {
      const int64_t task = piece / p.kv_splits;
      FusedTask(task / per_batch, (task % per_batch) / qblocks * group, block_of(task), piece,
                worker);
    });
    if (p.kv_splits == 1) return;
    ParallelFor(tasks, p.num_threads, [&](int64_t task, int worker) {
      CombineSplits(task / per_batch, (task % per_batch) / qblocks * group, block_of(task), task,
                    worker);
    });
  }

  // The naive path: for each head, S^T = K (scale q)^T over all nk x nq (GEMM), then a softmax
  // over keys that overwrites S^T with P^T (materialised), then O^T = V^T P^T (GEMM). Each pass is
  // parallel over query blocks and the passes are separated, as in an unfused framework.
  void RunNaive() const {
    const int64_t qblocks = RoundUpTo(p.nq, p.bq) / p.bq;
    A* smat = static_cast<A*>(p.s_matrix);
    const int64_t lds = p.s_stride;
    for (int64_t b = 0; b < p.batch; ++b) {
      for (int64_t h = 0; h < p.q_heads; ++h) {
        const int64_t hk = h / (p.q_heads / p.kv_heads);
        ParallelFor(qblocks, p.num_threads, [&](int64_t qb, int worker) {
          const int64_t i0 = qb * p.bq, rows = std::min(p.bq, p.nq - i0);
          const int64_t rows_pad = RoundUpTo(rows, chunk);
          A* qt = Tile(worker, t.q_off);
          if (bf16_dot || amx) {
            PackQPairs(b, h, i0, rows, rows_pad, reinterpret_cast<uint32_t*>(qt));
          } else {
            PackQt(b, h, i0, rows, rows_pad, qt);
          }
          if (amx) AmxConfigure();
          for (int64_t j0 = 0; j0 < p.nk; j0 += p.bk) {
            const int64_t cols = std::min(p.bk, p.nk - j0);
            if (amx) {
              ScoreTileAmx(b, hk, j0, cols, reinterpret_cast<const uint32_t*>(qt), rows_pad,
                           reinterpret_cast<uint16_t*>(Tile(worker, t.k_off)),
                           smat + j0 * lds + i0, lds, /*apply_scale=*/true);
            } else if (bf16_dot) {
              ScoreTileBf16(b, hk, j0, cols, reinterpret_cast<const uint32_t*>(qt), rows_pad,
                            reinterpret_cast<uint16_t*>(Tile(worker, t.k_off)),
                            smat + j0 * lds + i0, lds);
            } else {
              ScoreTile(b, hk, j0, cols, qt, rows_pad, Tile(worker, t.k_off), smat + j0 * lds + i0,
                        lds);
            }
          }
          if (amx) AmxRelease();
        });
        ParallelFor(qblocks, p.num_threads, [&](int64_t qb, int worker) {
          const int64_t i0 = qb * p.bq, rows = std::min(p.bq, p.nq - i0);
          const int64_t rows_pad = RoundUpTo(rows, chunk);
          A* m = Tile(worker, t.m_off);
          A* z = Tile(worker, t.z_off);
          if (NeedsMask()) {
            MaskTile(b, h, i0, rows, 0, p.nk, smat + i0, lds);
          }
          std::fill(m, m + rows_pad, -std::numeric_limits<A>::infinity());
          OnlineSoftmax(smat + i0, lds, p.nk, rows_pad, m, z, nullptr, 0, /*rescale=*/false);
          // Normalise in place: P^T is materialised as a standard softmax returns it.
          for (int64_t i = 0; i < rows_pad; i += lanes) {
            const auto zv = hn::Load(d, z + i);
            const auto inv = hn::IfThenZeroElse(hn::Eq(zv, hn::Zero(d)), hn::Div(hn::Set(d, A(1)), zv));
            for (int64_t j = 0; j < p.nk; ++j) {
              A* pp = smat + j * lds + i0 + i;
              hn::Store(hn::Mul(hn::Load(d, pp), inv), d, pp);
            }
          }
          if (bf16_dot || amx) Bf16PairRows(AsFloat(smat + i0), lds, p.nk, rows_pad);
          if (p.lse) {
            for (int64_t i = 0; i < rows; ++i) {
              static_cast<A*>(p.lse)[b * p.lse_s[0] + h * p.lse_s[1] + (i0 + i) * p.lse_s[2]] =
                  Lse(m[i], z[i]);
            }
          }
        });
        ParallelFor(qblocks, p.num_threads, [&](int64_t qb, int worker) {
          const int64_t i0 = qb * p.bq, rows = std::min(p.bq, p.nq - i0);
          const int64_t rows_pad = RoundUpTo(rows, chunk);
          A* ot = Tile(worker, t.o_off);
          A* z = Tile(worker, t.z_off);
          std::fill(ot, ot + t.dvp * t.ld, A(0));
          if (amx) AmxConfigure();
          for (int64_t j0 = 0; j0 < p.nk; j0 += p.bk) {
            const int64_t cols = std::min(p.bk, p.nk - j0);
            if (amx) {
              // Pair rows past nk / 2 are zeroed inside the S matrix's 32-row padding.
              PvTileAmx(b, hk, j0, cols, smat + (j0 / 2) * lds + i0, lds, rows_pad,
                        reinterpret_cast<uint16_t*>(Tile(worker, t.v_off)), ot);
            } else if (bf16_dot) {
              // Pair row j0 / 2 holds keys j0 and j0 + 1 (tiles start at multiples of 4).
              PvTileBf16(b, hk, j0, cols, smat + (j0 / 2) * lds + i0, lds, rows_pad,
                         reinterpret_cast<uint32_t*>(Tile(worker, t.v_off)), ot);
            } else {
              PvTile(b, hk, j0, cols, smat + j0 * lds + i0, lds, rows_pad, Tile(worker, t.v_off), ot);
            }
          }
          if (amx) AmxRelease();
          // P^T is already normalised (fully masked queries have P = 0): divide by 1.
          std::fill(z, z + rows, A(1));
          WriteRows(b, h, i0, rows, ot, z, z, /*write_lse=*/false);
        });
      }
    }
  }
};

template <typename In, typename A, typename Out>
void Dispatch(const AttentionProblem& p, bool naive) {
  Kernel<In, A, Out> kernel(p);
  if (naive) {
    kernel.RunNaive();
  } else {
    kernel.RunFused();
  }
}

void RunAttention(const AttentionProblem& p, bool naive) {
  switch (p.in) {
    case DType::kFloat64: Dispatch<double, double, double>(p, naive); break;
    case DType::kFloat32: Dispatch<float, float, float>(p, naive); break;
    case DType::kBFloat16:
      if (p.out == DType::kFloat32) {
        Dispatch<uint16_t, float, float>(p, naive);
      } else {
        Dispatch<uint16_t, float, uint16_t>(p, naive);
      }
      break;
    case DType::kBool: break;  // rejected by the API layer
  }
}

const char* TargetNameOfThisCode() { return hwy::TargetName(HWY_TARGET); }

// Queries per chunk of SimdTile (Kernel::chunk) for accumulators of `acc_bytes` bytes.
int64_t ChunkQueriesOfThisCode(int64_t acc_bytes) { return ChunkQueries(acc_bytes); }

}  // namespace HWY_NAMESPACE
}  // namespace moa::internal
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace moa::internal {

HWY_EXPORT(RunAttention);
HWY_EXPORT(TargetNameOfThisCode);
HWY_EXPORT(ChunkQueriesOfThisCode);

const char* AttentionTargetName() { return HWY_DYNAMIC_DISPATCH(TargetNameOfThisCode)(); }

int64_t FusedChunkQueries(DType acc) {
  return HWY_DYNAMIC_DISPATCH(ChunkQueriesOfThisCode)(acc == DType::kFloat64 ? 8 : 4);
}

int64_t FusedLoopChunk(DType dtype) {
  if (dtype != DType::kBFloat16) return FusedChunkQueries(dtype);
  // As Kernel chooses its bfloat16 path (default kBf16Auto): only AVX-512 targets (64-query
  // chunks) compile the AMX kernels.
  const int64_t f32_chunk = FusedChunkQueries(DType::kFloat32);
  return f32_chunk == 64 && AmxAvailable() ? kAmxChunk : f32_chunk;
}

void RunFusedAttention(const AttentionProblem& p) { HWY_DYNAMIC_DISPATCH(RunAttention)(p, false); }
void RunNaiveAttention(const AttentionProblem& p) { HWY_DYNAMIC_DISPATCH(RunAttention)(p, true); }

}  // namespace moa::internal

namespace moa {

void SetAttentionKernelTarget(const std::string& target) {
  // Highway numbers targets best first (a lower bit is a better target): disabling every bit
  // below one leaves it the best, where the CPU runs it.
  const int64_t chosen = target == "avx3"       ? int64_t{HWY_AVX3}
                         : target == "avx2"     ? int64_t{HWY_AVX2}
                         : target == "portable" ? (hwy::SupportedTargets() & HWY_EMU128 ? HWY_EMU128
                                                                                       : HWY_SCALAR)
                         : target == "auto"     ? 0
                                                : -1;
  UserCheck(chosen >= 0, "moa::SetAttentionKernelTarget: argument 'target': expected auto, avx3, "
            "avx2 or portable, got '", target, "'");
  hwy::DisableTargets(0);
  UserCheck(chosen == 0 || (hwy::SupportedTargets() & chosen) != 0,
            "moa::SetAttentionKernelTarget: argument 'target': this CPU cannot run '", target, "'");
  if (chosen != 0) hwy::DisableTargets(chosen - 1);
}

}  // namespace moa
#endif  // HWY_ONCE
