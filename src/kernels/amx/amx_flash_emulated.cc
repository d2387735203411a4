// moa — runtime attention (stage: kernels): amx_flash.cc compiled a second time, on the scalar
// model of the tile unit (amx_emulator.h), into namespace amx_emulated (see amx_bf16_emulated.cc).
#define MOA_AMX_EMULATE
#define MOA_AMX_IMPL amx_emulated
#include "kernels/amx/amx_flash.cc"  // IWYU pragma: keep
