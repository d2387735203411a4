// moa — runtime attention (stage: kernels, AMX bfloat16 tiles).
// In: bfloat16 K rows, V^T rows and "pair" rows of Q^T / P^T (two consecutive elements of the
// reduction axis in one 32-bit lane: the B layout TDPBF16PS reads). Out: float32 S^T tiles and
// O^T accumulators. Compiled with target attributes and used only after AmxAvailable() said yes,
// so the binary still runs on CPUs (and kernels) without AMX.
#pragma once

#include <cstdint>

namespace moa::internal {

// cpuid says AMX-TILE and AMX-BF16, and Linux granted this process the tile data state
// (arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)); asked once per process.
bool AmxAvailable();

// Loads the tile configuration of the kernels below on the calling thread (AMX state is per
// thread); AmxRelease() gives it back. Call both around a task, never across threads.
void AmxConfigure();
void AmxRelease();

// st[j][i] = sum over c < kdim of K[j][c] * Q[i][c] for j < keys32 (a multiple of 32) and
// i < rows_pad (a multiple of 32). k: bfloat16 rows, ldk elements apart, kdim (a multiple of 32)
// readable per row. qpairs: kdim / 2 pair rows, ldq 32-bit lanes apart. st: ld lds floats.
void AmxScoreTile(const uint16_t* k, int64_t ldk, int64_t keys32, int64_t kdim,
                  const uint32_t* qpairs, int64_t ldq, int64_t rows_pad, float* st, int64_t lds);

// ot[e][i] += sum over j < keys32 of Vt[e][j] * P[j][i] for e < dv32 (a multiple of 32),
// i < rows_pad. vt: bfloat16 rows of V^T, ldv elements apart; ppairs: keys32 / 2 pair rows, ldp
// lanes apart; ot: ldo floats apart.
void AmxPvTile(const uint16_t* vt, int64_t ldv, int64_t dv32, int64_t keys32,
               const uint32_t* ppairs, int64_t ldp, int64_t rows_pad, float* ot, int64_t ldo);

// vt[e][j] = V[j][e] for e < RoundUp(dv, 32), j < RoundUp(keys, 32), zero past dv and keys: the
// V^T rows AmxPvTile reads. v: `keys` bfloat16 rows with unit stride, ldv elements apart (nothing
// past row keys - 1 or column dv - 1 is read); vt: ldt elements apart.
void AmxTransposeV(const uint16_t* v, int64_t ldv, int64_t keys, int64_t dv, uint16_t* vt,
                   int64_t ldt);

// Tests only: from now on every function here and in amx_flash.h runs the kernels on a scalar
// model of the tile unit (amx_emulator.h), and AmxAvailable() says yes, so the AMX path can be
// checked on CPUs without AMX (it still needs AVX512-BF16, which the kernels check); false
// returns to the hardware. Not for use while kernels run.
void SetAmxEmulationForTest(bool on);

// Runs `iters` steps of 4 independent TDPBF16PS on register tiles, loaded once with nonzero data
// (the peak loop of the benchmark), on the calling thread, configuring and releasing the tiles
// itself; returns the flops done.
double AmxPeakLoop(int64_t iters);

}  // namespace moa::internal
