// moa — runtime attention (stage: kernels, CPU bfloat16 micro-kernels on AVX512-BF16).
// In: bfloat16 tiles in "pair" layout (two consecutive elements of the reduction axis in one
// 32-bit lane, the layout VDPBF16PS multiplies) and float32 accumulators. Out: the two GEMMs of
// attention (S^T = K Q^T and O^T += V^T P^T) at twice the float32 FMA rate, accumulating in float32.
// Compiled with a target pragma, so the binary still runs on CPUs without AVX512-BF16; callers
// check CpuHasAvx512Bf16() first. Queries run along the lanes in chunks of 64 (4 vectors).
#pragma once

#include <cstdint>

#include "kernels/cpu/row_prefetch.h"

namespace moa::internal {

// Word indices that turn VCVTNE2PS2BF16's output (row j's 16 bfloat16 in words 0-15, row j + 1's
// in 16-31) into pair lanes (word 2i from row j, 2i + 1 from row j + 1) with one VPERMW: the
// probabilities' pack in the Highway softmax, in Bf16PairRows and in the AMX pipelined step.
inline constexpr uint16_t kPairInterleave[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,
                                                 21, 6, 22, 7, 23, 8,  24, 9,  25, 10, 26,
                                                 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};

// cpuid: AVX512F, AVX512BW and AVX512_BF16 present and enabled by the OS.
bool CpuHasAvx512Bf16();

// st[j][i] = scale * sum_p dot(K[j] pair p, qpairs[p][i]) for keys j < keys4 (a multiple of 4) and
// queries i < rows_pad (a multiple of 64). K rows are bfloat16 with ldk elements between rows and
// at least 2 * npairs readable elements each.
void Bf16ScoreTile(const uint16_t* k, int64_t ldk, int64_t keys4, int64_t npairs,
                   const uint32_t* qpairs, int64_t ldq, int64_t rows_pad, float scale, float* st,
                   int64_t lds);

// ot[e][i] += sum_p dot(vpairs[p][e], ppairs[p][i]) for e < dv4 (a multiple of 4), i < rows_pad.
void Bf16PvTile(const uint32_t* vpairs, int64_t ldv, int64_t npairs, const uint32_t* ppairs,
                int64_t ldp, int64_t rows_pad, float* ot, int64_t ldo, int64_t dv4);

// In place: float32 rows 2p and 2p+1 of st (row `rows` and beyond read as 0) become pair row p
// (bfloat16 by VCVTNE2PS2BF16: nearest even, subnormals to 0), for p < (rows + 1) / 2 and the
// first rows_pad columns.
void Bf16PairRows(float* st, int64_t lds, int64_t rows, int64_t rows_pad);

// The few-query path's scores of 1 to 4 query rows at once (decode_gemv-inl.h, DecodeScores and
// DecodeScoresRows): s[x * lds + j] = scale * sum_c q[x * ldq + c] * k[j * ldk + c] for x < rows
// and keys j < keys, over dk bfloat16 elements read in place (consecutive elements of the head dim
// as the pairs). Groups of 2 to 4 rows ask for value row j with key row j (`prefetch`).
void Bf16DecodeScores(const uint16_t* q, int64_t ldq, int64_t rows, const uint16_t* k,
                      int64_t ldk, int64_t keys, int64_t dk, float scale, float* s, int64_t lds,
                      const RowPrefetch& prefetch = {});

// The few-query path's P V of 1 to 4 rows at once (decode_gemv-inl.h, DecodePv and DecodePvRows):
// o[x * ldo + e] += sum_j p[x * ldp + j] * v[j * ldv + e] for x < rows, e < dv and keys j < keys,
// V bfloat16 read in place. Each row's probabilities are rounded to bfloat16 in place (p's rows
// become pairs (p[2i], p[2i + 1]) in their first (keys + 1) / 2 32-bit words; a row is written up
// to its first multiple of 16 words), and two value rows meet each pair in one VDPBF16PS.
void Bf16DecodePv(float* p, int64_t ldp, int64_t rows, int64_t keys, const uint16_t* v,
                  int64_t ldv, int64_t dv, float* o, int64_t ldo);

// 12 independent VDPBF16PS chains for `iters` steps (the benchmark's peak loop); returns flops.
double Bf16DotPeakLoop(int64_t iters);

}  // namespace moa::internal
