#include "dnf/dnf.h"

#include <gtest/gtest.h>

#include "dnf/buffers.h"
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

bool HasStep(const Dnf& d, const std::string& rule, const std::string& text) {
  for (const Step& s : d.steps)
    if (s.rule == rule && s.text.find(text) != std::string::npos) return true;
  return false;
}

TEST(Dnf, PsiReductionLeavesOnlyLoadsOnInputsAndKTransposeVanishes) {
  Attention a;
  const Dnf d = PsiReduce({a.q, a.k, a.v}, {a.out}, {"out"});
  EXPECT_EQ(LoadedInputs(d.outputs[0].body), (std::set<std::string>{"q", "k", "v"}));
  EXPECT_EQ(d.outputs[0].vars, (std::vector<std::string>{"i", "j"}));
  // ⍉k is read as k with the index reversed: <s r> ψ ⍉k ⇒ <r s> ψ k.
  EXPECT_TRUE(HasStep(d, "psi-permute", "<s r> \xCF\x88 (\xE2\x8D\x89k)  \xE2\x87\x92  <r s> \xCF\x88 k"));
  // The row max is reduced once and shared by the normaliser and the weighted sum.
  EXPECT_TRUE(HasStep(d, "share", "<i 0>"));
}

TEST(Dnf, HoistingBindsRowMaxAndNormaliserOncePerRow) {
  Attention a;
  const Dnf d = Derive({a.q, a.k, a.v}, {a.out}, {"out"});
  ASSERT_EQ(d.outputs[0].lets.size(), 2u);
  EXPECT_EQ(d.outputs[0].lets[0].name, "M");
  EXPECT_EQ(d.outputs[0].lets[0].level, 1u);
  EXPECT_EQ(d.outputs[0].lets[1].name, "Z");
  EXPECT_EQ(ToString(d),
            "M(i) = max_{r < m} (\xCE\xA3_{s < dk} ((<i s> \xCF\x88 q) \xC2\xB7 (<r s> \xCF\x88 k)) / sqrt(dk))\n"
            "Z(i) = \xCE\xA3_{p < m} (exp(\xCE\xA3_{u < dk} ((<i u> \xCF\x88 q) \xC2\xB7 (<p u> \xCF\x88 k)) / sqrt(dk) \xE2\x88\x92 M(i)))\n"
            "<i j> \xCF\x88 out = \xCE\xA3_{l < m} (exp(\xCE\xA3_{w < dk} ((<i w> \xCF\x88 q) \xC2\xB7 (<l w> \xCF\x88 k)) / sqrt(dk) \xE2\x88\x92 M(i)) \xC2\xB7 (<l j> \xCF\x88 v)) / Z(i)\n");
  EXPECT_TRUE(HasStep(d, "factor-divisor", "Z(i) does not depend on l"));
}

TEST(Dnf, BuffersReportHasNoTemporaryArray) {
  Attention a;
  const BuffersReport r = NoMaterialisedArrays(Derive({a.q, a.k, a.v}, {a.out}, {"out"}));
  EXPECT_TRUE(r.minimal) << r.why;
  for (const BufferEntry& b : r.buffers) {
    if (b.role == BufferRole::kInput || b.role == BufferRole::kOutput) continue;
    EXPECT_EQ(b.elements, Extent(1)) << b.name;
  }
  // The naive evaluation materialises the n×m scores several times over.
  EXPECT_EQ(MaterialisedElements(NaiveIntermediates({a.out})), Extent(5) * n * m + Extent(2) * n);
}

TEST(Dnf, CheckFailsOnAPartialIndexLoad) {
  Dnf d;
  d.inputs.push_back({"q", {n, dk}});
  d.outputs.push_back({"out", {n}, {"i"}, {}, Load("q", {Affine::Var("i")})});
  const BuffersReport r = NoMaterialisedArrays(d);
  EXPECT_FALSE(r.minimal);
  EXPECT_EQ(r.why, "not minimal: 'q' is read with a partial index (an array-valued \xCF\x88)");
}

TEST(Affine, PrintsAsGammaWritesIt) {
  const Affine i = Affine::Var("i"), k = Affine::Var("k");
  EXPECT_EQ((i * dk + k).ToString(true), "i*dk + k");
  EXPECT_EQ((Affine(m - Extent(1)) - i).ToString(), "m - 1 - i");
  EXPECT_EQ((i - Affine(2)).ToString(), "i - 2");
  EXPECT_EQ(Affine().ToString(), "0");
  EXPECT_EQ((i * dk + k).Evaluate({{"i", 2}, {"k", 1}}, {{"dk", 4}}), 9);
}

}  // namespace
}  // namespace moa::dnf
