// moa — runtime attention (stage: kernels, public API).
// In: strided 4-D q, k, v tensors (batch, heads, seq, dim) in float64, float32 or bfloat16, and
// AttentionOptions with PyTorch scaled_dot_product_attention semantics.
// Out: the attention output written into a caller-owned strided tensor, and optionally the
// log-sum-exp of each query row. Arguments are validated once here (moa::Error naming the argument
// and what was expected); the kernels under src/kernels never throw and never allocate in the hot
// loop.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace moa {

enum class DType : int { kFloat64 = 0, kFloat32 = 1, kBFloat16 = 2, kBool = 3 };

// Name of a dtype as the CLI and error messages print it ("float64", "float32", "bfloat16", "bool").
const char* DTypeName(DType dtype);
// Bytes per element (bool is one byte, as in NumPy and PyTorch).
int DTypeSize(DType dtype);

// A strided view of memory the caller owns. Sizes and strides are in elements and always in the
// logical order (batch, heads, seq, dim) for q, k, v, out and masks ((batch, heads, nq, nk)), and
// (batch, heads, nq) for the log-sum-exp; a BSHD tensor is the same view with permuted strides.
// Unused trailing dimensions (rank < 4) are ignored. A stride of 0 broadcasts (masks only).
struct Tensor {
  void* data = nullptr;
  DType dtype = DType::kFloat32;
  int rank = 4;
  std::array<int64_t, 4> sizes{};
  std::array<int64_t, 4> strides{};

  // Contiguous (batch, heads, seq, dim) memory: the layout PyTorch calls BHSD.
  static Tensor Bhsd(const void* data, DType dtype, int64_t batch, int64_t heads, int64_t seq,
                     int64_t dim);
  // Contiguous (batch, seq, heads, dim) memory, viewed as (batch, heads, seq, dim).
  static Tensor Bshd(const void* data, DType dtype, int64_t batch, int64_t heads, int64_t seq,
                     int64_t dim);
  // Contiguous (batch, heads, nq) memory, for the log-sum-exp output.
  static Tensor Lse(void* data, DType dtype, int64_t batch, int64_t heads, int64_t nq);
  int64_t NumElements() const;
};

// Where the diagonal of a causal mask sits when nq != nk.
enum class CausalAlign {
  kTopLeft,      // PyTorch SDPA: query i attends to keys j <= i.
  kBottomRight,  // FlashAttention: query i attends to keys j <= i + (nk - nq).
};

enum class AttentionImpl {
  kFused,  // Flash-style: query blocks x key/value blocks, online softmax, no n x n buffer.
  kNaive,  // Materialises S = q k^T and P = softmax(S) per head (GEMM, softmax, GEMM): a baseline.
};

struct AttentionOptions {
  // Multiplies q k^T; default 1/sqrt(dk) as in PyTorch.
  std::optional<double> scale;
  bool is_causal = false;
  CausalAlign causal_align = CausalAlign::kTopLeft;
  // Optional mask over (batch, heads, nq, nk), broadcastable as in PyTorch: each size is either the
  // full size or 1 (or the stride is 0); rank < 4 aligns to the trailing dimensions. dtype kBool:
  // true = attend. A float dtype (the dtype of q, or float32 for bfloat16 q): added to the scores.
  // Combined with is_causal the two restrictions both apply (PyTorch rejects that combination).
  std::optional<Tensor> mask;
  // Optional output: the natural-log sum of exp of each (scaled, masked) score row, (batch,
  // q heads, nq), float64 for float64 inputs and float32 otherwise; -inf for fully masked rows.
  std::optional<Tensor> lse;
  // Worker threads over (batch, head, query block); 0 = OMP_NUM_THREADS, else the cores this
  // process may run on (its affinity mask: taskset, a cpuset).
  int num_threads = 0;
  AttentionImpl impl = AttentionImpl::kFused;
  // Block sizes: query rows per task (a multiple of 64) and key/value rows per tile (a multiple of
  // 32). 0 = the cost model's recommendation for this machine and problem (moa cost; the machine
  // description is the file the environment variable MOA_MACHINE names, else the OS's cache
  // geometry with generic rates). For tuning and for measuring the model's choice against others.
  int64_t block_q = 0;
  int64_t block_k = 0;
  // Split-KV (fused path): each query block's keys are split into this many ranges, computed as
  // separate tasks and combined exactly (the online-softmax states form a monoid). 0 = automatic:
  // split only when there are too few (batch, head, query block) tasks to share this machine's
  // cores evenly, as when decoding one sequence (the cores, not num_threads, decide, so results
  // are the same bit for bit whatever the thread count). At most one range per key tile.
  int64_t kv_splits = 0;
};

// out = softmax(q k^T * scale + mask) v for every (batch, head). Shapes: q (B, Hq, nq, dk),
// k (B, Hkv, nk, dk), v (B, Hkv, nk, dv), out (B, Hq, nq, dv) with Hq a multiple of Hkv (GQA:
// query head h reads key/value head h / (Hq / Hkv), without copies). q, k, v share one dtype; out
// has it too, or float32 when q is bfloat16. out and lse must not overlap q, k, v or the mask.
// A row is fully masked only where every key is hidden (bool mask false, causal, or a score of
// -inf): it gives 0 (LSE -inf). Scores of any finite magnitude (a mask row of the dtype's lowest
// value, a huge scale) give the softmax PyTorch gives in the same dtype, and v up to the dtype's
// largest value does not overflow the weighted sum. NaN inputs give NaN where PyTorch's would (a
// NaN in q or in a key row a query sees: that row and its LSE; in a value row: the columns it
// reaches; a +inf score: its row). Throws moa::Error on invalid arguments.
void Attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
               const AttentionOptions& options = {});

// The spelling of the same entry point.
inline void attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                      const AttentionOptions& options = {}) {
  Attention(q, k, v, out, options);
}

// The block sizes Attention uses when options.block_q and block_k are 0, for q of `dtype` with
// batch x query heads = heads_total, nq queries, nk keys, head dims dk and dv. They are chosen for
// the cores this process may run on, whatever a call's num_threads, so that results do not depend
// on the thread count. Throws moa::Error on non-positive sizes.
struct AttentionBlocks {
  int64_t block_q = 0;
  int64_t block_k = 0;
};
AttentionBlocks ChosenBlocks(DType dtype, int64_t heads_total, int64_t nq, int64_t nk, int64_t dk,
                             int64_t dv);

// Benchmark support: the measured rate in GFLOP/s (a multiply-add counts 2) of independent
// multiply-adds on num_threads threads, on the unit the kernels use for that dtype: float64 and
// float32 FMAs on the SIMD target; for bfloat16, AMX TDPBF16PS where available, else AVX512-BF16
// VDPBF16PS, else float32 FMAs (the bfloat16 GEMM path is named by Bf16GemmPath()).
double MeasurePeakGflops(DType dtype, int num_threads, double seconds = 0.3);
const char* Bf16GemmPath();
// The SIMD target the attention kernels dispatch to on this CPU ("AVX3", "AVX2", "EMU128", ...).
const char* AttentionKernelTarget();
// Benchmark support: restricts the kernels' run-time dispatch to one target this CPU runs,
// "avx3" (AVX-512), "avx2" or "portable" (Highway's EMU128 or SCALAR), or lifts the restriction
// ("auto"), to compare targets on one machine. Call it while no kernel runs. Throws moa::Error
// naming the argument for an unknown target (nothing changes) or one this CPU cannot run (the
// dispatch is then back to auto).
void SetAttentionKernelTarget(const std::string& target);

// bfloat16 <-> float conversions (round to nearest even; NaN stays NaN), for callers and tests.
uint16_t BFloat16FromFloat(float f);
float FloatFromBFloat16(uint16_t b);

}  // namespace moa
