#include "dnf/dnf.h"

#include <gtest/gtest.h>

#include "expr/torch_ops.h"

namespace moa::dnf {
namespace {

namespace t = expr::torch;
const Extent n = Extent::Symbol("n"), m = Extent::Symbol("m"), dk = Extent::Symbol("dk"),
             dv = Extent::Symbol("dv");

struct Attention {
  expr::Expr q = expr::Input("q", {n, dk}), k = expr::Input("k", {m, dk}), v = expr::Input("v", {m, dv});
  expr::Expr out = t::MatMul(
      t::Softmax(t::Arith(BinaryOp::kDiv, t::MatMul(q, t::Transpose(k, -2, -1)),
                          expr::Map(UnaryOp::kSqrt, expr::Size(dk))), -1), v);
};

TEST(Dnf, AttentionPsiReducesToLoadsOnInputs) {
  Attention a;
  const Dnf d = PsiReduce({a.q, a.k, a.v}, {a.out}, {"out"});
  EXPECT_EQ(LoadedInputs(d.outputs[0].body), (std::set<std::string>{"q", "k", "v"}));
  std::cout << ToString(d);
}

TEST(Dnf, AttentionDerived) {
  Attention a;
  const Dnf d = Derive({a.q, a.k, a.v}, {a.out}, {"out"});
  std::cout << ToString(d) << ToString(d, Notation::kLatex);
  for (const Step& s : d.steps) std::cout << s.rule << ": " << s.text << "\n";
}

}  // namespace
}  // namespace moa::dnf
