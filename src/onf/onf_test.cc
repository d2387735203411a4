// The ONF interpreter against the eager MoA evaluator: ψ-reduction, hoisting, factoring and
// lowering must not change what a spec computes. Specs are built with the C++ builders here;
// the parsed built-in specs are checked the same way in tests/.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "expr/evaluate.h"
#include "moa/algebra.h"
#include "moa/error.h"
#include "expr/torch_ops.h"
#include "onf/interpreter.h"
#include "onf/onf.h"
#include "onf/testing.h"

namespace moa::onf {
namespace {

namespace t = expr::torch;
using expr::Expr;

Extent S(const char* name) { return Extent::Symbol(name); }

Array Random(const Index& shape, std::mt19937& rng) {
  std::normal_distribution<double> g;
  Array a = Array::Filled(shape, 0);
  for (double& x : a.data()) x = g(rng);
  return a;
}

// Max-norm relative difference between the ONF interpreter and the eager evaluator.
double Disagreement(const std::vector<Expr>& inputs, const Expr& out, const Bindings& sizes,
                    uint32_t seed, const std::map<std::string, Layout>& layouts = {}) {
  std::mt19937 rng(seed);
  std::map<std::string, Array> arrays;
  FlatBuffers flat;
  for (const Expr& in : inputs) {
    Array a = Random(Evaluate(in->shape, sizes), rng);
    if (in->type == expr::ElemType::kBool)
      for (double& x : a.data()) x = x > -0.5;  // mostly true
    arrays.emplace(in->name, a);
    auto it = layouts.find(in->name);
    flat[in->name] = it != layouts.end() && it->second == Layout::kColumnMajor
                         ? moa::Transpose(a).data()  // column-major = row-major of the reversed axes
                         : a.data();
  }
  const Array want = expr::Evaluate({out}, arrays, sizes)[0];
  const dnf::Dnf d = dnf::Derive(inputs, {out}, {"out"});
  return MaxRelativeError(Interpret(Lower(d, layouts), sizes, flat).at("out"), want.data());
}

struct Attn {
  Expr q, k, v, out;
  explicit Attn(bool causal = false, int64_t diagonal = 0) {
    q = expr::Input("q", {S("n"), S("dk")});
    k = expr::Input("k", {S("m"), S("dk")});
    v = expr::Input("v", {S("m"), S("dv")});
    Expr s = t::Arith(BinaryOp::kDiv, t::MatMul(q, t::Transpose(k, -2, -1)),
                      expr::Map(UnaryOp::kSqrt, expr::Size(S("dk"))));
    if (causal)
      s = t::MaskedFill(s, expr::Map(UnaryOp::kNot, t::TrilMask(S("n"), S("m"), diagonal)), -INFINITY);
    out = t::MatMul(t::Softmax(s, -1), v);
  }
};

TEST(OnfInterpreter, AttentionAgreesWithEagerOverShapes) {
  Attn a;
  uint32_t seed = 1;
  for (int64_t n : {1, 2, 7, 16})
    for (int64_t m : {1, 5, 16})
      for (int64_t dk : {1, 3, 8})
        for (int64_t dv : {1, 4}) {
          const double e = Disagreement({a.q, a.k, a.v}, a.out, {{"n", n}, {"m", m}, {"dk", dk}, {"dv", dv}}, seed++);
          EXPECT_LE(e, 1e-12) << "n=" << n << " m=" << m << " dk=" << dk << " dv=" << dv;
        }
}

TEST(OnfInterpreter, ColumnMajorInputsGiveTheSameResult) {
  Attn a;
  const Bindings sizes{{"n", 5}, {"m", 7}, {"dk", 3}, {"dv", 2}};
  EXPECT_LE(Disagreement({a.q, a.k, a.v}, a.out, sizes, 9, {{"k", Layout::kColumnMajor}, {"q", Layout::kColumnMajor}}), 1e-12);
}

TEST(OnfInterpreter, CausalAttentionBothAlignments) {
  for (int64_t diagonal : {0, 3}) {
    Attn a(true, diagonal);
    for (int64_t n : {1, 4, 9}) {
      const Bindings sizes{{"n", n}, {"m", n + diagonal}, {"dk", 4}, {"dv", 3}};
      EXPECT_LE(Disagreement({a.q, a.k, a.v}, a.out, sizes, 3), 1e-12) << n << " " << diagonal;
    }
  }
}

TEST(OnfInterpreter, BatchedMultiHeadWithBroadcastKeys) {
  // q: <b h n dk>, k and v shared across heads: <b 1 m dk> — matmul broadcasts the frame.
  const Expr q = expr::Input("q", {S("b"), S("h"), S("n"), S("dk")});
  const Expr k = expr::Input("k", {S("b"), 1, S("m"), S("dk")});
  const Expr v = expr::Input("v", {S("b"), 1, S("m"), S("dv")});
  const Expr out = t::MatMul(t::Softmax(t::MatMul(q, t::Transpose(k, -2, -1)), -1), v);
  EXPECT_EQ(out->shape, (Shape{S("b"), S("h"), S("n"), S("dv")}));
  const Bindings sizes{{"b", 2}, {"h", 3}, {"n", 5}, {"m", 4}, {"dk", 3}, {"dv", 2}};
  EXPECT_LE(Disagreement({q, k, v}, out, sizes, 4), 1e-12);
}

TEST(OnfInterpreter, WorkedExamplesOfStructuralOperations) {
  const Expr b = expr::Input("b", {2, 4}), c = expr::Input("c", {4, 6});
  EXPECT_LE(Disagreement({b, c}, expr::Cat(b, expr::Drop({1, 2}, c)), {}, 5), 0.0);
  const Expr a = expr::Input("a", {3, 5, 4});
  const Expr x = expr::Binary(BinaryOp::kMul, expr::Take({2}, expr::Reverse(a)), expr::Drop({1}, expr::Reverse(a)));
  EXPECT_LE(Disagreement({a}, x, {}, 6), 0.0);
  const Expr k = expr::Input("k", {S("n"), S("d")});
  EXPECT_LE(Disagreement({k}, expr::Transpose(k), {{"n", 3}, {"d", 5}}, 7), 0.0);
  EXPECT_LE(Disagreement({a}, expr::Take({-2, 3}, a), {}, 8), 0.0);
  EXPECT_LE(Disagreement({a}, expr::Outer(BinaryOp::kAdd, expr::Iota(3), expr::Reduce(BinaryOp::kMax, a, 1)), {}, 8), 0.0);
}

TEST(OnfInterpreter, MissingAndMisshapenInputsAreUserErrors) {
  Attn a;
  const Onf onf = Lower(dnf::Derive({a.q, a.k, a.v}, {a.out}, {"out"}));
  const Bindings sizes{{"n", 2}, {"m", 2}, {"dk", 2}, {"dv", 2}};
  FlatBuffers in{{"q", std::vector<double>(4)}, {"k", std::vector<double>(4)}};
  EXPECT_THROW(Interpret(onf, sizes, in), Error);
  in["v"] = std::vector<double>(3);
  try {
    Interpret(onf, sizes, in);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "input 'v' has 3 elements but its shape <m dv> = <2 2> needs 4");
  }
  EXPECT_THROW(Interpret(onf, {{"n", 2}}, in), Error);
}

}  // namespace
}  // namespace moa::onf
