#include "expr/torch_ops.h"

#include "moa/error.h"

namespace moa::expr::torch {

int64_t NormalizeDim(int64_t dim, int64_t rank, const std::string& what) {
  UserCheck(-rank <= dim && dim < rank, what, ": dim ", dim, " is out of range for a tensor with ",
            rank, " dimensions (expected ", -rank, " <= dim < ", rank, ")");
  return dim < 0 ? dim + rank : dim;
}

Shape BroadcastShape(const Shape& a, const Shape& b, const std::string& what) {
  const size_t d = std::max(a.size(), b.size());
  Shape out(d);
  for (size_t j = 0; j < d; ++j) {
    const Extent x = j < d - a.size() ? Extent(1) : a[j - (d - a.size())];
    const Extent y = j < d - b.size() ? Extent(1) : b[j - (d - b.size())];
    UserCheck(x == y || x == Extent(1) || y == Extent(1), what, ": shapes ", ToString(a), " and ",
              ToString(b), " do not broadcast (", x.ToString(), " vs ", y.ToString(), " at axis ",
              j, " of the result)");
    out[j] = x == Extent(1) ? y : x;
  }
  return out;
}

namespace {
// Extends a non-scalar operand to `shape`; scalars stay scalars (MoA scalar extension).
Expr To(Expr a, const Shape& shape) { return a->shape.empty() ? a : Extend(a, shape); }
}  // namespace

Expr Arith(BinaryOp op, Expr a, Expr b) {
  const Shape s = BroadcastShape(a->shape, b->shape, "'" + Symbol(op) + "'");
  return Binary(op, To(a, s), To(b, s));
}

Expr Where(Expr cond, Expr a, Expr b) {
  UserCheck(cond->type == ElemType::kBool, "where: the condition must be a bool tensor");
  const Shape s = BroadcastShape(BroadcastShape(cond->shape, a->shape, "where"), b->shape, "where");
  return expr::Where(To(cond, s), To(a, s), To(b, s));
}

Expr MaskedFill(Expr x, Expr mask, double value) {
  UserCheck(mask->type == ElemType::kBool, "masked_fill: the mask must be a bool tensor");
  BroadcastShape(x->shape, mask->shape, "masked_fill");
  UserCheck(BroadcastShape(x->shape, mask->shape, "masked_fill") == x->shape, "masked_fill: mask of shape ",
            ToString(mask->shape), " must broadcast to the tensor's shape ", ToString(x->shape));
  return expr::Where(To(mask, x->shape), Scalar(value), x);
}

Expr MatMul(Expr a, Expr b) {
  const int64_t ra = Dimension(a->shape), rb = Dimension(b->shape);
  UserCheck(ra >= 2 && rb >= 2, "matmul: both arguments need at least 2 dimensions, got shapes ",
            ToString(a->shape), " and ", ToString(b->shape));
  UserCheck(a->shape.back() == b->shape[static_cast<size_t>(rb - 2)],
            "matmul: the last extent of the left argument (", a->shape.back().ToString(),
            ") must equal the second-to-last extent of the right argument (",
            b->shape[static_cast<size_t>(rb - 2)].ToString(), "): shapes ", ToString(a->shape),
            " and ", ToString(b->shape));
  const Shape frame = BroadcastShape(TakeVec(ra - 2, a->shape), TakeVec(rb - 2, b->shape), "matmul batch dims");
  const Expr a2 = Extend(a, CatVec(frame, TakeVec(-2, a->shape)));
  const Expr b2 = Extend(b, CatVec(frame, TakeVec(-2, b->shape)));
  return Inner(a2, b2, Dimension(frame));
}

Expr Transpose(Expr a, int64_t dim0, int64_t dim1) {
  const int64_t r = Dimension(a->shape);
  dim0 = NormalizeDim(dim0, r, "transpose");
  dim1 = NormalizeDim(dim1, r, "transpose");
  Index p = moa::Iota(r);
  std::swap(p[static_cast<size_t>(dim0)], p[static_cast<size_t>(dim1)]);
  return expr::Permute(a, p);
}

Expr Permute(Expr a, const std::vector<int64_t>& dims) {
  const int64_t r = Dimension(a->shape);
  UserCheck(static_cast<int64_t>(dims.size()) == r, "permute: got ", dims.size(),
            " dims for a tensor with ", r, " dimensions");
  Index p;
  for (int64_t d : dims) p.push_back(NormalizeDim(d, r, "permute"));
  return expr::Permute(a, p);
}

Expr Amax(Expr a, int64_t dim, bool keepdim) {
  Node n = *Reduce(BinaryOp::kMax, a, NormalizeDim(dim, Dimension(a->shape), "amax"), keepdim);
  n.empty_is_error = true;  // PyTorch: "Expected reduction dim to have non-zero size"
  return std::make_shared<const Node>(std::move(n));
}

Expr Sum(Expr a, int64_t dim, bool keepdim) {
  return Reduce(BinaryOp::kAdd, a, NormalizeDim(dim, Dimension(a->shape), "sum"), keepdim);
}

Expr Softmax(Expr a, int64_t dim) {
  dim = NormalizeDim(dim, Dimension(a->shape), "softmax");
  // Softmax over an empty axis is empty in PyTorch, so its max may be over nothing.
  const Expr e = Arith(BinaryOp::kSub, a, Reduce(BinaryOp::kMax, a, dim, true));
  const Expr x = Map(UnaryOp::kExp, e);
  return Arith(BinaryOp::kDiv, x, Sum(x, dim, true));
}

Expr TrilMask(Extent n, Extent m, int64_t diagonal) {
  Expr rows = Iota(n);
  if (diagonal != 0) rows = Binary(BinaryOp::kAdd, rows, Scalar(static_cast<double>(diagonal)));
  return Outer(BinaryOp::kGreaterEqual, rows, Iota(m));
}

}  // namespace moa::expr::torch
