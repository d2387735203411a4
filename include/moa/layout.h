// moa core — the layout functions γ. γ maps a full index of an array to the offset of its element
// in flat memory; γ⁻¹ maps back. Row-major: γ(i; s) = Σ_j i_j · Π_{k>j} s_k. Column-major:
// γ_col(i; s) = γ(Φi; Φs). With the ψ-correspondence theorem this is how ψ becomes loops.
#pragma once

#include <cstdint>
#include <string>

#include "moa/shape.h"

namespace moa {

enum class Layout { kRowMajor, kColumnMajor };

std::string ToString(Layout layout);

// Offsets and indices are checked: 0 ≤ i_j < s_j and 0 ≤ x < π s, or moa::Error.
int64_t Gamma(const Index& i, const Index& s, Layout layout = Layout::kRowMajor);
Index GammaInverse(int64_t x, const Index& s, Layout layout = Layout::kRowMajor);

// Row-major strides of shape s: stride_j = Π_{k>j} s_k (column-major: Π_{k<j} s_k).
Index Strides(const Index& s, Layout layout = Layout::kRowMajor);

}  // namespace moa
