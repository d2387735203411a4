// moa core — the shape rule of every MoA operation, on symbolic shapes. The eager evaluator and
// the expression DAG both take shapes from here, so each rule is written (and checked) once.
// A rule that is broken throws moa::Error naming the operation, the shapes and the rule; a
// condition that depends on unbound sizes is left for evaluation time to check.
#pragma once

#include <cstdint>

#include "moa/shape.h"

namespace moa::shape_rule {

Shape Psi(const Index& p, const Shape& a);           // k▽ρA, τp = k ≤ δA
Shape Take(const Index& k, const Shape& a);          // |k| ++ (τk▽ρA)
Shape Drop(const Index& k, const Shape& a);          // ((τk△ρA) − |k|) ++ (τk▽ρA)
Shape Reverse(const Shape& a);                       // ρA, δA ≥ 1
Shape Rotate(const Shape& a);                        // ρA, δA ≥ 1
Shape Transpose(const Shape& a);                     // Φ ρA
Shape Permute(const Index& p, const Shape& a);       // ρR_r = ρA_{p_r}
Shape Cat(const Shape& a, const Shape& b);           // <s₀A + s₀B> ++ (1▽ρA), 1▽ρA = 1▽ρB
Shape Reshape(const Shape& v, const Shape& a);       // v, π v = τA
Shape Pointwise(const Shape& a, const Shape& b);     // equal shapes, or one side scalar
Shape Outer(const Shape& a, const Shape& b);         // ρA ++ ρB
Shape Inner(const Shape& a, const Shape& b);         // (−1▽ρA) ++ (1▽ρB), last ρA = first ρB
Shape Reduce(const Shape& a);                        // 1▽ρA, δA ≥ 1
// Omega: the frames (δ−σ)△ρ on each side must be equal, or one of them a single cell.
// Returns the result frame; the caller appends the shape of f's result on one cell.
Shape OmegaFrame(int64_t sigma_l, const Shape& l, int64_t sigma_r, const Shape& r);

}  // namespace moa::shape_rule
