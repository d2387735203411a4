// moa — runtime attention (stage: kernels, API layer).
// In: the user's tensors and options. Out: a validated AttentionProblem handed to the kernels.
// Every user error is found here, once, and reported as moa::Error naming the argument.
#include "moa/attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <ostream>
#include <string>
#include <vector>

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
const char* const kDimNames[4] = {"batch", "heads", "seq", "dim"};

// A view's sizes as "(2, 8, 1, 64)" in an error message. Streamed only when the message is built
// (UserCheck formats its parts only when the check fails): formatting them for every check of
// every call was three quarters of a one-query call's instructions.
struct SizesText {
  explicit SizesText(const Tensor& tensor) : t(tensor) {}
  const Tensor& t;
  friend std::ostream& operator<<(std::ostream& os, const SizesText& s) {
    os << '(';
    for (int i = 0; i < s.t.rank && i < 4; ++i) os << (i ? ", " : "") << s.t.sizes[i];
    return os << ')';
  }
};

// Limits that keep every size the kernels derive (tiles, tasks, buffers) inside int64: views
// with stride 0 can describe any sizes over a few bytes, and a size past these once overflowed
// the tile arithmetic into a short buffer (a crash where an error was due).
constexpr int64_t kMaxHeadDim = int64_t{1} << 24;
constexpr int64_t kMaxBlock = int64_t{1} << 16;
constexpr int64_t kMaxScores = int64_t{1} << 62;  // batch x heads x nq x nk

// a * b, or false where it overflows int64.
bool MulFits(int64_t a, int64_t b, int64_t* product) {
  return !__builtin_mul_overflow(a, b, product);
}

// The bytes of `count` items of `item` bytes each; an Error (as for memory the system refuses)
// where the product overflows.
size_t BufferBytes(int64_t count, int64_t item, bool naive) {
  int64_t bytes = 0;
  UserCheck(MulFits(count, item, &bytes) && bytes <= std::numeric_limits<int64_t>::max() - 64,
            kWho, "out of memory for the ", naive ? "naive" : "fused", " path's buffers (", count,
            " x ", item, " bytes overflow 64 bits)");
  return static_cast<size_t>(bytes) + 64;
}

// Byte range [lo, hi) that a view can touch, for the overlap check (CheckView has made sure that
// it fits in 64 bits).
void Extent(const Tensor& t, intptr_t* lo, intptr_t* hi) {
  intptr_t low = reinterpret_cast<intptr_t>(t.data), high = low;
  for (int i = 0; i < t.rank; ++i) {
    const intptr_t span = static_cast<intptr_t>((t.sizes[i] - 1) * t.strides[i] * DTypeSize(t.dtype));
    (span < 0 ? low : high) += span;
  }
  *lo = low;
  *hi = high + DTypeSize(t.dtype);
}

bool Overlaps(const Tensor& a, const Tensor& b) {
  intptr_t alo, ahi, blo, bhi;
  Extent(a, &alo, &ahi);
  Extent(b, &blo, &bhi);
  return alo < bhi && blo < ahi;
}

// Sizes >= 1, and the bytes the view spans (its sizes times its strides) within 64 bits.
void CheckSpan(const Tensor& t, const char* name) {
  int64_t span = DTypeSize(t.dtype);
  for (int i = 0; i < t.rank; ++i) {
    UserCheck(t.sizes[i] >= 1, kWho, "argument '", name, "': expected every size >= 1, got sizes ",
              SizesText(t));
    const int64_t stride = t.strides[i];
    int64_t step = 0;
    const bool fits = stride != std::numeric_limits<int64_t>::min() &&
                      MulFits(t.sizes[i] - 1, stride < 0 ? -stride : stride, &step) &&
                      MulFits(step, DTypeSize(t.dtype), &step) &&
                      !__builtin_add_overflow(span, step, &span);
    UserCheck(fits, kWho, "argument '", name,
              "': expected sizes and strides whose span fits in 64 bits, got sizes ", SizesText(t),
              " and stride ", t.strides[i], " on dimension ", i);
  }
}

void CheckView(const Tensor& t, const char* name, int rank) {
  UserCheck(t.data != nullptr, kWho, "argument '", name, "': expected a data pointer, got null");
  UserCheck(t.rank == rank, kWho, "argument '", name, "': expected a ", rank,
            "-D tensor (batch, heads, ", rank == 4 ? "seq, dim" : "nq", "), got rank ", t.rank);
  CheckSpan(t, name);
}

// Outputs must not write one element twice: sorted by stride, each dimension must step past the
// whole extent of the smaller ones.
void CheckWritable(const Tensor& t, const char* name) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size) of dimensions with size > 1
  for (int i = 0; i < t.rank; ++i) {
    if (t.sizes[i] == 1) continue;
    UserCheck(t.strides[i] > 0, kWho, "argument '", name,
              "': expected positive strides on an output, got stride ", t.strides[i],
              " on dimension ", i);
    dims.emplace_back(t.strides[i], t.sizes[i]);
  }
  std::sort(dims.begin(), dims.end());
  int64_t covered = 1;
  for (const auto& [stride, size] : dims) {
    UserCheck(stride >= covered, kWho, "argument '", name,
              "': expected non-overlapping strides on an output, got elements written twice");
    covered = stride * size;
  }
}

bool IsFloat(DType d) {
  return d == DType::kFloat64 || d == DType::kFloat32 || d == DType::kBFloat16;
}

}  // namespace

void Attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
               const AttentionOptions& options) {
  CheckView(q, "q", 4);
  CheckView(k, "k", 4);
  CheckView(v, "v", 4);
  CheckView(out, "out", 4);
  UserCheck(IsFloat(q.dtype), kWho, "argument 'q': expected dtype float64, float32 or bfloat16, got ",
            DTypeName(q.dtype));
  UserCheck(k.dtype == q.dtype, kWho, "argument 'k': expected dtype ", DTypeName(q.dtype),
            " (the dtype of q), got ", DTypeName(k.dtype));
  UserCheck(v.dtype == q.dtype, kWho, "argument 'v': expected dtype ", DTypeName(q.dtype),
            " (the dtype of q), got ", DTypeName(v.dtype));
  UserCheck(out.dtype == q.dtype || (q.dtype == DType::kBFloat16 && out.dtype == DType::kFloat32),
            kWho, "argument 'out': expected dtype ", DTypeName(q.dtype),
            q.dtype == DType::kBFloat16 ? " or float32" : "", " (from q), got ",
            DTypeName(out.dtype));

  const int64_t batch = q.sizes[0], hq = q.sizes[1], nq = q.sizes[2], dk = q.sizes[3];
  const int64_t hkv = k.sizes[1], nk = k.sizes[2], dv = v.sizes[3];
  UserCheck(k.sizes[0] == batch, kWho, "argument 'k': expected batch ", batch,
            " (the batch of q), got sizes ", SizesText(k));
  UserCheck(v.sizes[0] == batch, kWho, "argument 'v': expected batch ", batch,
            " (the batch of q), got sizes ", SizesText(v));
  UserCheck(k.sizes[3] == dk, kWho, "argument 'k': expected dim ", dk,
            " (the dim of q), got sizes ", SizesText(k));
  UserCheck(v.sizes[1] == hkv && v.sizes[2] == nk, kWho, "argument 'v': expected heads ", hkv,
            " and seq ", nk, " (those of k), got sizes ", SizesText(v));
  UserCheck(hq % hkv == 0, kWho, "argument 'k': expected a number of heads dividing the ", hq,
            " heads of q (GQA/MQA), got ", hkv);
  UserCheck(out.sizes[0] == batch && out.sizes[1] == hq && out.sizes[2] == nq && out.sizes[3] == dv,
            kWho, "argument 'out': expected sizes (", batch, ", ", hq, ", ", nq, ", ", dv,
            "), got ", SizesText(out));
  UserCheck(dk <= kMaxHeadDim, kWho, "argument 'q': expected dim at most ", kMaxHeadDim,
            ", got sizes ", SizesText(q));
  UserCheck(dv <= kMaxHeadDim, kWho, "argument 'v': expected dim at most ", kMaxHeadDim,
            ", got sizes ", SizesText(v));
  int64_t scores = 0;
  UserCheck(MulFits(batch, hq, &scores) && MulFits(scores, nq, &scores) &&
                MulFits(scores, nk, &scores) && scores <= kMaxScores,
            kWho, "arguments 'q' and 'k': expected batch x heads x nq x nk at most 2^62, got ",
            batch, " x ", hq, " x ", nq, " x ", nk);
  CheckWritable(out, "out");
  for (const auto& [t, name] : {std::pair{&q, "q"}, {&k, "k"}, {&v, "v"}}) {
    UserCheck(!Overlaps(out, *t), kWho, "argument 'out': expected memory disjoint from '", name,
              "', got overlapping ranges");
  }

  internal::AttentionProblem p;
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
    const Tensor& m = *options.mask;
    UserCheck(m.data != nullptr, kWho, "argument 'mask': expected a data pointer, got null");
    UserCheck(m.rank >= 1 && m.rank <= 4, kWho,
              "argument 'mask': expected rank 1 to 4 broadcastable to (batch, heads, nq, nk), got "
              "rank ", m.rank);
    CheckSpan(m, "mask");
    const bool additive_ok = m.dtype == q.dtype ||
                             (q.dtype == DType::kBFloat16 && m.dtype == DType::kFloat32);
    UserCheck(m.dtype == DType::kBool || additive_ok, kWho,
              "argument 'mask': expected dtype bool or ", DTypeName(q.dtype),
              q.dtype == DType::kBFloat16 ? " or float32" : "", ", got ", DTypeName(m.dtype));
    const int64_t full[4] = {batch, hq, nq, nk};
    const char* const names[4] = {"batch", "heads", "nq", "nk"};
    for (int i = 0; i < 4; ++i) {
      const int src = i - (4 - m.rank);  // right-aligned, as PyTorch broadcasting
      const int64_t size = src >= 0 ? m.sizes[src] : 1;
      UserCheck(size == full[i] || size == 1, kWho, "argument 'mask': expected size ", full[i],
                " or 1 for dimension ", names[i], " (broadcastable to (", batch, ", ", hq, ", ", nq,
                ", ", nk, ")), got sizes ", SizesText(m));
      p.ms[i] = (src >= 0 && size != 1) ? m.strides[src] : 0;
    }
    p.mask = m.data;
    p.mask_dtype = m.dtype;
  }

  p.bf16_path = internal::bf16_path_for_test;
  p.causal = options.is_causal;
  p.causal_offset = options.causal_align == CausalAlign::kBottomRight ? nk - nq : 0;
  p.scale = options.scale ? *options.scale : 1.0 / std::sqrt(static_cast<double>(dk));
  UserCheck(std::isfinite(p.scale), kWho, "argument 'scale': expected a finite number, got ",
            p.scale);

  if (options.lse) {
    const Tensor& l = *options.lse;
    CheckView(l, "lse", 3);
    const DType want = q.dtype == DType::kFloat64 ? DType::kFloat64 : DType::kFloat32;
    UserCheck(l.dtype == want, kWho, "argument 'lse': expected dtype ", DTypeName(want), ", got ",
              DTypeName(l.dtype));
    UserCheck(l.sizes[0] == batch && l.sizes[1] == hq && l.sizes[2] == nq, kWho,
              "argument 'lse': expected sizes (", batch, ", ", hq, ", ", nq, "), got ",
              SizesText(l));
    CheckWritable(l, "lse");
    UserCheck(!Overlaps(l, out), kWho,
              "argument 'lse': expected memory disjoint from 'out', got overlapping ranges");
    p.lse = l.data;
    for (int i = 0; i < 3; ++i) p.lse_s[i] = l.strides[i];
  }

  UserCheck(options.num_threads >= 0, kWho,
            "argument 'num_threads': expected 0 (default) or a positive count, got ",
            options.num_threads);
  int threads = options.num_threads > 0 ? options.num_threads : internal::DefaultThreadCount();
  UserCheck(options.block_q >= 0 && options.block_q % internal::kQueryQuantum == 0 &&
                options.block_q <= kMaxBlock,
            kWho, "argument 'block_q': expected 0 (from the cost model) or a positive multiple of ",
            internal::kQueryQuantum, " up to ", kMaxBlock, ", got ", options.block_q);
  UserCheck(options.block_k >= 0 && options.block_k % 32 == 0 && options.block_k <= kMaxBlock,
            kWho,
            "argument 'block_k': expected 0 (from the cost model) or a positive multiple of 32 up "
            "to ", kMaxBlock, ", got ", options.block_k);
  // Blocks, like the automatic split below, follow the machine's cores, not this call's thread
  // count: the key tile sets the online softmax's rounding and the query block which rows take the
  // few-query path, and results must not depend on the thread count.
  const internal::Blocks blocks =
      options.block_q > 0 && options.block_k > 0
          ? internal::Blocks{}
          : internal::ChooseBlocks(q.dtype, dk, dv, nq, nk, batch * hq, internal::MachineCores());
  p.bq = options.block_q > 0 ? options.block_q : blocks.bq;
  p.bk = options.block_k > 0 ? options.block_k : blocks.bk;
  UserCheck(options.kv_splits >= 0, kWho,
            "argument 'kv_splits': expected 0 (automatic) or a positive count, got ",
            options.kv_splits);
  const bool naive = options.impl == AttentionImpl::kNaive;
  // A few-query task holds at most kQueryQuantum rows: its bfloat16 Q bits share the K tile,
  // sized for that many (FewQueryTask).
  const int64_t few_query_rows = internal::few_query_rows_for_test;
  p.few_query_rows = std::min(
      few_query_rows >= 0 ? few_query_rows : internal::FewQueryRows(q.dtype),
      internal::kQueryQuantum);
  // Decoding with GQA: when the one query block takes the few-query path, the query heads that
  // share a key/value head form one task (as many as fit kQueryQuantum rows), so K and V are read
  // once for all of them.
  if (!naive && nq <= p.few_query_rows && nq <= p.bq) {
    for (int64_t g = hq / hkv; g > 1; --g) {
      if ((hq / hkv) % g == 0 && g * nq <= internal::kQueryQuantum) {
        p.head_group = g;
        break;
      }
    }
  }
  const int64_t qblocks = internal::RoundUpTo(nq, p.bq) / p.bq;
  const int64_t tasks = naive ? qblocks : batch * hq / p.head_group * qblocks;
  // The automatic split follows the machine's cores, not this call's thread count: the split
  // changes the rounding, and results must not depend on the thread count.
  if (!naive) {
    p.kv_splits = options.kv_splits > 0
                      ? std::min(options.kv_splits, internal::RoundUpTo(nk, p.bk) / p.bk)
                      : internal::KvSplits(tasks, internal::MachineCores(), nk, p.bk);
  }
  p.num_threads = static_cast<int>(std::clamp<int64_t>(threads, 1, tasks * p.kv_splits));

  // All memory the kernels touch besides the tensors is allocated here, before any kernel runs.
  const internal::TileLayout layout = internal::MakeTileLayout(p);
  p.scratch_per_thread = layout.total;
  std::unique_ptr<unsigned char[]> scratch, s_matrix, split_state;
  const int64_t acc = internal::AccBytes(p);
  // S^T of the naive path: rows padded to 32 keys (an AMX tile step), columns to whole query
  // chunks plus one cache line (the same L1-set spreading as the fused tiles, see TileLayout::ld).
  p.s_stride = internal::RoundUpTo(nq, internal::kQueryQuantum) + 64 / acc;
  const size_t scratch_bytes =
      BufferBytes(p.num_threads, static_cast<int64_t>(layout.total), naive);
  const size_t split_bytes =
      p.kv_splits > 1 ? BufferBytes(tasks * p.kv_splits, layout.bq_pad * (dv + 2) * acc, naive) : 0;
  const size_t s_bytes =
      naive ? BufferBytes(internal::RoundUpTo(nk, 32), p.s_stride * acc, naive) : 0;
  try {
    scratch.reset(new unsigned char[scratch_bytes]);
    if (split_bytes > 0) split_state.reset(new unsigned char[split_bytes]);
    if (s_bytes > 0) s_matrix.reset(new unsigned char[s_bytes]);
  } catch (const std::bad_alloc&) {
    throw Error(internal::Concat(kWho, "out of memory for the ", naive ? "naive" : "fused",
                                 " path's buffers (nq ", nq, ", nk ", nk, ")"));
  }
  auto align = [](unsigned char* ptr) {
    return reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(ptr) + 63) & ~uintptr_t{63});
  };
  p.scratch = align(scratch.get());
  if (split_state) p.split_state = align(split_state.get());
  if (naive) {
    p.s_matrix = align(s_matrix.get());
    internal::RunNaiveAttention(p);
  } else {
    internal::RunFusedAttention(p);
  }
}

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
