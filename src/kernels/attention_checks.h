// moa — runtime attention (stage: kernels, argument checks).
// In: the user's tensors, and `who`, the entry point to name in messages ("moa::attention: ").
// Out: nothing, or a moa::Error naming the argument and what was expected. Shared by
// moa::Attention and moa::RingAttention, whose shards must pass the same checks.
#pragma once

#include <array>
#include <cstdint>
#include <ostream>

#include "moa/attention.h"

namespace moa::internal {

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

// a * b, or false where it overflows int64.
inline bool MulFits(int64_t a, int64_t b, int64_t* product) {
  return !__builtin_mul_overflow(a, b, product);
}

bool IsFloat(DType d);
// Whether the byte ranges two views can touch intersect (both must have passed CheckView).
bool Overlaps(const Tensor& a, const Tensor& b);
// A data pointer, the rank given, sizes >= 1, and a byte span that fits in 64 bits.
void CheckView(const Tensor& t, const char* who, const char* name, int rank);
// Sizes >= 1, and the bytes the view spans (its sizes times its strides) within 64 bits.
void CheckSpan(const Tensor& t, const char* who, const char* name);
// Outputs must not write one element twice.
void CheckWritable(const Tensor& t, const char* who, const char* name);

// Everything Attention requires of q, k, v and out together: views, dtypes, conforming sizes
// (GQA heads, head dims within the kernels' arithmetic), out writable and disjoint from the inputs.
void CheckAttentionTensors(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                           const char* who);
// A mask broadcastable to full = (batch, heads, nq, nk) for q of q_dtype; returns its strides
// over those four dimensions, 0 where it broadcasts.
std::array<int64_t, 4> CheckMask(const Tensor& mask, DType q_dtype, const int64_t full[4],
                                 const char* who);
// The options that stand on their own: scale finite where given, num_threads, block_q, block_k
// and kv_splits in range.
void CheckOptions(const AttentionOptions& options, const char* who);
// A log-sum-exp output of sizes (batch, heads, nq) for q of q_dtype, disjoint from out.
void CheckLse(const Tensor& lse, DType q_dtype, const int64_t sizes[3], const Tensor& out,
              const char* who);
// Every tensor the kernels read while they write (q, k, v, the mask where given) disjoint from
// every one they write (out, lse where given): a mask that shared memory with out was read after
// the kernels had overwritten it, a different answer with no error. Needs the views checked.
void CheckReadsDisjointFromWrites(const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor* mask, const Tensor& out, const Tensor* lse,
                                  const char* who);

}  // namespace moa::internal
