// moa — runtime attention (stage: kernels, API layer).
// In: the user's tensors and options. Out: a validated AttentionProblem handed to the kernels.
// Every user error is found here, once (with the checks of attention_checks.h), and reported as
// moa::Error naming the argument.
#include "moa/attention.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "kernels/attention_checks.h"
#include "kernels/attention_offset.h"
#include "kernels/attention_problem.h"
#include "kernels/machine.h"
#include "moa/error.h"

namespace moa {

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat64: return "float64";
    case DType::kFloat32: return "float32";
    case DType::kBFloat16: return "bfloat16";
    case DType::kBool: return "bool";
  }
  return "unknown";
}

int DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kFloat64: return 8;
    case DType::kFloat32: return 4;
    case DType::kBFloat16: return 2;
    case DType::kBool: return 1;
  }
  return 0;
}

Tensor Tensor::Bhsd(const void* data, DType dtype, int64_t batch, int64_t heads, int64_t seq,
                    int64_t dim) {
  Tensor t;
  t.data = const_cast<void*>(data);
  t.dtype = dtype;
  t.sizes = {batch, heads, seq, dim};
  t.strides = {heads * seq * dim, seq * dim, dim, 1};
  return t;
}

Tensor Tensor::Bshd(const void* data, DType dtype, int64_t batch, int64_t heads, int64_t seq,
                    int64_t dim) {
  Tensor t;
  t.data = const_cast<void*>(data);
  t.dtype = dtype;
  t.sizes = {batch, heads, seq, dim};
  t.strides = {seq * heads * dim, dim, heads * dim, 1};
  return t;
}

Tensor Tensor::Lse(void* data, DType dtype, int64_t batch, int64_t heads, int64_t nq) {
  Tensor t;
  t.data = data;
  t.dtype = dtype;
  t.rank = 3;
  t.sizes = {batch, heads, nq, 1};
  t.strides = {heads * nq, nq, 1, 0};
  return t;
}

int64_t Tensor::NumElements() const {
  int64_t n = 1;
  for (int i = 0; i < rank && i < 4; ++i) n *= sizes[i];
  return n;
}

const char* AttentionKernelTarget() { return internal::AttentionTargetName(); }

uint16_t BFloat16FromFloat(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<uint16_t>(bits >> 16);
}

float FloatFromBFloat16(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

namespace internal {
namespace {
std::atomic<int> bf16_path_for_test{kBf16Auto};
std::atomic<int64_t> few_query_rows_for_test{-1};
}  // namespace
void SetBf16PathForTest(int path) { bf16_path_for_test = path; }
void SetFewQueryRowsForTest(int64_t rows) { few_query_rows_for_test = rows; }
int64_t FewQueryRows(DType in) {
  return in == DType::kBFloat16 ? 16 : FusedChunkQueries(in) / 2;
}
}  // namespace internal

namespace {

constexpr const char* kWho = "moa::attention: ";

// The bytes of `count` items of `item` bytes each; an Error (as for memory the system refuses)
// where the product overflows.
size_t BufferBytes(int64_t count, int64_t item, bool naive) {
  int64_t bytes = 0;
  UserCheck(internal::MulFits(count, item, &bytes) &&
                bytes <= std::numeric_limits<int64_t>::max() - 64,
            kWho, "out of memory for the ", naive ? "naive" : "fused", " path's buffers (", count,
            " x ", item, " bytes overflow 64 bits)");
  return static_cast<size_t>(bytes) + 64;
}

}  // namespace

void Attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
               const AttentionOptions& options) {
  internal::AttentionWithCausalOffset(q, k, v, out, options, std::nullopt);
}

namespace internal {

void AttentionWithCausalOffset(const Tensor& q, const Tensor& k, const Tensor& v,
                               const Tensor& out, const AttentionOptions& options,
                               std::optional<int64_t> causal_offset) {
  CheckAttentionTensors(q, k, v, out, kWho);
  const int64_t batch = q.sizes[0], hq = q.sizes[1], nq = q.sizes[2], dk = q.sizes[3];
  const int64_t hkv = k.sizes[1], nk = k.sizes[2], dv = v.sizes[3];

  AttentionProblem p;
  p.in = q.dtype;
  p.out = out.dtype;
  p.batch = batch;
  p.q_heads = hq;
  p.kv_heads = hkv;
  p.nq = nq;
  p.nk = nk;
  p.dk = dk;
  p.dv = dv;
  p.q = q.data;
  p.k = k.data;
  p.v = v.data;
  p.o = out.data;
  for (int i = 0; i < 4; ++i) {
    p.qs[i] = q.strides[i];
    p.ks[i] = k.strides[i];
    p.vs[i] = v.strides[i];
    p.os[i] = out.strides[i];
  }

  if (options.mask) {
    const int64_t full[4] = {batch, hq, nq, nk};
    const std::array<int64_t, 4> ms = CheckMask(*options.mask, q.dtype, full, kWho);
    std::copy(ms.begin(), ms.end(), p.ms);
    p.mask = options.mask->data;
    p.mask_dtype = options.mask->dtype;
  }

  p.bf16_path = bf16_path_for_test;
  p.causal = options.is_causal;
  p.causal_offset = causal_offset ? *causal_offset
                                  : options.causal_align == CausalAlign::kBottomRight ? nk - nq : 0;
  CheckOptions(options, kWho);
  p.scale = options.scale ? *options.scale : 1.0 / std::sqrt(static_cast<double>(dk));

  if (options.lse) {
    const int64_t sizes[3] = {batch, hq, nq};
    CheckLse(*options.lse, q.dtype, sizes, out, kWho);
    p.lse = options.lse->data;
    for (int i = 0; i < 3; ++i) p.lse_s[i] = options.lse->strides[i];
  }
  CheckReadsDisjointFromWrites(q, k, v, options.mask ? &*options.mask : nullptr, out,
                               options.lse ? &*options.lse : nullptr, kWho);

  int threads = options.num_threads > 0 ? options.num_threads : DefaultThreadCount();
  // Blocks, like the automatic split below, follow the machine's cores, not this call's thread
  // count: the key tile sets the online softmax's rounding and the query block which rows take the
  // few-query path, and results must not depend on the thread count.
  const Blocks blocks =
      options.block_q > 0 && options.block_k > 0
          ? Blocks{}
          : ChooseBlocks(q.dtype, dk, dv, nq, nk, batch * hq, MachineCores());
  p.bq = options.block_q > 0 ? options.block_q : blocks.bq;
  p.bk = options.block_k > 0 ? options.block_k : blocks.bk;
  const bool naive = options.impl == AttentionImpl::kNaive;
  // A few-query task holds at most kQueryQuantum rows: its bfloat16 Q bits share the K tile,
  // sized for that many (FewQueryTask).
  const int64_t few_query_rows = few_query_rows_for_test;
  p.few_query_rows = std::min(
      few_query_rows >= 0 ? few_query_rows : FewQueryRows(q.dtype),
      kQueryQuantum);
  // Decoding with GQA: when the one query block takes the few-query path, the query heads that
  // share a key/value head form one task (as many as fit kQueryQuantum rows), so K and V are read
  // once for all of them.
  if (!naive && nq <= p.few_query_rows && nq <= p.bq) {
    for (int64_t g = hq / hkv; g > 1; --g) {
      if ((hq / hkv) % g == 0 && g * nq <= kQueryQuantum) {
        p.head_group = g;
        break;
      }
    }
  }
  const int64_t qblocks = RoundUpTo(nq, p.bq) / p.bq;
  const int64_t tasks = naive ? qblocks : batch * hq / p.head_group * qblocks;
  // The automatic split follows the machine's cores, not this call's thread count: the split
  // changes the rounding, and results must not depend on the thread count.
  if (!naive) {
    p.kv_splits = options.kv_splits > 0
                      ? std::min(options.kv_splits, RoundUpTo(nk, p.bk) / p.bk)
                      : KvSplits(tasks, MachineCores(), nk, p.bk);
  }
  p.num_threads = static_cast<int>(std::clamp<int64_t>(threads, 1, tasks * p.kv_splits));

  // All memory the kernels touch besides the tensors is allocated here, before any kernel runs.
  const TileLayout layout = MakeTileLayout(p);
  p.scratch_per_thread = layout.total;
  std::unique_ptr<unsigned char[]> scratch, s_matrix, split_state;
  const int64_t acc = AccBytes(p);
  // S^T of the naive path: rows padded to 32 keys (an AMX tile step), columns to whole query
  // chunks plus one cache line (the same L1-set spreading as the fused tiles, see TileLayout::ld).
  p.s_stride = RoundUpTo(nq, kQueryQuantum) + 64 / acc;
  const size_t scratch_bytes =
      BufferBytes(p.num_threads, static_cast<int64_t>(layout.total), naive);
  const size_t split_bytes =
      p.kv_splits > 1 ? BufferBytes(tasks * p.kv_splits, layout.bq_pad * (dv + 2) * acc, naive) : 0;
  const size_t s_bytes =
      naive ? BufferBytes(RoundUpTo(nk, 32), p.s_stride * acc, naive) : 0;
  try {
    scratch.reset(new unsigned char[scratch_bytes]);
    if (split_bytes > 0) split_state.reset(new unsigned char[split_bytes]);
    if (s_bytes > 0) s_matrix.reset(new unsigned char[s_bytes]);
  } catch (const std::bad_alloc&) {
    throw Error(Concat(kWho, "out of memory for the ", naive ? "naive" : "fused",
                                 " path's buffers (nq ", nq, ", nk ", nk, ")"));
  }
  auto align = [](unsigned char* ptr) {
    return reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(ptr) + 63) & ~uintptr_t{63});
  };
  p.scratch = align(scratch.get());
  if (split_state) p.split_state = align(split_state.get());
  if (naive) {
    p.s_matrix = align(s_matrix.get());
    RunNaiveAttention(p);
  } else {
    RunFusedAttention(p);
  }
}

}  // namespace internal

AttentionBlocks ChosenBlocks(DType dtype, int64_t heads_total, int64_t nq, int64_t nk, int64_t dk,
                             int64_t dv) {
  constexpr const char* kWhoBlocks = "moa::ChosenBlocks: ";
  UserCheck(heads_total > 0 && nq > 0 && nk > 0 && dk > 0 && dv > 0, kWhoBlocks,
            "expected positive heads_total, nq, nk, dk and dv, got ", heads_total, ", ", nq, ", ",
            nk, ", ", dk, ", ", dv);
  const internal::Blocks b =
      internal::ChooseBlocks(dtype, dk, dv, nq, nk, heads_total, internal::MachineCores());
  return AttentionBlocks{b.bq, b.bk};
}

}  // namespace moa
