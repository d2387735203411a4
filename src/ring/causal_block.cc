// moa — ring attention (stage: ring, which keys a block of queries sees). See causal_block.h.
#include "ring/causal_block.h"

namespace moa::internal {

CausalBlock ClassifyCausalBlock(int64_t q_begin, int64_t nq, int64_t k_begin, int64_t nk,
                                int64_t global_offset) {
  // In 128 bits: the three terms can each be near 2^62.
  const __int128 offset = static_cast<__int128>(q_begin) + global_offset - k_begin;
  if (offset + nq - 1 < 0) return {CausalBlock::kHidden, 0};  // the last row sees no key
  if (offset >= nk - 1) return {CausalBlock::kShown, 0};      // the first row sees every key
  return {CausalBlock::kCut, static_cast<int64_t>(offset)};   // within (-nq, nk - 1)
}

}  // namespace moa::internal
