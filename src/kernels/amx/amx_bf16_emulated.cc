// moa — runtime attention (stage: kernels): amx_bf16.cc compiled a second time, on the scalar
// model of the tile unit (amx_emulator.h), into namespace amx_emulated, so that tests can run
// the AMX kernels on CPUs without AMX (SetAmxEmulationForTest, amx_bf16.h).
#define MOA_AMX_EMULATE
#define MOA_AMX_IMPL amx_emulated
#include "kernels/amx/amx_bf16.cc"  // IWYU pragma: keep
