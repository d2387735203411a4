// Each rule a user can break produces moa::Error with a message naming the operation, the shapes
// and the rule. Messages are pinned exactly: they are part of the user interface.
#include <gtest/gtest.h>

#include <functional>

#include "moa/algebra.h"
#include "moa/error.h"
#include "moa/shape_rules.h"

namespace moa {
namespace {

std::string MessageOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no moa::Error thrown)";
}

Array A(Index shape) { return Array::Iota(std::move(shape)); }

TEST(Errors, Inner) {
  EXPECT_EQ(MessageOf([] { Inner(BinaryOp::kAdd, BinaryOp::kMul, A({2, 5}), A({4, 3})); }),
            "inner product needs the last extent of A (5) to equal the first extent of B (4): "
            "A has shape <2 5>, B has shape <4 3>");
  EXPECT_EQ(MessageOf([] { Inner(BinaryOp::kAdd, BinaryOp::kMul, Array::Scalar(1), A({2})); }),
            "inner product needs an array with at least one axis, got a scalar (shape <>)");
}

TEST(Errors, SymbolicShapesNameTheSizes) {
  const Shape q{Extent::Symbol("n"), Extent::Symbol("dk")};
  const Shape k{Extent::Symbol("m"), Extent::Symbol("dv")};
  EXPECT_EQ(MessageOf([&] { shape_rule::Inner(q, k); }),
            "inner product needs the last extent of A (dk) to equal the first extent of B (m): "
            "A has shape <n dk>, B has shape <m dv>");
}

TEST(Errors, Psi) {
  EXPECT_EQ(MessageOf([] { Psi({1, 2, 0}, A({2, 3})); }),
            "psi: index <1 2 0> has 3 entries but A of shape <2 3> has only 2 axes "
            "(rule: tau i <= delta A)");
  EXPECT_EQ(MessageOf([] { Psi({2}, A({2, 3})); }),
            "psi: index <2> is out of bounds for shape <2 3> (axis 0 needs 0 <= i < 2)");
  EXPECT_EQ(MessageOf([] { Psi({-1}, A({2, 3})); }),
            "psi: index <-1> is out of bounds for shape <2 3> (axis 0 needs 0 <= i < 2)");
}

TEST(Errors, TakeAndDrop) {
  EXPECT_EQ(MessageOf([] { Take({1, 1, 1}, A({2, 3})); }),
            "take: the count vector <1 1 1> has 3 entries but A of shape <2 3> has only 2 axes "
            "(rule: tau k <= delta A)");
  EXPECT_EQ(MessageOf([] { Take({-3}, A({2, 3})); }),
            "take: count -3 on axis 0 exceeds the extent 2 of A (shape <2 3>; rule: |k_j| <= s_j)");
  EXPECT_EQ(MessageOf([] { Drop({0, 4}, A({2, 3})); }),
            "drop: count 4 on axis 1 exceeds the extent 3 of A (shape <2 3>; rule: |k_j| <= s_j)");
}

TEST(Errors, ReverseRotateReduceNeedAnAxis) {
  EXPECT_EQ(MessageOf([] { Reverse(Array::Scalar(1)); }),
            "reverse needs an array with at least one axis, got a scalar (shape <>)");
  EXPECT_EQ(MessageOf([] { Rotate(1, Array::Scalar(1)); }),
            "rotate needs an array with at least one axis, got a scalar (shape <>)");
  EXPECT_EQ(MessageOf([] { Reduce(BinaryOp::kAdd, Array::Scalar(1)); }),
            "reduce needs an array with at least one axis, got a scalar (shape <>)");
  EXPECT_EQ(MessageOf([] { Reduce(BinaryOp::kSub, A({0})); }),
            "reduce over an empty axis with 'sub', which has no identity element");
}

TEST(Errors, Permute) {
  EXPECT_EQ(MessageOf([] { Permute(A({2, 3}), {0}); }),
            "permute: the permutation <0> has 1 entries but A of shape <2 3> has 2 axes");
  EXPECT_EQ(MessageOf([] { Permute(A({2, 3, 4}), {0, 0, 1}); }),
            "permute: <0 0 1> is not a permutation of iota 3 (each axis 0..2 exactly once)");
}

TEST(Errors, Catenate) {
  EXPECT_EQ(MessageOf([] { Cat(A({2, 3}), A({2, 4})); }),
            "catenate needs equal trailing shapes (1 drop rho A = 1 drop rho B): A has shape "
            "<2 3>, B has shape <2 4>");
}

TEST(Errors, Reshape) {
  EXPECT_EQ(MessageOf([] { Reshape({4, 2}, A({2, 3})); }),
            "reshape needs pi v = tau A: new shape <4 2> has 8 elements but A of shape <2 3> has 6");
  EXPECT_EQ(MessageOf([] { Reshape({-2, -3}, A({2, 3})); }),
            "reshape: new shape <-2 -3> has a negative extent");
}

TEST(Errors, PointwiseDoesNotBroadcastSilently) {
  EXPECT_EQ(MessageOf([] { Pointwise(BinaryOp::kAdd, A({2, 3}), A({3})); }),
            "pointwise operation needs equal shapes or a scalar side (no implicit broadcast; use "
            "omega): A has shape <2 3>, B has shape <3>");
}

TEST(Errors, Omega) {
  auto f = [](const Array& x, const Array&) { return x; };
  EXPECT_EQ(MessageOf([&] { Omega(f, 1, 1, A({2, 3}), A({3, 3})); }),
            "omega needs equal frames or a one-cell frame: left frame <2> (shape <2 3>, cell rank "
            "1), right frame <3> (shape <3 3>, cell rank 1)");
  EXPECT_EQ(MessageOf([&] { Omega(f, 3, 0, A({2, 3}), A({3})); }),
            "omega: left cell rank 3 must lie in 0..2 for an argument of shape <2 3>");
}

TEST(Errors, ArrayConstruction) {
  EXPECT_EQ(MessageOf([] { Array({2, 2}, {1, 2, 3}); }), "array of shape <2 2> needs 4 elements, got 3");
  EXPECT_EQ(MessageOf([] { A({2}).scalar(); }),
            "expected a scalar (shape <>), got an array of shape <2>");
}

}  // namespace
}  // namespace moa
