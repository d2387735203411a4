// moa — ring attention (stage: ring, the monoid on partial results).
// In: two partial attentions of the same query rows over disjoint sets of keys, each as (o, lse):
// o the softmax-weighted mean of its value rows, lse the log-sum-exp of its scores. Out: the first
// replaced by the attention over both sets.
//
// This is the online-softmax monoid of DESIGN.md on (m, z, o) written with lse = m + log z and
// o normalised by z: (lse, o) ⊕ (lse', o') = (L, o e^{lse-L} + o' e^{lse'-L}) with
// L = log(e^{lse} + e^{lse'}). Its identity is (-inf, 0), the result of a row that sees no key.
#pragma once

#include <cstdint>

namespace moa::internal {

// rows x dv outputs o and o_b (contiguous rows), rows log-sum-exps. Where lse_b is -inf the row is
// left as it is; where lse is -inf it becomes (lse_b, o_b) exactly; a NaN lse makes the row NaN.
template <typename A>
void MergePartial(int64_t rows, int64_t dv, A* o, A* lse, const A* o_b, const A* lse_b);

}  // namespace moa::internal
