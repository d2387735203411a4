// moa — runtime attention (stage: kernels): AMX bfloat16 tile kernels (see amx_bf16.h).
//
// Register plan (8 tiles): C00 C01 C10 C11 accumulate a 32 x 32 block of float32 results (tiles 0-3),
// A0 A1 hold 16 rows x 32 bfloat16 of the left operand (tiles 4-5), B0 B1 hold 16 pair rows x 16
// lanes of the right operand (tiles 6-7). Each step does 4 TDPBF16PS of 16 x 16 x 32 products.
#include "kernels/amx/amx_bf16.h"

// The namespace of this copy: amx_hardware, or amx_emulated when amx_bf16_emulated.cc includes
// this file on the scalar model of the tile unit (amx_tile_ops.h); amx_dispatch.cc chooses.
#ifndef MOA_AMX_IMPL
#define MOA_AMX_IMPL amx_hardware
#endif

#if defined(__x86_64__) && defined(__linux__) && !defined(MOA_NO_AMX)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "kernels/amx/amx_tile_ops.h"

#define MOA_AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f"), noinline))
// The GCC 12 tile intrinsics are asm statements that do not tell the compiler which memory they
// read or write; a compiler barrier keeps ordinary loads and stores of the same buffers in order.
#define MOA_AMX_BARRIER() __asm__ volatile("" ::: "memory")
#endif

namespace moa::internal::MOA_AMX_IMPL {

#ifdef MOA_AMX_TARGET

namespace {

constexpr long kArchReqXcompPerm = 0x1023;  // arch/x86/include/uapi/asm/prctl.h
constexpr long kXfeatureXtiledata = 18;

struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

}  // namespace

bool AmxAvailable() {
#ifdef MOA_AMX_EMULATE
  return true;  // the model runs anywhere; the kernels also ask for AVX512-BF16
#endif
  static const bool ok = [] {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const bool amx_bf16 = d & (1u << 22), amx_tile = d & (1u << 24);
    if (!amx_bf16 || !amx_tile) return false;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return ok;
}

MOA_AMX_TARGET void AmxConfigure() {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;  // 16 float32, 32 bfloat16 or 16 pairs per row
  }
  MOA_AMX_BARRIER();
  _tile_loadconfig(&cfg);
  MOA_AMX_BARRIER();
}

MOA_AMX_TARGET void AmxRelease() { _tile_release(); }

MOA_AMX_TARGET void AmxScoreTile(const uint16_t* k, int64_t ldk, int64_t keys32, int64_t kdim,
                                 const uint32_t* qpairs, int64_t ldq, int64_t rows_pad, float* st,
                                 int64_t lds) {
  MOA_AMX_BARRIER();
  const long sk = ldk * 2, sq = ldq * 4, ss = lds * 4;
  for (int64_t i = 0; i < rows_pad; i += 32) {
    for (int64_t j = 0; j < keys32; j += 32) {
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (int64_t c = 0; c < kdim; c += 32) {
        _tile_loadd(4, k + j * ldk + c, sk);
        _tile_loadd(5, k + (j + 16) * ldk + c, sk);
        _tile_loadd(6, qpairs + (c / 2) * ldq + i, sq);
        _tile_loadd(7, qpairs + (c / 2) * ldq + i + 16, sq);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      _tile_stored(0, st + j * lds + i, ss);
      _tile_stored(1, st + j * lds + i + 16, ss);
      _tile_stored(2, st + (j + 16) * lds + i, ss);
      _tile_stored(3, st + (j + 16) * lds + i + 16, ss);
    }
  }
  MOA_AMX_BARRIER();
}

MOA_AMX_TARGET void AmxPvTile(const uint16_t* vt, int64_t ldv, int64_t dv32, int64_t keys32,
                              const uint32_t* ppairs, int64_t ldp, int64_t rows_pad, float* ot,
                              int64_t ldo) {
  MOA_AMX_BARRIER();
  const long sv = ldv * 2, sp = ldp * 4, so = ldo * 4;
  for (int64_t i = 0; i < rows_pad; i += 32) {
    for (int64_t e = 0; e < dv32; e += 32) {
      _tile_loadd(0, ot + e * ldo + i, so);
      _tile_loadd(1, ot + e * ldo + i + 16, so);
      _tile_loadd(2, ot + (e + 16) * ldo + i, so);
      _tile_loadd(3, ot + (e + 16) * ldo + i + 16, so);
      for (int64_t j = 0; j < keys32; j += 32) {
        _tile_loadd(4, vt + e * ldv + j, sv);
        _tile_loadd(5, vt + (e + 16) * ldv + j, sv);
        _tile_loadd(6, ppairs + (j / 2) * ldp + i, sp);
        _tile_loadd(7, ppairs + (j / 2) * ldp + i + 16, sp);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      _tile_stored(0, ot + e * ldo + i, so);
      _tile_stored(1, ot + e * ldo + i + 16, so);
      _tile_stored(2, ot + (e + 16) * ldo + i, so);
      _tile_stored(3, ot + (e + 16) * ldo + i + 16, so);
    }
  }
  MOA_AMX_BARRIER();
}

// 32 x 32 blocks of 16-bit elements transposed in registers, in five stages: stage b swaps the
// off-diagonal b x b blocks of every 2b x 2b block (two VPERMT2W per row pair), and the five swaps
// (b = 16 .. 1) compose to the transpose. A scalar copy took 13% of the bfloat16 kernel's time.
__attribute__((target("avx512f,avx512bw"), noinline)) void AmxTransposeV(
    const uint16_t* v, int64_t ldv, int64_t keys, int64_t dv, uint16_t* vt, int64_t ldt) {
  alignas(64) uint16_t lo_idx[5][32], hi_idx[5][32];
  for (int s = 0; s < 5; ++s) {
    const int b = 16 >> s;
    for (int p = 0; p < 32; ++p) {
      // Row k (top of its 2b block) takes the bottom-left block from row k + b; row k + b takes the
      // top-right block from row k. Indices >= 32 select the second operand (row k + b).
      lo_idx[s][p] = static_cast<uint16_t>((p & b) ? 32 + p - b : p);
      hi_idx[s][p] = static_cast<uint16_t>((p & b) ? 32 + p : p + b);
    }
  }
  __m512i lo[5], hi[5];
  for (int s = 0; s < 5; ++s) {
    lo[s] = _mm512_load_si512(lo_idx[s]);
    hi[s] = _mm512_load_si512(hi_idx[s]);
  }
  for (int64_t e0 = 0; e0 < dv; e0 += 32) {
    const __mmask32 cols = dv - e0 >= 32 ? ~__mmask32{0} : (__mmask32{1} << (dv - e0)) - 1;
    for (int64_t j0 = 0; j0 < keys; j0 += 32) {
      __m512i r[32];
      for (int k = 0; k < 32; ++k) {
        r[k] = j0 + k < keys ? _mm512_maskz_loadu_epi16(cols, v + (j0 + k) * ldv + e0)
                             : _mm512_setzero_si512();
      }
      for (int s = 0; s < 5; ++s) {
        const int b = 16 >> s;
        for (int k = 0; k < 32; ++k) {
          if (k & b) continue;
          const __m512i top = _mm512_permutex2var_epi16(r[k], lo[s], r[k + b]);
          r[k + b] = _mm512_permutex2var_epi16(r[k], hi[s], r[k + b]);
          r[k] = top;
        }
      }
      for (int p = 0; p < 32; ++p) _mm512_storeu_si512(vt + (e0 + p) * ldt + j0, r[p]);
    }
  }
}

MOA_AMX_TARGET double AmxPeakLoop(int64_t iters) {
  // The operands are loaded from memory, not cleared with TILEZERO: on products of zeroed tiles
  // the tile unit ran 2-2.6x faster than on any loaded data (zeros included), so a TILEZERO loop
  // measured a rate that no real tile reaches. Values near +-1 with varied mantissas, as in Q, K.
  alignas(64) uint16_t operand[4][16 * 32];
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 16 * 32; ++i) {
      const int sign = ((i * 7 + t) % 3 == 0) << 15;
      operand[t][i] = static_cast<uint16_t>(sign | 0x3f80 | ((i * 37 + t * 11) & 0x7f));
    }
  }
  AmxConfigure();
  MOA_AMX_BARRIER();
  _tile_loadd(4, operand[0], 64);
  _tile_loadd(5, operand[1], 64);
  _tile_loadd(6, operand[2], 64);
  _tile_loadd(7, operand[3], 64);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (int64_t i = 0; i < iters; ++i) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  AmxRelease();
  return 4.0 * 16 * 16 * 32 * 2 * static_cast<double>(iters);
}

#else  // no AMX on this platform or build: never available, never called.

bool AmxAvailable() { return false; }
void AmxConfigure() {}
void AmxRelease() {}
void AmxScoreTile(const uint16_t*, int64_t, int64_t, int64_t, const uint32_t*, int64_t, int64_t,
                  float*, int64_t) {}
void AmxPvTile(const uint16_t*, int64_t, int64_t, int64_t, const uint32_t*, int64_t, int64_t,
               float*, int64_t) {}
void AmxTransposeV(const uint16_t*, int64_t, int64_t, int64_t, uint16_t*, int64_t) {}
double AmxPeakLoop(int64_t) { return 0; }

#endif

}  // namespace moa::internal::MOA_AMX_IMPL
