// moa — runtime attention (stage: kernels, internal).
// In: nothing; this is the plain struct the validated API layer (attention.cc) hands to the kernels
// (cpu/attention_hwy.cc). Every field is already checked, every stride is in elements, broadcast
// mask dimensions have stride 0, and all scratch memory is allocated by the caller, so the kernels
// can neither fail nor allocate.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "moa/attention.h"

namespace moa::internal {

struct AttentionProblem {
  DType in = DType::kFloat32;   // q, k, v
  DType out = DType::kFloat32;  // out
  int64_t batch = 0, q_heads = 0, kv_heads = 0, nq = 0, nk = 0, dk = 0, dv = 0;
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* o = nullptr;
  int64_t qs[4] = {}, ks[4] = {}, vs[4] = {}, os[4] = {};

  // Mask: kind none / bool / additive; strides with 0 on broadcast dimensions.
  const void* mask = nullptr;
  DType mask_dtype = DType::kBool;
  int64_t ms[4] = {};

  bool causal = false;
  // Query row i may attend to key j only if j <= i + causal_offset (0 top-left, nk-nq bottom-right).
  int64_t causal_offset = 0;
  double scale = 1.0;

  void* lse = nullptr;  // float64 when in is float64, else float32
  int64_t lse_s[3] = {};

  int num_threads = 1;
  // bfloat16 GEMMs: kBf16Auto picks AMX, else AVX512-BF16, else the float32 SIMD path; tests
  // force the others (SetBf16PathForTest) to check every path on a machine that has AMX.
  int bf16_path = 0;
  // Block sizes (rows of q, a multiple of kQueryQuantum; rows of k/v per tile), chosen by
  // ChooseBlocks from cache sizes.
  int64_t bq = 64, bk = 96;

  // Query blocks of at most this many rows take the few-query path (decoding): queries along the
  // head dim against the key rows, four at a time, instead of the tile kernels that compute a
  // whole query chunk.
  int64_t few_query_rows = 0;
  // Query heads per fused task: 1, or, when every query block takes the few-query path and heads
  // share key/value heads (GQA), a divisor of q_heads / kv_heads, so that the heads sharing K and
  // V read them once. head_group x (rows of a block) <= kQueryQuantum.
  int64_t head_group = 1;
  // Split-KV: each query block's key tiles go to kv_splits pieces (tile t to piece t mod
  // kv_splits, as the lifted ONF of moa derive --lift BQ,BK,S has them), run as separate tasks;
  // their online-softmax states, in split_state (tasks x kv_splits slots of
  // RoundUpTo(bq, kQueryQuantum) x (dv + 2) accumulator elements), are combined afterwards.
  int64_t kv_splits = 1;
  void* split_state = nullptr;

  // Scratch owned by the caller: num_threads slices of scratch_per_thread bytes, 64-byte aligned.
  unsigned char* scratch = nullptr;
  size_t scratch_per_thread = 0;
  // Naive path only: the materialised score/probability matrix of one head, transposed:
  // nk rows (padded to 32) x s_stride >= nq padded to kQueryQuantum.
  void* s_matrix = nullptr;
  int64_t s_stride = 0;
};

enum Bf16Path : int { kBf16Auto = 0, kBf16NoAmx = 1, kBf16Float32 = 2 };
// Process-wide override of AttentionProblem::bf16_path, for tests.
void SetBf16PathForTest(int path);
// Process-wide override of AttentionProblem::few_query_rows (-1: the default, FewQueryRows), so
// tests can run one problem through both paths.
void SetFewQueryRowsForTest(int64_t rows);

inline int64_t RoundUpTo(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Bytes of one accumulator element: float64 inputs accumulate in float64, the others in float32.
inline int AccBytes(const AttentionProblem& p) { return p.in == DType::kFloat64 ? 8 : 4; }

// Query blocks are multiples of this many rows: the micro-kernels vectorise along queries, 4
// vectors at a time, and 4 x 16 float32 lanes (AVX-512) = 64; every narrower target divides it.
constexpr int64_t kQueryQuantum = 64;


// Where each tile lives inside one thread's scratch slice (byte offsets, 64-byte aligned). The
// kernels hold everything transposed, queries along vector lanes: Q^T (dk x bq_pad),
// S^T = P^T (bk4 x bq_pad), O^T (dv4 x bq_pad), m and z (bq_pad); K and V tiles (bk4 x dk,
// bk4 x dv4) are row-major copies, used only when the input cannot be read in place.
struct TileLayout {
  int64_t bq_pad = 0, bk4 = 0, dv4 = 0;
  // Allocation sizes rounded for the AMX tiles (32 keys, 32 output columns, 32 head-dim
  // elements per step); the SIMD paths iterate only up to bk4 / dv4.
  int64_t bkp = 0, dvp = 0, dkp = 0;
  // Leading dimension of the transposed tiles: bq_pad plus one cache line. Without the extra line
  // a row stride of 1024 bytes maps a 32 KiB tile chunk onto 16 of L1's 64 sets and the
  // micro-kernels thrash L1; an odd number of lines spreads rows over every set.
  int64_t ld = 0;
  size_t q_off = 0, k_off = 0, v_off = 0, s_off = 0, o_off = 0, m_off = 0, z_off = 0, total = 0;
};

inline TileLayout MakeTileLayout(const AttentionProblem& p) {
  TileLayout t;
  const int64_t a = AccBytes(p);
  t.bq_pad = RoundUpTo(p.bq, kQueryQuantum);
  t.bk4 = RoundUpTo(p.bk, 4);
  t.dv4 = RoundUpTo(p.dv, 4);
  t.bkp = RoundUpTo(p.bk, 32);
  t.dvp = RoundUpTo(p.dv, 32);
  t.dkp = RoundUpTo(p.dk, 32);
  t.ld = t.bq_pad + 64 / a;
  size_t at = 0;
  auto take = [&](int64_t elements) {
    const size_t off = at;
    at += static_cast<size_t>(RoundUpTo(elements * a, 64));
    return off;
  };
  t.q_off = take(t.dkp * t.ld);
  t.k_off = take(t.bkp * t.dkp);
  t.v_off = take(t.bkp * t.dvp);
  // S^T of a whole tile (naive and AVX512-BF16 paths), or of three 32-query chunks in flight
  // (the pipelined AMX step, amx/amx_flash.h), whichever is larger.
  t.s_off = take(t.bkp * std::max<int64_t>(t.ld, 3 * 32));
  t.o_off = take(t.dvp * t.ld);
  t.m_off = take(t.bq_pad);
  t.z_off = take(t.bq_pad);
  t.total = at;
  return t;
}

// Kernels (cpu/attention_hwy.cc), dispatched at run time to the best SIMD target of this CPU.
void RunFusedAttention(const AttentionProblem& p);
void RunNaiveAttention(const AttentionProblem& p);
// The Highway target the two calls above run on now ("AVX3", "AVX2", "EMU128"), for tests and
// the benchmark's report of which kernels ran.
const char* AttentionTargetName();
// Queries the float32 / float64 fused kernel processes per chunk of a key tile on that target
// (4 vectors on AVX-512: 32 float64 or 64 float32; 2 on narrower targets), for accumulators of
// type `acc` (kFloat64 or kFloat32).
int64_t FusedChunkQueries(DType acc);
// Query blocks of at most this many rows take the few-query path (AttentionProblem::
// few_query_rows), for inputs of `in` on the target the kernels dispatch to now. The tile path
// computes whole chunks of queries, so the few-query path wins where a block is a small part of a
// chunk. Measured with its rows in groups of four (moa_kernel_bench --benchmark_filter=FewQueries
// on AVX-512, and moa bench --nq Q --target avx2 with each threshold; 8 heads of 4096 keys,
// d = 64 and 128, one core): AVX-512 float32 (chunk 64) 1.6x faster at 32 queries; float64
// (chunk 32) 1.25-1.6x at 16, 0.74-0.86x at 32; bfloat16 1.7-1.8x at 16, 0.9x at 32; AVX2 float32
// (chunk 16) 1.35-1.4x at 8, float64 (chunk 8) 1.3-2x at 4. So half a chunk; bfloat16 16.
int64_t FewQueryRows(DType in);
// Queries per chunk in the loop order the fused kernel runs for inputs of `dtype` (the cost
// model's Form::kLiftedChunks): FusedChunkQueries for float32 and float64; for bfloat16 kAmxChunk
// on AMX, else the float32 chunk. The AVX512-BF16 pair kernels run both GEMMs chunk by chunk of
// 64 queries (bf16_dot.cc) but the softmax over the whole tile, so that form leaves out S^T's
// round trips through L2 between the passes.
int64_t FusedLoopChunk(DType dtype);

}  // namespace moa::internal
