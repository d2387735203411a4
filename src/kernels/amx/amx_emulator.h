// moa — runtime attention (stage: kernels, AMX bfloat16 tiles): a scalar model of the six tile
// operations the AMX kernels use (LDTILECFG, TILERELEASE, TILEZERO, TILELOADD, TILESTORED,
// TDPBF16PS), per thread as the hardware's tile state is.
//
// Why: most machines, CI's among them, have no AMX, and there the AMX kernels (their packing,
// chunk order, pipelining, masks and split ranges) would never run. Compiled with
// MOA_AMX_EMULATE, amx_bf16.cc and amx_flash.cc call these functions instead of the intrinsics
// (amx_*_emulated.cc), and SetAmxEmulationForTest(true) (amx_bf16.h) routes the kernels to that
// copy, so the tests check the AMX path's logic on any CPU with AVX512-BF16 (the pipelined step's
// softmax uses it). What it cannot check is speed, or the hardware's numerics beyond the
// instruction reference's order of operations (it does not flush denormals as TDPBF16PS does).
#pragma once

#include <cstdint>

namespace moa::internal::amx_emulator {

// The 64-byte configuration LDTILECFG reads: palette 1, bytes per row (colsb) and rows per tile.
void LoadConfig(const void* config);
void Release();
void Zero(int tile);
void Load(int tile, const void* base, long stride);
void Store(int tile, void* base, long stride);
// tile c (float32, rows x colsb/4) += a (rows x colsb/2 bfloat16) times b (pair rows: colsb/4
// lanes of two bfloat16 each), each pair's two products added in turn in float32 as the
// instruction reference specifies.
void DotBf16(int c, int a, int b);

}  // namespace moa::internal::amx_emulator
