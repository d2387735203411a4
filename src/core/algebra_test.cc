// Every operation's shape rule and ψ rule on small arrays whose elements are their own row-major
// offsets (Array::Iota), so each expected element can be read off the rule by hand.
#include "moa/algebra.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "moa/error.h"

namespace moa {
namespace {

Array A(Index shape) { return Array::Iota(std::move(shape)); }
std::vector<double> V(std::initializer_list<double> v) { return v; }

TEST(Array, PrintsNestedRows) {
  EXPECT_EQ(A({2, 2}).ToString(), "shape <2 2>: [[0 1], [2 3]]");
  EXPECT_EQ(A({2, 1, 2}).ToString(), "shape <2 1 2>: [[[0 1]], [[2 3]]]");
  EXPECT_EQ(A({3}).ToString(), "shape <3>: [0 1 2]");
  EXPECT_EQ(Array::Scalar(4).ToString(), "shape <>: 4");
  EXPECT_EQ(A({2, 0}).ToString(), "shape <2 0>: [[]]");
}

TEST(Psi, FullIndexGivesTheElementAtGamma) {
  const Array a = A({3, 4});
  EXPECT_EQ(Psi({2, 1}, a).scalar(), 9);
  EXPECT_EQ(Psi({2, 1}, a).shape(), Index{});
}

TEST(Psi, PartialIndexGivesAContiguousSubarray) {
  const Array a = A({2, 3, 4});
  const Array row = Psi({1}, a);
  EXPECT_EQ(row.shape(), (Index{3, 4}));
  EXPECT_EQ(row.data().front(), 12);
  EXPECT_EQ(row.data().back(), 23);
  // q ψ (p ψ A) = (p ++ q) ψ A
  EXPECT_EQ(Psi({2}, Psi({1, 1}, a)), Psi({1, 1, 2}, a));
  EXPECT_EQ(Psi({}, a), a);  // <> ψ A = A
}

TEST(Take, PositiveAndNegativeCounts) {
  const Array a = A({4, 3});
  EXPECT_EQ(Take({2}, a), Array({2, 3}, V({0, 1, 2, 3, 4, 5})));
  EXPECT_EQ(Take({-1}, a), Array({1, 3}, V({9, 10, 11})));
  EXPECT_EQ(Take({-2, 2}, a), Array({2, 2}, V({6, 7, 9, 10})));
  EXPECT_EQ(Take({0}, a).shape(), (Index{0, 3}));  // an empty axis
  EXPECT_EQ(Take({}, a), a);
}

TEST(Drop, PositiveAndNegativeCounts) {
  const Array a = A({4, 3});
  EXPECT_EQ(Drop({3}, a), Array({1, 3}, V({9, 10, 11})));
  EXPECT_EQ(Drop({-3}, a), Array({1, 3}, V({0, 1, 2})));
  EXPECT_EQ(Drop({1, -2}, a), Array({3, 1}, V({3, 6, 9})));
  EXPECT_EQ(Drop({4}, a).shape(), (Index{0, 3}));
}

TEST(Reverse, AxisZero) {
  EXPECT_EQ(Reverse(A({3, 2})), Array({3, 2}, V({4, 5, 2, 3, 0, 1})));
  EXPECT_EQ(Reverse(A({0})).shape(), (Index{0}));
}

TEST(Rotate, WrapsBothWays) {
  const Array a = A({4});
  EXPECT_EQ(Rotate(1, a), Array({4}, V({1, 2, 3, 0})));
  EXPECT_EQ(Rotate(-1, a), Array({4}, V({3, 0, 1, 2})));
  EXPECT_EQ(Rotate(9, a), Rotate(1, a));
  EXPECT_EQ(Rotate(1, A({2, 2})), Array({2, 2}, V({2, 3, 0, 1})));
}

TEST(Transpose, ReversesAllAxes) {
  const Array a = A({2, 3, 4});
  const Array t = Transpose(a);
  EXPECT_EQ(t.shape(), (Index{4, 3, 2}));
  EXPECT_EQ(t.at({3, 1, 0}), a.at({0, 1, 3}));
  EXPECT_EQ(Transpose(Array::Scalar(5)), Array::Scalar(5));
}

TEST(Permute, PyTorchConventionWithANonInvolutivePermutation) {
  // torch.arange(24).reshape(2,3,4).permute(2,0,1): result[i,j,k] = a[j,k,i], shape (4,2,3)
  const Array a = A({2, 3, 4});
  const Array p = Permute(a, {2, 0, 1});
  EXPECT_EQ(p.shape(), (Index{4, 2, 3}));
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t k = 0; k < 3; ++k) EXPECT_EQ(p.at({i, j, k}), a.at({j, k, i}));
  // <2 0 1> applied three times is the identity; twice is <1 2 0>.
  EXPECT_EQ(Permute(Permute(p, {2, 0, 1}), {2, 0, 1}), a);
  EXPECT_EQ(Permute(Permute(a, {2, 0, 1}), {2, 0, 1}), Permute(a, {1, 2, 0}));
  EXPECT_EQ(Permute(a, {2, 1, 0}), Transpose(a));
}

TEST(Cat, UnequalFirstExtents) {
  const Array a = A({1, 2}), b = A({3, 2});
  EXPECT_EQ(Cat(a, b), Array({4, 2}, V({0, 1, 0, 1, 2, 3, 4, 5})));
  EXPECT_EQ(Cat(A({0, 2}), b), b);
}

TEST(Reshape, RowAndColumnMajor) {
  const Array a = A({2, 3});
  EXPECT_EQ(Reshape({3, 2}, a), Array({3, 2}, V({0, 1, 2, 3, 4, 5})));
  // Column-major reads a in column order (0 3 1 4 2 5) and fills the new shape in column order.
  EXPECT_EQ(Reshape({3, 2}, a, Layout::kColumnMajor), Array({3, 2}, V({0, 4, 3, 2, 1, 5})));
  EXPECT_EQ(Reshape({}, A({1, 1})), Array::Scalar(0));
  EXPECT_EQ(Reshape({6}, a).shape(), (Index{6}));
}

TEST(Pointwise, EqualShapesAndScalarExtension) {
  const Array a = A({2, 2});
  EXPECT_EQ(Pointwise(BinaryOp::kAdd, a, a), Array({2, 2}, V({0, 2, 4, 6})));
  EXPECT_EQ(Pointwise(BinaryOp::kMul, Array::Scalar(2), a), Array({2, 2}, V({0, 2, 4, 6})));
  EXPECT_EQ(Pointwise(BinaryOp::kSub, a, Array::Scalar(1)), Array({2, 2}, V({-1, 0, 1, 2})));
  EXPECT_EQ(Pointwise(BinaryOp::kMax, Array::Scalar(1), Array::Scalar(3)), Array::Scalar(3));
  EXPECT_EQ(Map(UnaryOp::kNeg, a), Array({2, 2}, V({-0.0, -1, -2, -3})));
}

TEST(Outer, ShapeIsCatenationOfShapes) {
  const Array o = Outer(BinaryOp::kMul, A({2}), Array({3}, V({1, 10, 100})));
  EXPECT_EQ(o, Array({2, 3}, V({0, 0, 0, 1, 10, 100})));
  EXPECT_EQ(Outer(BinaryOp::kAdd, Array::Scalar(1), A({2})), Array({2}, V({1, 2})));
  EXPECT_EQ(Outer(BinaryOp::kAdd, A({2, 1}), A({1, 3})).shape(), (Index{2, 1, 1, 3}));
}

TEST(Inner, MatrixProductAndEmptyInnerAxis) {
  // <2 3> +.× <3 2>
  const Array c = Inner(BinaryOp::kAdd, BinaryOp::kMul, A({2, 3}), A({3, 2}));
  EXPECT_EQ(c, Array({2, 2}, V({10, 13, 28, 40})));
  // vector · vector gives a scalar
  EXPECT_EQ(Inner(BinaryOp::kAdd, BinaryOp::kMul, A({3}), A({3})), Array::Scalar(5));
  // max.+ (tropical) product
  EXPECT_EQ(Inner(BinaryOp::kMax, BinaryOp::kAdd, A({1, 2}), A({2, 1})), Array({1, 1}, V({2})));
  // p = 0: every element is the identity of op1
  EXPECT_EQ(Inner(BinaryOp::kAdd, BinaryOp::kMul, A({2, 0}), A({0, 3})), Array::Filled({2, 3}, 0));
  // rank 3 by rank 2: (−1▽ρA) ++ (1▽ρB)
  EXPECT_EQ(Inner(BinaryOp::kAdd, BinaryOp::kMul, A({2, 3, 4}), A({4, 5})).shape(), (Index{2, 3, 5}));
}

TEST(Reduce, AxisZeroAndEmptyAxis) {
  EXPECT_EQ(Reduce(BinaryOp::kAdd, A({3, 2})), Array({2}, V({6, 9})));
  EXPECT_EQ(Reduce(BinaryOp::kMax, A({3})), Array::Scalar(2));
  EXPECT_EQ(Reduce(BinaryOp::kAdd, A({0, 2})), Array::Filled({2}, 0));
  EXPECT_EQ(Reduce(BinaryOp::kMax, A({0})).scalar(), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(Reduce(BinaryOp::kMul, A({0})).scalar(), 1);
  // A non-associative op folds left when the axis is not empty.
  EXPECT_EQ(Reduce(BinaryOp::kSub, A({3})).scalar(), 0 - 1 - 2);
}

TEST(Omega, EqualFramesPairCells) {
  // Row-wise dot product: frames <2> and <2>, cells of rank 1.
  auto dot = [](const Array& x, const Array& y) {
    return Inner(BinaryOp::kAdd, BinaryOp::kMul, x, y);
  };
  const Array r = Omega(dot, 1, 1, A({2, 3}), A({2, 3}));
  EXPECT_EQ(r, Array({2}, V({0 + 1 + 4, 9 + 16 + 25})));
}

TEST(Omega, OneCellFrameExtends) {
  // Batched matrix product: l has frame <2>, r a single cell (empty frame).
  auto matmul = [](const Array& x, const Array& y) {
    return Inner(BinaryOp::kAdd, BinaryOp::kMul, x, y);
  };
  const Array l = A({2, 2, 3}), r = A({3, 2});
  const Array out = Omega(matmul, 2, 2, l, r);
  EXPECT_EQ(out.shape(), (Index{2, 2, 2}));
  EXPECT_EQ(Psi({1}, out), matmul(Psi({1}, l), r));
  // A frame of one cell with rank 1 (<1>) extends as well, on either side.
  const Array r1 = Reshape({1, 3, 2}, r);
  EXPECT_EQ(Omega(matmul, 2, 2, l, r1), out);
  EXPECT_EQ(Omega(matmul, 2, 2, Reshape({1, 2, 3}, Psi({0}, l)), Reshape({2, 3, 2}, Cat(r, r))).shape(),
            (Index{2, 2, 2}));
}

TEST(Omega, ScalarCellsAndEmptyFrames) {
  auto add = [](const Array& x, const Array& y) { return Pointwise(BinaryOp::kAdd, x, y); };
  EXPECT_EQ(Omega(add, 0, 0, A({3}), Array::Scalar(10)), Array({3}, V({10, 11, 12})));
  const Array empty = Omega(add, 1, 1, A({0, 4}), A({0, 4}));
  EXPECT_EQ(empty.shape(), (Index{0, 4}));
}

TEST(Omega, CellResultsMustAgreeInShape) {
  auto ragged = [](const Array& x, const Array&) { return x.scalar() > 0 ? A({2}) : A({3}); };
  EXPECT_THROW(Omega(ragged, 0, 0, A({2}), A({2})), Error);
}

}  // namespace
}  // namespace moa
