// moa — ring attention (stage: ring, which keys a block of queries sees).
// In: a block of global query rows, a block of global key rows, and the causal diagonal of the
// whole problem. Out: whether causality hides the block entirely, shows it entirely, or cuts it,
// and then where the diagonal crosses it in the block's own indices.
//
// Lifting the key axis across ranks (DESIGN.md) leaves the causal guard j <= i + offset in global
// indices; in the block's local indices i', j' it is j' <= i' + (q_begin + offset - k_begin), the
// same guard with another offset, which the kernels take as it is.
#pragma once

#include <cstdint>

namespace moa::internal {

struct CausalBlock {
  enum Kind { kHidden, kCut, kShown } kind = kShown;
  // kCut: local query i sees local key j only where j <= i + offset.
  int64_t offset = 0;
};

// Queries [q_begin, q_begin + nq) against keys [k_begin, k_begin + nk) (nq, nk >= 1) when global
// query i sees global key j only where j <= i + global_offset. Begins and |global_offset| are at
// most 2^62.
CausalBlock ClassifyCausalBlock(int64_t q_begin, int64_t nq, int64_t k_begin, int64_t nk,
                                int64_t global_offset);

}  // namespace moa::internal
