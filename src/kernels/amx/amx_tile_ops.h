// moa — runtime attention (stage: kernels, AMX bfloat16 tiles): the tile intrinsics the AMX
// kernels call. Normally GCC's (immintrin.h); where MOA_AMX_EMULATE is defined (the
// amx_*_emulated.cc copies), the same names call the scalar model of amx_emulator.h instead.
// MOA_AMX_IMPL names the namespace each copy's functions live in; amx_dispatch.cc chooses.
#pragma once

#include <immintrin.h>

#ifdef MOA_AMX_EMULATE
#include "kernels/amx/amx_emulator.h"
#undef _tile_loadd
#undef _tile_stored
#undef _tile_zero
#undef _tile_dpbf16ps
#define _tile_loadconfig(config) ::moa::internal::amx_emulator::LoadConfig(config)
#define _tile_release() ::moa::internal::amx_emulator::Release()
#define _tile_zero(t) ::moa::internal::amx_emulator::Zero(t)
#define _tile_loadd(t, base, stride) ::moa::internal::amx_emulator::Load(t, base, stride)
#define _tile_stored(t, base, stride) ::moa::internal::amx_emulator::Store(t, base, stride)
#define _tile_dpbf16ps(c, a, b) ::moa::internal::amx_emulator::DotBf16(c, a, b)
#endif
