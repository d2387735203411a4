// moa — runtime attention (stage: kernels, CPU SIMD through Google Highway): the GEMV
// micro-kernels of the few-query path (decoding), one Highway target at a time.
// In: one query row and K rows (scores), or one row of probabilities and V rows (P V), the head
// dim along the vector lanes. Out: one row of scores, or one output row accumulated in place.
//
// Why a second orientation: the tile kernels (simd_gemm-inl.h) put queries along the lanes, so a
// block of one query computes a whole chunk of them (64 float32 lanes on AVX-512) to keep one;
// decoding one token then costs what 64 would. Here each key row meets one query along its own
// length, so the work is 4 nq nk d flops whatever the chunk, and K and V stream through once.
//
// K and V are read in their element type T: the accumulator type A itself, or bfloat16 bits
// (uint16_t) widened to float32 in registers, so bfloat16 rows need no packing pass.
//
// Included by kernels/cpu/attention_hwy.cc after hwy/foreach_target.h: the guard below lets it
// be included once per target.
#if defined(MOA_KERNELS_CPU_DECODE_GEMV_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MOA_KERNELS_CPU_DECODE_GEMV_INL_H_
#undef MOA_KERNELS_CPU_DECODE_GEMV_INL_H_
#else
#define MOA_KERNELS_CPU_DECODE_GEMV_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "hwy/highway.h"
#include "kernels/cpu/row_prefetch.h"
#include "moa/attention.h"

HWY_BEFORE_NAMESPACE();
namespace moa::internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// A vector of A from Lanes(d) consecutive elements of type T (A, or bfloat16 bits for float32).
template <class D, typename T>
HWY_INLINE hn::Vec<D> LoadWide(D d, const T* HWY_RESTRICT x) {
  using A = hn::TFromD<D>;
  if constexpr (std::is_same_v<T, A>) {
    return hn::LoadU(d, x);
  } else {
    static_assert(std::is_same_v<T, uint16_t> && std::is_same_v<A, float>, "bfloat16 to float32");
    const hn::RebindToUnsigned<D> du;
    const hn::Rebind<uint16_t, D> d16;
    return hn::BitCast(d, hn::ShiftLeft<16>(hn::PromoteTo(du, hn::LoadU(d16, x))));
  }
}

// One element of the head-dim tails, as LoadWide widens a vector.
template <typename A, typename T>
HWY_INLINE A WidenOne(T x) {
  if constexpr (std::is_same_v<T, A>) {
    return x;
  } else {
    return FloatFromBFloat16(x);
  }
}

#if HWY_TARGET != HWY_SCALAR
// The 128-bit blocks of v added together: one 128-bit vector.
template <class D>
HWY_INLINE auto FoldBlocks(D d, hn::Vec<D> v) {
  if constexpr (hn::MaxLanes(D()) * sizeof(hn::TFromD<D>) > 16) {
    const hn::Half<D> dh;
    return FoldBlocks(dh, hn::Add(hn::LowerHalf(dh, v), hn::UpperHalf(dh, v)));
  } else {
    (void)d;
    return v;
  }
}
#endif

// out[0..3] = the sums of the lanes of a, b, c and e. Interleaved adds first put partial sums of
// the four side by side within each 128-bit block, so the blocks are folded once for all four:
// about the shuffles of one SumOfLanes for four sums.
template <class D, class V = hn::Vec<D>, typename A = hn::TFromD<D>>
HWY_INLINE void SumsOfLanes4(D d, V a, V b, V c, V e, A* HWY_RESTRICT out) {
#if HWY_TARGET == HWY_SCALAR
  (void)d;
  out[0] = hn::GetLane(a), out[1] = hn::GetLane(b);
  out[2] = hn::GetLane(c), out[3] = hn::GetLane(e);
#else
  const hn::Full128<A> d128;
  // Per block: float32 (a0+a2, b0+b2, a1+a3, b1+b3); float64 (a0+a1, b0+b1).
  const V ab = hn::Add(hn::InterleaveLower(d, a, b), hn::InterleaveUpper(d, a, b));
  const V ce = hn::Add(hn::InterleaveLower(d, c, e), hn::InterleaveUpper(d, c, e));
  if constexpr (sizeof(A) == 4) {
    const hn::Repartition<uint64_t, D> dw;  // pairs of float32 as one lane
    const auto lo = hn::InterleaveLower(dw, hn::BitCast(dw, ab), hn::BitCast(dw, ce));
    const auto hi = hn::InterleaveUpper(dw, hn::BitCast(dw, ab), hn::BitCast(dw, ce));
    hn::StoreU(FoldBlocks(d, hn::Add(hn::BitCast(d, lo), hn::BitCast(d, hi))), d128, out);
  } else {
    hn::StoreU(FoldBlocks(d, ab), d128, out);
    hn::StoreU(FoldBlocks(d, ce), d128, out + 2);
  }
#endif
}

// The dot product of q and one key row r along the head dim, lane by lane, over its whole vectors
// (vector_end = dk rounded down to the lanes; the caller adds the tail). Two accumulators halve
// the FMA chain.
template <class D, typename T, typename A = hn::TFromD<D>>
HWY_INLINE hn::Vec<D> RowDot(D d, const A* HWY_RESTRICT q, const T* HWY_RESTRICT r,
                             int64_t vector_end) {
  const int64_t n = static_cast<int64_t>(hn::Lanes(d));
  hn::Vec<D> acc0 = hn::Zero(d), acc1 = hn::Zero(d);
  int64_t c = 0;
  for (; c + 2 * n <= vector_end; c += 2 * n) {
    acc0 = hn::MulAdd(hn::LoadU(d, q + c), LoadWide(d, r + c), acc0);
    acc1 = hn::MulAdd(hn::LoadU(d, q + c + n), LoadWide(d, r + c + n), acc1);
  }
  if (c < vector_end) acc0 = hn::MulAdd(hn::LoadU(d, q + c), LoadWide(d, r + c), acc0);
  return hn::Add(acc0, acc1);
}

// s[j] = sum_c q[c] * k[j][c] for j < keys, key rows ldk elements apart, as stored (no K^T).
// On AVX-512, four key rows at a time, each read whole, one after the other in address order, and
// one SumsOfLanes4 ends the four dot products: one reduction of 16 lanes per key row cost as many
// shuffles as the row's FMAs, and float32 at d = 128 decoded 1.2-1.4x as fast from L3 (level at
// d = 64 and from memory; one query per head, 8 heads of 1024 to 65536 keys, one core). On AVX2,
// whose reduction of 8 lanes is shorter, it ran 0.83-0.97x, so there each key row ends in its own
// SumOfLanes. Reading four rows side by side instead (sharing each q vector) made
// the hardware prefetchers fall behind: the float32 d = 128 decode read K from memory at 10 GB/s
// where this order reads 23 (one core, 8 heads of 65536 keys). Out of line, as DecodePv: inlined
// into the few-query task beside the group kernels, the one-row path read K and V from L3 and
// memory at 0.7-0.9x (float32 d = 128, one query per head, 4 to 16 heads of 4096 keys, one core)
// with the same inner loops instruction for instruction; out of line it is level with the
// one-row path of before them (README, decoding). Why is not understood.
template <class D, typename T, typename A = hn::TFromD<D>>
HWY_NOINLINE void DecodeScores(D d, const A* HWY_RESTRICT q, const T* HWY_RESTRICT k, int64_t ldk,
                               int64_t keys, int64_t dk, A* HWY_RESTRICT s) {
  const int64_t n = static_cast<int64_t>(hn::Lanes(d));
  const int64_t vector_end = dk / n * n;
  const auto tail = [&](const T* r, A sum) {
    for (int64_t c = vector_end; c < dk; ++c) sum += q[c] * WidenOne<A>(r[c]);
    return sum;
  };
  int64_t j = 0;
#if HWY_TARGET <= HWY_AVX3
  for (; j + 4 <= keys; j += 4) {
    const T* r = k + j * ldk;
    const auto a0 = RowDot(d, q, r, vector_end), a1 = RowDot(d, q, r + ldk, vector_end);
    const auto a2 = RowDot(d, q, r + 2 * ldk, vector_end);
    const auto a3 = RowDot(d, q, r + 3 * ldk, vector_end);
    HWY_ALIGN A sums[4];
    SumsOfLanes4(d, a0, a1, a2, a3, sums);
    for (int64_t x = 0; x < 4; ++x) s[j + x] = tail(r + x * ldk, sums[x]);
  }
#endif
  for (; j < keys; ++j) {
    const T* r = k + j * ldk;
    s[j] = tail(r, hn::GetLane(hn::SumOfLanes(d, RowDot(d, q, r, vector_end))));
  }
}

// DecodeScores for R <= 4 query rows (ldq apart) at once, into R score rows (lds apart): each
// key vector, loaded once, meets the R queries, and one SumsOfLanes4 ends the R dots. Key rows are
// still read one at a time, front to back (see DecodeScores): two rows per step (8 accumulators,
// 0.75 loads per FMA instead of 1.25) ran grouped GQA decoding at d = 128 0.7x as fast. With each
// key row j, `prefetch` asks for value row j (row_prefetch.h).
template <size_t R, class D, typename T, typename A = hn::TFromD<D>>
HWY_INLINE void DecodeScoresRows(D d, const A* HWY_RESTRICT q, int64_t ldq,
                                 const T* HWY_RESTRICT k, int64_t ldk, int64_t keys, int64_t dk,
                                 A* HWY_RESTRICT s, int64_t lds, const RowPrefetch& prefetch) {
  static_assert(R >= 1 && R <= 4, "DecodeScoresRows: 1 to 4 rows");
  using V = hn::Vec<D>;
  const int64_t n = static_cast<int64_t>(hn::Lanes(d));
  const int64_t vector_end = dk / n * n;
  for (int64_t j = 0; j < keys; ++j) {
    const T* r = k + j * ldk;
    prefetch(j);
    V acc[4] = {hn::Zero(d), hn::Zero(d), hn::Zero(d), hn::Zero(d)};
    for (int64_t c = 0; c < vector_end; c += n) {
      const V kv = LoadWide(d, r + c);
      for (size_t x = 0; x < R; ++x) {
        acc[x] = hn::MulAdd(hn::LoadU(d, q + x * ldq + c), kv, acc[x]);
      }
    }
    HWY_ALIGN A sums[4];
    SumsOfLanes4(d, acc[0], acc[1], acc[2], acc[3], sums);
    for (int64_t c = vector_end; c < dk; ++c) {
      const A kc = WidenOne<A>(r[c]);
      for (size_t x = 0; x < R; ++x) sums[x] += q[x * ldq + c] * kc;
    }
    for (size_t x = 0; x < R; ++x) s[x * lds + j] = sums[x];
  }
}

// o[r * ldo + e, ... + NV lanes) += sum_j p[r * ldp + j] * v[j][e, ...) for R probability rows
// into R output rows: each value vector, loaded once, meets the R rows; R x NV accumulators in
// registers over all keys.
template <size_t R, size_t NV, class D, typename T, typename A = hn::TFromD<D>>
HWY_INLINE void DecodePvRowsBlock(D d, const A* HWY_RESTRICT p, int64_t ldp,
                                  const T* HWY_RESTRICT v, int64_t ldv, int64_t keys,
                                  A* HWY_RESTRICT o, int64_t ldo) {
  const size_t n = hn::Lanes(d);
  hn::Vec<D> acc[R][NV];
  for (size_t r = 0; r < R; ++r)
    for (size_t x = 0; x < NV; ++x) acc[r][x] = hn::LoadU(d, o + r * ldo + x * n);
  for (int64_t j = 0; j < keys; ++j) {
    hn::Vec<D> pj[R];
    for (size_t r = 0; r < R; ++r) pj[r] = hn::Set(d, p[r * ldp + j]);
    for (size_t x = 0; x < NV; ++x) {
      const auto vx = LoadWide(d, v + j * ldv + x * n);
      for (size_t r = 0; r < R; ++r) acc[r][x] = hn::MulAdd(pj[r], vx, acc[r][x]);
    }
  }
  for (size_t r = 0; r < R; ++r)
    for (size_t x = 0; x < NV; ++x) hn::StoreU(acc[r][x], d, o + r * ldo + x * n);
}

// Accumulators of the R-row P V (FewQueryGroup): 16 of AVX-512's 32 registers, 8 of AVX2's 16.
#if HWY_TARGET <= HWY_AVX3
constexpr size_t kPvRowsAcc = 16;
#else
constexpr size_t kPvRowsAcc = 8;
#endif

// o[r * ldo + e] += sum_j p[r * ldp + j] * v[j][e] for R rows and e < dv, value rows ldv elements
// apart: passes of NV output vectors over the value rows, then one pass over the remaining whole
// vectors, then the scalar tail. The remainder's block sizes are spelled out: reached through a
// recursive template instead, the one-row 8-vector block ran 0.75-0.85x as fast.
template <size_t R, size_t NV = kPvRowsAcc / R, class D, typename T, typename A = hn::TFromD<D>>
HWY_INLINE void DecodePvRows(D d, const A* HWY_RESTRICT p, int64_t ldp, const T* HWY_RESTRICT v,
                             int64_t ldv, int64_t keys, int64_t dv, A* HWY_RESTRICT o,
                             int64_t ldo) {
  static_assert(NV >= 1 && NV <= 8, "DecodePvRows: 1 to 8 vectors per row and pass");
  const int64_t n = static_cast<int64_t>(hn::Lanes(d));
  int64_t e = 0;
  for (; e + static_cast<int64_t>(NV) * n <= dv; e += NV * n) {
    DecodePvRowsBlock<R, NV>(d, p, ldp, v + e, ldv, keys, o + e, ldo);
  }
  const T* ve = v + e;
  A* oe = o + e;
  switch ((dv - e) / n) {  // fewer than NV vectors left
    case 7: if constexpr (NV > 7) DecodePvRowsBlock<R, 7>(d, p, ldp, ve, ldv, keys, oe, ldo); break;
    case 6: if constexpr (NV > 6) DecodePvRowsBlock<R, 6>(d, p, ldp, ve, ldv, keys, oe, ldo); break;
    case 5: if constexpr (NV > 5) DecodePvRowsBlock<R, 5>(d, p, ldp, ve, ldv, keys, oe, ldo); break;
    case 4: if constexpr (NV > 4) DecodePvRowsBlock<R, 4>(d, p, ldp, ve, ldv, keys, oe, ldo); break;
    case 3: if constexpr (NV > 3) DecodePvRowsBlock<R, 3>(d, p, ldp, ve, ldv, keys, oe, ldo); break;
    case 2: if constexpr (NV > 2) DecodePvRowsBlock<R, 2>(d, p, ldp, ve, ldv, keys, oe, ldo); break;
    case 1: if constexpr (NV > 1) DecodePvRowsBlock<R, 1>(d, p, ldp, ve, ldv, keys, oe, ldo); break;
    default: break;
  }
  e += (dv - e) / n * n;
  for (; e < dv; ++e) {
    for (size_t r = 0; r < R; ++r) {
      A sum = o[r * ldo + e];
      for (int64_t j = 0; j < keys; ++j) sum += p[r * ldp + j] * WidenOne<A>(v[j * ldv + e]);
      o[r * ldo + e] = sum;
    }
  }
}

// o[e] += sum_j p[j] * v[j][e] for e < dv, one row. Up to 8 output vectors (16 on AVX-512, which
// has 32 registers) take one pass over the value rows: in passes of half a row each (float32
// d = 128 in two passes of 4 vectors, float64 d = 128 in two of 8), the decode read V from memory
// at half the rate of one pass. Out of line: see DecodeScores.
template <class D, typename T, typename A = hn::TFromD<D>>
HWY_NOINLINE void DecodePv(D d, const A* HWY_RESTRICT p, const T* HWY_RESTRICT v, int64_t ldv,
                           int64_t keys, int64_t dv, A* HWY_RESTRICT o) {
  int64_t e = 0;
#if HWY_TARGET <= HWY_AVX3
  const int64_t n = static_cast<int64_t>(hn::Lanes(d));
  for (; e + 16 * n <= dv; e += 16 * n) {
    DecodePvRowsBlock<1, 16>(d, p, 0, v + e, ldv, keys, o + e, 0);
  }
#endif
  DecodePvRows<1, 8>(d, p, 0, v + e, ldv, keys, dv - e, o + e, 0);
}

}  // namespace HWY_NAMESPACE
}  // namespace moa::internal
HWY_AFTER_NAMESPACE();

#endif  // MOA_KERNELS_CPU_DECODE_GEMV_INL_H_
