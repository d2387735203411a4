// moa — runtime attention (stage: kernels, argument checks). See attention_checks.h.
#include "kernels/attention_checks.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "kernels/attention_problem.h"
#include "moa/error.h"

namespace moa::internal {
namespace {

// Limits that keep every size the kernels derive (tiles, tasks, buffers) inside int64: views
// with stride 0 can describe any sizes over a few bytes, and a size past these once overflowed
// the tile arithmetic into a short buffer (a crash where an error was due).
constexpr int64_t kMaxHeadDim = int64_t{1} << 24;
constexpr int64_t kMaxScores = int64_t{1} << 62;  // batch x heads x nq x nk
constexpr int64_t kMaxBlock = int64_t{1} << 16;

// Byte range [lo, hi) that a view can touch, for the overlap check (CheckView has made sure that
// it fits in 64 bits).
void Extent(const Tensor& t, intptr_t* lo, intptr_t* hi) {
  intptr_t low = reinterpret_cast<intptr_t>(t.data), high = low;
  for (int i = 0; i < t.rank; ++i) {
    const intptr_t span =
        static_cast<intptr_t>((t.sizes[i] - 1) * t.strides[i] * DTypeSize(t.dtype));
    (span < 0 ? low : high) += span;
  }
  *lo = low;
  *hi = high + DTypeSize(t.dtype);
}

}  // namespace

bool IsFloat(DType d) {
  return d == DType::kFloat64 || d == DType::kFloat32 || d == DType::kBFloat16;
}

bool Overlaps(const Tensor& a, const Tensor& b) {
  intptr_t alo, ahi, blo, bhi;
  Extent(a, &alo, &ahi);
  Extent(b, &blo, &bhi);
  return alo < bhi && blo < ahi;
}

void CheckSpan(const Tensor& t, const char* who, const char* name) {
  int64_t span = DTypeSize(t.dtype);
  for (int i = 0; i < t.rank; ++i) {
    UserCheck(t.sizes[i] >= 1, who, "argument '", name, "': expected every size >= 1, got sizes ",
              SizesText(t));
    const int64_t stride = t.strides[i];
    int64_t step = 0;
    const bool fits = stride != std::numeric_limits<int64_t>::min() &&
                      MulFits(t.sizes[i] - 1, stride < 0 ? -stride : stride, &step) &&
                      MulFits(step, DTypeSize(t.dtype), &step) &&
                      !__builtin_add_overflow(span, step, &span);
    UserCheck(fits, who, "argument '", name,
              "': expected sizes and strides whose span fits in 64 bits, got sizes ", SizesText(t),
              " and stride ", t.strides[i], " on dimension ", i);
  }
}

void CheckView(const Tensor& t, const char* who, const char* name, int rank) {
  UserCheck(t.data != nullptr, who, "argument '", name, "': expected a data pointer, got null");
  UserCheck(t.rank == rank, who, "argument '", name, "': expected a ", rank,
            "-D tensor (batch, heads, ", rank == 4 ? "seq, dim" : "nq", "), got rank ", t.rank);
  CheckSpan(t, who, name);
}

// Sorted by stride, each dimension must step past the whole extent of the smaller ones.
void CheckWritable(const Tensor& t, const char* who, const char* name) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size) of dimensions with size > 1
  for (int i = 0; i < t.rank; ++i) {
    if (t.sizes[i] == 1) continue;
    UserCheck(t.strides[i] > 0, who, "argument '", name,
              "': expected positive strides on an output, got stride ", t.strides[i],
              " on dimension ", i);
    dims.emplace_back(t.strides[i], t.sizes[i]);
  }
  std::sort(dims.begin(), dims.end());
  int64_t covered = 1;
  for (const auto& [stride, size] : dims) {
    UserCheck(stride >= covered, who, "argument '", name,
              "': expected non-overlapping strides on an output, got elements written twice");
    covered = stride * size;
  }
}

void CheckAttentionTensors(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                           const char* who) {
  CheckView(q, who, "q", 4);
  CheckView(k, who, "k", 4);
  CheckView(v, who, "v", 4);
  CheckView(out, who, "out", 4);
  UserCheck(IsFloat(q.dtype), who,
            "argument 'q': expected dtype float64, float32 or bfloat16, got ", DTypeName(q.dtype));
  UserCheck(k.dtype == q.dtype, who, "argument 'k': expected dtype ", DTypeName(q.dtype),
            " (the dtype of q), got ", DTypeName(k.dtype));
  UserCheck(v.dtype == q.dtype, who, "argument 'v': expected dtype ", DTypeName(q.dtype),
            " (the dtype of q), got ", DTypeName(v.dtype));
  UserCheck(out.dtype == q.dtype || (q.dtype == DType::kBFloat16 && out.dtype == DType::kFloat32),
            who, "argument 'out': expected dtype ", DTypeName(q.dtype),
            q.dtype == DType::kBFloat16 ? " or float32" : "", " (from q), got ",
            DTypeName(out.dtype));

  const int64_t batch = q.sizes[0], hq = q.sizes[1], nq = q.sizes[2], dk = q.sizes[3];
  const int64_t hkv = k.sizes[1], nk = k.sizes[2], dv = v.sizes[3];
  UserCheck(k.sizes[0] == batch, who, "argument 'k': expected batch ", batch,
            " (the batch of q), got sizes ", SizesText(k));
  UserCheck(v.sizes[0] == batch, who, "argument 'v': expected batch ", batch,
            " (the batch of q), got sizes ", SizesText(v));
  UserCheck(k.sizes[3] == dk, who, "argument 'k': expected dim ", dk,
            " (the dim of q), got sizes ", SizesText(k));
  UserCheck(v.sizes[1] == hkv && v.sizes[2] == nk, who, "argument 'v': expected heads ", hkv,
            " and seq ", nk, " (those of k), got sizes ", SizesText(v));
  UserCheck(hq % hkv == 0, who, "argument 'k': expected a number of heads dividing the ", hq,
            " heads of q (GQA/MQA), got ", hkv);
  UserCheck(out.sizes[0] == batch && out.sizes[1] == hq && out.sizes[2] == nq && out.sizes[3] == dv,
            who, "argument 'out': expected sizes (", batch, ", ", hq, ", ", nq, ", ", dv,
            "), got ", SizesText(out));
  UserCheck(dk <= kMaxHeadDim, who, "argument 'q': expected dim at most ", kMaxHeadDim,
            ", got sizes ", SizesText(q));
  UserCheck(dv <= kMaxHeadDim, who, "argument 'v': expected dim at most ", kMaxHeadDim,
            ", got sizes ", SizesText(v));
  int64_t scores = 0;
  UserCheck(MulFits(batch, hq, &scores) && MulFits(scores, nq, &scores) &&
                MulFits(scores, nk, &scores) && scores <= kMaxScores,
            who, "arguments 'q' and 'k': expected batch x heads x nq x nk at most 2^62, got ",
            batch, " x ", hq, " x ", nq, " x ", nk);
  CheckWritable(out, who, "out");
  for (const auto& [t, name] : {std::pair{&q, "q"}, {&k, "k"}, {&v, "v"}}) {
    UserCheck(!Overlaps(out, *t), who, "argument 'out': expected memory disjoint from '", name,
              "', got overlapping ranges");
  }
}

std::array<int64_t, 4> CheckMask(const Tensor& m, DType q_dtype, const int64_t full[4],
                                 const char* who) {
  UserCheck(m.data != nullptr, who, "argument 'mask': expected a data pointer, got null");
  UserCheck(m.rank >= 1 && m.rank <= 4, who,
            "argument 'mask': expected rank 1 to 4 broadcastable to (batch, heads, nq, nk), got "
            "rank ", m.rank);
  CheckSpan(m, who, "mask");
  const bool additive_ok =
      m.dtype == q_dtype || (q_dtype == DType::kBFloat16 && m.dtype == DType::kFloat32);
  UserCheck(m.dtype == DType::kBool || additive_ok, who, "argument 'mask': expected dtype bool or ",
            DTypeName(q_dtype), q_dtype == DType::kBFloat16 ? " or float32" : "", ", got ",
            DTypeName(m.dtype));
  const char* const names[4] = {"batch", "heads", "nq", "nk"};
  std::array<int64_t, 4> strides{};
  for (int i = 0; i < 4; ++i) {
    const int src = i - (4 - m.rank);  // right-aligned, as PyTorch broadcasting
    const int64_t size = src >= 0 ? m.sizes[src] : 1;
    UserCheck(size == full[i] || size == 1, who, "argument 'mask': expected size ", full[i],
              " or 1 for dimension ", names[i], " (broadcastable to (", full[0], ", ", full[1],
              ", ", full[2], ", ", full[3], ")), got sizes ", SizesText(m));
    strides[i] = (src >= 0 && size != 1) ? m.strides[src] : 0;
  }
  return strides;
}

void CheckOptions(const AttentionOptions& options, const char* who) {
  UserCheck(!options.scale || std::isfinite(*options.scale), who,
            "argument 'scale': expected a finite number, got ", options.scale.value_or(0));
  UserCheck(options.num_threads >= 0, who,
            "argument 'num_threads': expected 0 (default) or a positive count, got ",
            options.num_threads);
  UserCheck(options.block_q >= 0 && options.block_q % kQueryQuantum == 0 &&
                options.block_q <= kMaxBlock,
            who, "argument 'block_q': expected 0 (from the cost model) or a positive multiple of ",
            kQueryQuantum, " up to ", kMaxBlock, ", got ", options.block_q);
  UserCheck(options.block_k >= 0 && options.block_k % 32 == 0 && options.block_k <= kMaxBlock,
            who,
            "argument 'block_k': expected 0 (from the cost model) or a positive multiple of 32 up "
            "to ", kMaxBlock, ", got ", options.block_k);
  UserCheck(options.kv_splits >= 0, who,
            "argument 'kv_splits': expected 0 (automatic) or a positive count, got ",
            options.kv_splits);
}

void CheckLse(const Tensor& l, DType q_dtype, const int64_t sizes[3], const Tensor& out,
              const char* who) {
  CheckView(l, who, "lse", 3);
  const DType want = q_dtype == DType::kFloat64 ? DType::kFloat64 : DType::kFloat32;
  UserCheck(l.dtype == want, who, "argument 'lse': expected dtype ", DTypeName(want), ", got ",
            DTypeName(l.dtype));
  UserCheck(l.sizes[0] == sizes[0] && l.sizes[1] == sizes[1] && l.sizes[2] == sizes[2], who,
            "argument 'lse': expected sizes (", sizes[0], ", ", sizes[1], ", ", sizes[2],
            "), got ", SizesText(l));
  CheckWritable(l, who, "lse");
  UserCheck(!Overlaps(l, out), who,
            "argument 'lse': expected memory disjoint from 'out', got overlapping ranges");
}

void CheckReadsDisjointFromWrites(const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor* mask, const Tensor& out, const Tensor* lse,
                                  const char* who) {
  const std::pair<const Tensor*, const char*> reads[] = {{&q, "q"}, {&k, "k"}, {&v, "v"},
                                                         {mask, "mask"}};
  const std::pair<const Tensor*, const char*> writes[] = {{&out, "out"}, {lse, "lse"}};
  for (const auto& [in, in_name] : reads) {
    for (const auto& [written, out_name] : writes) {
      if (in == nullptr || written == nullptr) continue;
      UserCheck(!Overlaps(*in, *written), who, "argument '", in_name,
                "': expected memory disjoint from the output '", out_name,
                "', got overlapping ranges");
    }
  }
}

}  // namespace moa::internal
