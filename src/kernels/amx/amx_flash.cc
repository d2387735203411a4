// moa — runtime attention (stage: kernels): the pipelined AMX key-tile step (see amx_flash.h).
//
// Why interleave by hand: a TDPBF16PS occupies the tile unit for 16 cycles or more but only a few
// instruction slots, so a run of them followed by a run of vector code keeps one unit busy at a
// time (the reorder window fills with vector work waiting behind the oldest TDPBF16PS). Issuing one
// TDPBF16PS, then one slice of the softmax, then the next TDPBF16PS, lets both progress together.
// Measured on a stand-alone copy of the chunk loop (score, softmax, P.V of 32 queries x 128 keys,
// d = 128): 0.75-0.9x the time of the same work done in turn. Three chunks are in flight (three
// S^T / P^T buffers), so the exp pass of a chunk can be spread over both GEMMs.
#include "kernels/amx/amx_flash.h"

// The namespace of this copy (see amx_bf16.cc).
#ifndef MOA_AMX_IMPL
#define MOA_AMX_IMPL amx_hardware
#endif

#if defined(__x86_64__) && defined(__linux__) && !defined(MOA_NO_AMX)
#include "kernels/amx/amx_tile_ops.h"

#include "kernels/cpu/bf16_dot.h"
#include "kernels/pow2_poly.h"

#if defined(__clang__)  // clang has no GCC target pragma (the fuzz preset builds with clang)
#pragma clang attribute push(__attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16")
#endif
// GCC 12's unmasked AVX-512 intrinsics pass _mm512_undefined_ps() (`__m512 __Y = __Y;`) as the
// masked-off source, which sanitizer builds report as maybe-uninitialized: a false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// The GCC 12 tile intrinsics are asm statements that do not name the memory they read or write;
// a compiler barrier keeps the vector loads and stores of the same buffers on their side.
#define MOA_AMX_BARRIER() __asm__ volatile("" ::: "memory")

namespace moa::internal::MOA_AMX_IMPL {
namespace {

constexpr float kLog2e = 1.44269504088896340736f;
constexpr int64_t kMaxRowsPerUnit = 4;  // S^T rows per slice of the row-maximum pass

// 2^t as the Highway path's Pow2: t = n + r, the shared polynomial for 2^r, VSCALEF for 2^n.
inline __m512 Pow2(__m512 t) {
  t = _mm512_max_ps(_mm512_set1_ps(kPow2MinScalefF32), t);  // NaN stays NaN (second operand)
  const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 r = _mm512_sub_ps(t, n);
  __m512 poly = _mm512_set1_ps(kPow2PolyF32[0]);
  for (int c = 1; c < 6; ++c) poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(kPow2PolyF32[c]));
  return _mm512_scalef_ps(poly, n);
}

// Softmax references (natural-log units) below which the exponent is one FMA, as the Highway
// path's kFmaReferenceLimit: past it the rounding of reference x log2(e) grows with the
// magnitude, and the exponent is formed from the exact difference (scale x - reference) instead.
constexpr float kFmaReferenceLimit = 32768.0f;

// One chunk's softmax reference, from its row-maximum pass to its exp pass.
struct ChunkReference {
  __m512 ref2[2];       // the reference times log2(e) plus the shift, per 16-query vector
  __m512 reference[2];  // the reference itself
  bool fma[2];          // every reference of the vector below kFmaReferenceLimit
  __m512 alpha[2];      // e^(m_old - reference): the factor z and O^T took (1 where not moved)
};

// The exp pass of one chunk: pair row r of P^T (keys 2r, 2r + 1 of every query, rounded to
// bfloat16, in one 32-bit lane) written over row r of S^T, which rows 2r and 2r + 1 no longer
// need; rows past `keys` give 0. A unit is one pair row.
struct ExpPass {
  float* s;
  int64_t keys;
  __m512 scale;
  __m512 scale2;  // scale * log2(e)
  __m512 shift;   // AmxFlashTile::pow2_shift
  ChunkReference ref;
  __m512 sum[2];
  int64_t next = 0;

  void Unit() {
    // Lane 2i of the result takes bfloat16 lane i of e0, lane 2i + 1 lane i of e1.
    const __m512i interleave = _mm512_loadu_si512(kPairInterleave);
    const int64_t r = next++, j = 2 * r;
    const __m512 log2e = _mm512_set1_ps(kLog2e);
    for (int v = 0; v < 2; ++v) {
      auto exponent = [&](const float* x) {
        return ref.fma[v] ? _mm512_fmsub_ps(_mm512_load_ps(x), scale2, ref.ref2[v])
                          : _mm512_fmsub_ps(_mm512_sub_ps(_mm512_mul_ps(_mm512_load_ps(x), scale),
                                                          ref.reference[v]),
                                            log2e, shift);
      };
      const __m512 e0 =
          j < keys ? Pow2(exponent(s + j * kAmxChunk + 16 * v)) : _mm512_setzero_ps();
      const __m512 e1 =
          j + 1 < keys ? Pow2(exponent(s + (j + 1) * kAmxChunk + 16 * v)) : _mm512_setzero_ps();
      sum[v] = _mm512_add_ps(sum[v], _mm512_add_ps(e0, e1));
      const __m512i pairs = _mm512_permutexvar_epi16(
          interleave, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(e1, e0)));
      _mm512_store_si512(s + r * kAmxChunk + 16 * v, pairs);
    }
  }
};

// The row-maximum pass of one chunk's raw scores; a unit is up to kMaxRowsPerUnit rows.
struct MaxPass {
  const float* s;
  int64_t keys;
  __m512 raw[2];
  int64_t next = 0;

  void Unit() {
    const int64_t end = next + kMaxRowsPerUnit < keys ? next + kMaxRowsPerUnit : keys;
    for (; next < end; ++next) {
      raw[0] = _mm512_max_ps(raw[0], _mm512_load_ps(s + next * kAmxChunk));
      raw[1] = _mm512_max_ps(raw[1], _mm512_load_ps(s + next * kAmxChunk + 16));
    }
  }
};

// Spreads `units` of a pass evenly over the TDPBF16PS of a GEMM: called after each one.
template <class Pass>
struct Interleave {
  Pass& pass;
  int64_t units;
  int64_t per_call;

  Interleave(Pass& p, int64_t total_units, int64_t calls)
      : pass(p), units(total_units), per_call(calls > 0 ? (total_units + calls - 1) / calls : 0) {}
  void operator()() {
    for (int64_t u = 0; u < per_call && units > 0; ++u, --units) pass.Unit();
  }
  void Finish() {
    for (; units > 0; --units) pass.Unit();
  }
};

// Tiles 0-3 (a 32 x 32 float32 block, 2 x 2 tiles) += A B for one 32-element step of the reduction:
// A as two 16-row tiles at a0 and a1 (bytes sa apart per row), B as two 16-lane tiles at b and
// b + 16 lanes (bytes sb apart per pair row), with work() after each TDPBF16PS. The loads sit
// between the products so they overlap them.
template <class Work>
inline void Step2x2(const void* a0, const void* a1, long sa, const uint32_t* b, long sb,
                    Work& work) {
  _tile_loadd(4, a0, sa);
  _tile_loadd(6, b, sb);
  _tile_dpbf16ps(0, 4, 6);
  work();
  _tile_loadd(7, b + 16, sb);
  _tile_dpbf16ps(1, 4, 7);
  work();
  _tile_loadd(5, a1, sa);
  _tile_dpbf16ps(2, 5, 6);
  work();
  _tile_dpbf16ps(3, 5, 7);
  work();
}

// Tiles 0-3 to (load) or from (store) the 32 x 32 block at rows r, r + 16 of a chunk-major buffer
// (32 floats per row).
inline void LoadBlock(const float* x, int64_t r) {
  const long s32 = kAmxChunk * 4;
  _tile_loadd(0, x + r * kAmxChunk, s32);
  _tile_loadd(1, x + r * kAmxChunk + 16, s32);
  _tile_loadd(2, x + (r + 16) * kAmxChunk, s32);
  _tile_loadd(3, x + (r + 16) * kAmxChunk + 16, s32);
}
inline void StoreBlock(float* x, int64_t r) {
  const long s32 = kAmxChunk * 4;
  _tile_stored(0, x + r * kAmxChunk, s32);
  _tile_stored(1, x + r * kAmxChunk + 16, s32);
  _tile_stored(2, x + (r + 16) * kAmxChunk, s32);
  _tile_stored(3, x + (r + 16) * kAmxChunk + 16, s32);
}

// S^T of one chunk (keys32 x 32, rows 128 bytes apart) = K Q_c^T.
template <class Work>
inline void ScoreChunk(const AmxFlashTile& a, int64_t keys32, const uint32_t* q, float* s,
                       Work& work) {
  for (int64_t j = 0; j < keys32; j += 32) {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (int64_t c = 0; c < a.dkp; c += 32) {
      Step2x2(a.k + j * a.ldk + c, a.k + (j + 16) * a.ldk + c, a.ldk * 2, q + c / 2 * kAmxChunk,
              kAmxChunk * 4, work);
    }
    StoreBlock(s, j);
  }
}

// O^T of one chunk (dvp x 32) += V^T P_c^T.
template <class Work>
inline void PvChunk(const AmxFlashTile& a, int64_t keys32, const uint32_t* p, float* o,
                    Work& work) {
  for (int64_t e = 0; e < a.dvp; e += 32) {
    LoadBlock(o, e);
    for (int64_t j = 0; j < keys32; j += 32) {
      Step2x2(a.vt + e * a.ldv + j, a.vt + (e + 16) * a.ldv + j, a.ldv * 2, p + j / 2 * kAmxChunk,
              kAmxChunk * 4, work);
    }
    StoreBlock(o, e);
  }
}

// After chunk c's row maxima: m' = max(m, scale max_j S), kept at m while no query's maximum rose
// by more than the slack (then z and O^T need no rescaling); otherwise O^T_c is scaled by
// e^(m - m') here and z after the exp pass. A query with m = -inf uses 0 as its reference.
inline ChunkReference MoveReference(const AmxFlashTile& a, int64_t c, const __m512 raw[2]) {
  const __m512 scale = _mm512_set1_ps(a.scale), log2e = _mm512_set1_ps(kLog2e);
  const __m512 neg_inf = _mm512_set1_ps(-__builtin_inff());
  ChunkReference ref;
  for (int v = 0; v < 2; ++v) {
    float* m = a.m + c * kAmxChunk + 16 * v;
    const __m512 m_old = _mm512_load_ps(m);
    __m512 mx = _mm512_max_ps(m_old, _mm512_mul_ps(raw[v], scale));
    const __mmask16 within = _mm512_cmp_ps_mask(
        mx, _mm512_add_ps(m_old, _mm512_set1_ps(a.rescale_slack)), _CMP_LE_OQ);
    const bool moved = within != 0xffff;
    if (!moved) mx = m_old;
    const __m512 reference =
        _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(mx, neg_inf, _CMP_NEQ_UQ), mx);
    ref.reference[v] = reference;
    ref.ref2[v] = _mm512_fmadd_ps(reference, log2e, _mm512_set1_ps(a.pow2_shift));
    ref.fma[v] = _mm512_cmp_ps_mask(_mm512_abs_ps(reference), _mm512_set1_ps(kFmaReferenceLimit),
                                    _CMP_LT_OQ) == 0xffff;
    ref.alpha[v] = _mm512_set1_ps(1.0f);
    if (moved) {
      ref.alpha[v] = Pow2(_mm512_mul_ps(_mm512_sub_ps(m_old, reference), log2e));
      float* o = a.ot + c * a.dvp * kAmxChunk + 16 * v;
      for (int64_t e = 0; e < a.dvp; ++e) {
        _mm512_store_ps(o + e * kAmxChunk,
                        _mm512_mul_ps(_mm512_load_ps(o + e * kAmxChunk), ref.alpha[v]));
      }
    }
    _mm512_store_ps(m, mx);
  }
  return ref;
}

}  // namespace

void AmxFlashKeyTile(const AmxFlashTile& a) {
  const int64_t keys32 = (a.keys + 31) / 32 * 32;
  const int64_t score_tdps = keys32 / 32 * (a.dkp / 32) * 4;
  const int64_t pv_tdps = a.dvp / 32 * (keys32 / 32) * 4;
  // The exp pass of a chunk is split between the two GEMMs in proportion to their TDPBF16PS.
  const int64_t exp_units = keys32 / 2;
  const int64_t exp_with_score = exp_units * score_tdps / (score_tdps + pv_tdps);
  const int64_t max_units = (a.keys + kMaxRowsPerUnit - 1) / kMaxRowsPerUnit;
  const __m512 neg_inf = _mm512_set1_ps(-__builtin_inff());
  auto buffer = [&](int64_t chunk) { return a.scratch + chunk % 3 * keys32 * kAmxChunk; };
  ChunkReference pending{};  // chunk c - 1's reference, from its max pass to its exp pass
  MOA_AMX_BARRIER();
  // Step c: scores of chunk c, exp of chunk c - 1, P.V of chunk c - 2, row maxima of chunk c.
  for (int64_t c = 0; c <= a.chunks + 1; ++c) {
    const bool score = c < a.chunks, exp = c >= 1 && c <= a.chunks, pv = c >= 2;
    ExpPass exp_pass{exp ? buffer(c - 1) : nullptr,
                     a.keys,
                     _mm512_set1_ps(a.scale),
                     _mm512_set1_ps(a.scale * kLog2e),
                     _mm512_set1_ps(a.pow2_shift),
                     pending,
                     {_mm512_setzero_ps(), _mm512_setzero_ps()}};
    Interleave<ExpPass> exp_first(exp_pass, exp ? exp_with_score : 0, score_tdps);
    if (score) ScoreChunk(a, keys32, a.qpairs + c * (a.dkp / 2) * kAmxChunk, buffer(c), exp_first);
    exp_first.Finish();
    MOA_AMX_BARRIER();
    Interleave<ExpPass> exp_rest(exp_pass, exp ? exp_units - exp_with_score : 0, pv_tdps);
    MaxPass max_pass{score ? buffer(c) : nullptr, a.keys, {neg_inf, neg_inf}};
    Interleave<MaxPass> max_work(max_pass, score ? max_units : 0, pv_tdps);
    auto work = [&] {
      exp_rest();
      max_work();
    };
    if (pv) {
      PvChunk(a, keys32, reinterpret_cast<const uint32_t*>(buffer(c - 2)),
              a.ot + (c - 2) * a.dvp * kAmxChunk, work);
    }
    exp_rest.Finish();
    max_work.Finish();
    if (exp) {
      for (int v = 0; v < 2; ++v) {
        float* z = a.z + (c - 1) * kAmxChunk + 16 * v;
        _mm512_store_ps(z, _mm512_fmadd_ps(_mm512_load_ps(z), pending.alpha[v], exp_pass.sum[v]));
      }
    }
    if (score) pending = MoveReference(a, c, max_pass.raw);
    MOA_AMX_BARRIER();
  }
}

}  // namespace moa::internal::MOA_AMX_IMPL

#pragma GCC diagnostic pop
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else  // no AMX on this platform or build: never available, never called.

namespace moa::internal::MOA_AMX_IMPL {
void AmxFlashKeyTile(const AmxFlashTile&) {}
}  // namespace moa::internal::MOA_AMX_IMPL

#endif
