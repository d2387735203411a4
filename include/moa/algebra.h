// moa core — the eager MoA evaluator on dense float64 arrays. Each operation computes its shape
// with moa/shape_rules.h and then every element of the result through the operation's ψ-rule
// (MOA_RULES.md): `i ψ (op …)` is rewritten to ψ on the operands. Operations act on axis 0
// unless stated; all arguments are checked and violations throw moa::Error.
#pragma once

#include <cstdint>
#include <functional>

#include "moa/array.h"
#include "moa/layout.h"
#include "moa/scalar_op.h"

namespace moa {

// i ψ A for a full or partial index (τi ≤ δA): shape (τi)▽ρA, taken as one contiguous run
// of the row-major data (the ψ-correspondence theorem).
Array Psi(const Index& i, const Array& a);

Array Take(const Index& k, const Array& a);  // k△A, negative k_j takes from the end
Array Drop(const Index& k, const Array& a);  // k▽A, negative k_j drops from the end
Array Reverse(const Array& a);               // Φ A along axis 0
Array Rotate(int64_t k, const Array& a);     // k θ A along axis 0: element i comes from (i+k) mod s₀
Array Transpose(const Array& a);             // ⍉A: all axes reversed
Array Permute(const Array& a, const Index& p);  // PyTorch `permute(p)`: result axis r is axis p_r
Array Cat(const Array& a, const Array& b);      // A ++ B along axis 0
// v ρ̂ A: the elements of A in the order of `layout`, laid into shape v.
Array Reshape(const Index& v, const Array& a, Layout layout = Layout::kRowMajor);

Array Map(UnaryOp op, const Array& a);
Array Pointwise(BinaryOp op, const Array& a, const Array& b);  // equal shapes or a scalar side
Array Outer(BinaryOp op, const Array& a, const Array& b);      // A •op B
// A op1.op2 B: op1-fold over k of (…k ψ A) op2 (k… ψ B); +.× is the matrix product.
Array Inner(BinaryOp op1, BinaryOp op2, const Array& a, const Array& b);
Array Reduce(BinaryOp op, const Array& a);  // op/ A over axis 0; empty axis → identity of op

// f Ω<σl σr>: f applied to the σl-cells of l and the σr-cells of r, pairwise over equal frames,
// or one side's single cell extended over the other side's frame. Every application of f must
// return the same shape.
using CellFunction = std::function<Array(const Array&, const Array&)>;
Array Omega(const CellFunction& f, int64_t sigma_l, int64_t sigma_r, const Array& l,
            const Array& r);

}  // namespace moa
