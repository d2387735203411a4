// moa — runtime attention (stage: kernels): the AMX entry points of amx_bf16.h and amx_flash.h.
// Each goes to the kernels built on the hardware's tile instructions (amx_bf16.cc, amx_flash.cc)
// or, once a test has called SetAmxEmulationForTest(true), to the same kernels built on the
// scalar model of the tile unit (amx_*_emulated.cc, amx_emulator.h).
#include <atomic>

#include "kernels/amx/amx_bf16.h"
#include "kernels/amx/amx_flash.h"

namespace moa::internal {

// The functions both copies define, in their own namespaces.
#define MOA_AMX_DECLARE(ns)                                                                      \
  namespace ns {                                                                                 \
  bool AmxAvailable();                                                                           \
  void AmxConfigure();                                                                           \
  void AmxRelease();                                                                             \
  void AmxScoreTile(const uint16_t* k, int64_t ldk, int64_t keys32, int64_t kdim,                \
                    const uint32_t* qpairs, int64_t ldq, int64_t rows_pad, float* st,            \
                    int64_t lds);                                                                \
  void AmxPvTile(const uint16_t* vt, int64_t ldv, int64_t dv32, int64_t keys32,                  \
                 const uint32_t* ppairs, int64_t ldp, int64_t rows_pad, float* ot, int64_t ldo); \
  void AmxTransposeV(const uint16_t* v, int64_t ldv, int64_t keys, int64_t dv, uint16_t* vt,     \
                     int64_t ldt);                                                               \
  double AmxPeakLoop(int64_t iters);                                                             \
  void AmxFlashKeyTile(const AmxFlashTile& a);                                                   \
  }
MOA_AMX_DECLARE(amx_hardware)
MOA_AMX_DECLARE(amx_emulated)
#undef MOA_AMX_DECLARE

namespace {
std::atomic<bool> emulate{false};
}  // namespace

#define MOA_AMX_CALL(f, ...)                                                   \
  (emulate.load(std::memory_order_relaxed) ? amx_emulated::f(__VA_ARGS__) \
                                            : amx_hardware::f(__VA_ARGS__))

void SetAmxEmulationForTest(bool on) { emulate = on; }
bool AmxAvailable() { return MOA_AMX_CALL(AmxAvailable); }
void AmxConfigure() { MOA_AMX_CALL(AmxConfigure); }
void AmxRelease() { MOA_AMX_CALL(AmxRelease); }
void AmxScoreTile(const uint16_t* k, int64_t ldk, int64_t keys32, int64_t kdim,
                  const uint32_t* qpairs, int64_t ldq, int64_t rows_pad, float* st, int64_t lds) {
  MOA_AMX_CALL(AmxScoreTile, k, ldk, keys32, kdim, qpairs, ldq, rows_pad, st, lds);
}
void AmxPvTile(const uint16_t* vt, int64_t ldv, int64_t dv32, int64_t keys32,
               const uint32_t* ppairs, int64_t ldp, int64_t rows_pad, float* ot, int64_t ldo) {
  MOA_AMX_CALL(AmxPvTile, vt, ldv, dv32, keys32, ppairs, ldp, rows_pad, ot, ldo);
}
void AmxTransposeV(const uint16_t* v, int64_t ldv, int64_t keys, int64_t dv, uint16_t* vt,
                   int64_t ldt) {
  MOA_AMX_CALL(AmxTransposeV, v, ldv, keys, dv, vt, ldt);
}
double AmxPeakLoop(int64_t iters) { return MOA_AMX_CALL(AmxPeakLoop, iters); }
void AmxFlashKeyTile(const AmxFlashTile& a) { MOA_AMX_CALL(AmxFlashKeyTile, a); }

#undef MOA_AMX_CALL

}  // namespace moa::internal
