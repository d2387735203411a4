// moa — runtime attention (stage: kernels): the float32 polynomial for 2^r, shared by the Highway
// softmax (cpu/attention_hwy.cc) and the AMX pipelined tile step (amx/amx_flash.cc), so the two
// bfloat16 paths round the same way.
#pragma once

namespace moa::internal {

// 2^r for |r| <= 1/2, highest degree first (Horner): fitted for minimal relative error on
// [-1/2, 1/2], 1.6e-7 in float arithmetic.
inline constexpr float kPow2PolyF32[6] = {0.0013264714507386088f, 0.009671513922512531f,
                                          0.05550733953714371f,   0.24022242426872253f,
                                          0.6931470036506653f,    1.0f};

// The clamp below which 2^t is 0 when 2^n is applied by VSCALEF: far enough under the float32
// subnormals that every result rounds to 0, while -inf still gives exactly 0.
inline constexpr float kPow2MinScalefF32 = -160.0f;

}  // namespace moa::internal
