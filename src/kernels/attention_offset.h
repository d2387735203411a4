// moa — runtime attention (stage: kernels, internal entry point).
// In: Attention's arguments and a causal diagonal at any offset. Out: as Attention.
// Ring attention (src/ring) computes blocks of keys that sit elsewhere in the global sequence,
// whose causal diagonal is neither top-left nor bottom-right.
#pragma once

#include <cstdint>
#include <optional>

#include "moa/attention.h"

namespace moa::internal {

// Attention where, when options.is_causal, query row i attends to key j only if
// j <= i + causal_offset (any int64, negative too); std::nullopt takes options.causal_align as
// Attention does (0 top-left, nk - nq bottom-right). Rows that see no key give 0 and LSE -inf.
void AttentionWithCausalOffset(const Tensor& q, const Tensor& k, const Tensor& v,
                               const Tensor& out, const AttentionOptions& options,
                               std::optional<int64_t> causal_offset);

}  // namespace moa::internal
