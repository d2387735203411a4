// moa — runtime attention (stage: kernels, AMX bfloat16 tiles): one key tile of the fused kernel
// without a mask, software pipelined over chunks of 32 queries.
//
// Done in turn (score, softmax, P.V), the tile unit idles during the float32 softmax and the
// AVX-512 units idle during the two GEMMs. Here the TDPBF16PS of the scores of chunk c and of
// P.V of chunk c - 2 are issued one by one between slices of the exp pass of chunk c - 1 and of
// the row-maximum pass of chunk c, so out-of-order execution runs both units at once.
// The online-softmax arithmetic is that of the Highway path (lazy rescaling by kRescaleSlack, the
// shared 2^r polynomial), so both paths give the same results up to rounding.
#pragma once

#include <cstdint>

namespace moa::internal {

// Queries per chunk: the N of two 16-column B tiles, two 16-lane float32 vectors.
inline constexpr int64_t kAmxChunk = 32;

struct AmxFlashTile {
  // K rows of the tile: RoundUp(keys, 32) rows of dkp bfloat16 (zero past `keys` and past dk),
  // ldk elements apart.
  const uint16_t* k = nullptr;
  int64_t ldk = 0;
  // V^T of the tile: dvp rows of RoundUp(keys, 32) bfloat16 (zero past `keys`), ldv elements apart.
  const uint16_t* vt = nullptr;
  int64_t ldv = 0;
  int64_t keys = 0;  // 1 <= keys
  int64_t dkp = 0, dvp = 0;  // head dims rounded up to 32
  int64_t chunks = 0;        // query chunks of the task
  // Chunk-major task state: chunk c's Q pairs are dkp / 2 rows of 32 lanes at qpairs + c * dkp /
  // 2 * 32; its O^T accumulator dvp rows of 32 floats at ot + c * dvp * 32; m and z per query.
  const uint32_t* qpairs = nullptr;
  float* ot = nullptr;
  float* m = nullptr;
  float* z = nullptr;
  float scale = 1;  // applied to the raw scores; must be > 0 (it commutes with max)
  float rescale_slack = 8;  // natural-log units a maximum may rise before O^T is rescaled
  // Subtracted from every probability's base-2 exponent (Kernel::pow2_shift): O^T stays finite
  // for V up to the bfloat16 maximum.
  float pow2_shift = 0;
  // 3 * RoundUp(keys, 32) * 32 floats, 64-byte aligned: S^T / P^T of three chunks in flight.
  float* scratch = nullptr;
};

// m, z and O^T of every chunk updated with the tile's keys (online softmax), as the Highway path's
// ScoreTileAmx + OnlineSoftmax + PvTileAmx do on a whole tile. Needs AmxAvailable() and
// CpuHasAvx512Bf16(), and the tile configuration of AmxConfigure() on the calling thread.
void AmxFlashKeyTile(const AmxFlashTile& a);

}  // namespace moa::internal
