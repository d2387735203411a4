// moa expr — PyTorch semantics on top of the MoA DAG. The spec front end maps each torch call to
// one of these; they handle negative dims, broadcasting (as omega with one-cell frames: Extend)
// and batched matmul (inner over a frame), so the MoA nodes stay the small set of expr.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "expr/expr.h"

namespace moa::expr::torch {

// dim in [-rank, rank) to [0, rank); throws moa::Error naming `what` otherwise.
int64_t NormalizeDim(int64_t dim, int64_t rank, const std::string& what);

// The broadcast shape of a and b (PyTorch rules: align at the last axis, 1 extends).
Shape BroadcastShape(const Shape& a, const Shape& b, const std::string& what);

Expr Arith(BinaryOp op, Expr a, Expr b);          // + - * / and comparisons, broadcasting
Expr Where(Expr cond, Expr a, Expr b);            // torch.where, broadcasting
Expr MaskedFill(Expr x, Expr mask, double value); // x.masked_fill(mask, value)
Expr MatMul(Expr a, Expr b);                      // a @ b, ranks ≥ 2, batch dims broadcast
Expr Transpose(Expr a, int64_t dim0, int64_t dim1);
Expr Permute(Expr a, const std::vector<int64_t>& dims);
Expr Amax(Expr a, int64_t dim, bool keepdim);      // refused over an empty axis, as in PyTorch
Expr Sum(Expr a, int64_t dim, bool keepdim);
Expr Softmax(Expr a, int64_t dim);                // exp(a − amax) / sum, as torch computes it
// torch.ones(n, m, dtype=torch.bool).tril(diagonal): true where j ≤ i + diagonal, as ι n •≥ ι m.
Expr TrilMask(Extent n, Extent m, int64_t diagonal);

}  // namespace moa::expr::torch
