// Issue 21, class 3: the compiler's time and output grow with the size of the DAG, not with its
// number of paths. n lines of `q = q + q` are n nodes but 2^n paths; a chain of negations once
// printed each operand twice. Shared subexpressions are printed, lowered and interpreted once.
#include <chrono>
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "driver/derivation.h"
#include "onf/interpreter.h"
#include "spec/spec_test_util.h"

namespace moa::spec {
namespace {

using testing::Source;

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int k = 0; k < n; ++k) out += s;
  return out;
}

std::string Doublings(int lines) { return Source("q: \"n d\"", Repeat("q = q + q\n", lines) + "return q"); }

// Everything `moa derive --steps --json --latex` prints.
size_t PrintedSize(const driver::Derivation& d) {
  return driver::ToText(d, true).size() + driver::ToLatex(d).size() + driver::ToJson(d, true).dump().size();
}

double Seconds(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(SpecSharing, DoublingLinesPrintLinearly) {
  // Twice the lines, about twice the text (it was 2^8 times as much).
  const size_t small = PrintedSize(driver::Derive(Parse(Doublings(8), "t.py")));
  const size_t large = PrintedSize(driver::Derive(Parse(Doublings(16), "t.py")));
  EXPECT_LT(large, 3 * small) << small << " -> " << large;
}

TEST(SpecSharing, SixtyDoublingsDeriveAndRunAtOnce) {
  double seconds = Seconds([] {
    const driver::Derivation d = driver::Derive(Parse(Doublings(60), "t.py"));
    EXPECT_LT(PrintedSize(d), size_t{200000});
    const std::string dnf = dnf::ToString(d.dnf);
    EXPECT_NE(dnf.find("t1(i, j) = (<i j> \xCF\x88 q) + (<i j> \xCF\x88 q)"), std::string::npos) << dnf;
    const onf::FlatBuffers out = onf::Interpret(d.onf, {{"n", 2}, {"d", 3}}, {{"q", {1, -2, 3, 0.5, 0, -1}}});
    const std::vector<double>& got = out.at("out");
    const double scale = std::ldexp(1.0, 60);  // 2^60 q, exactly
    const std::vector<double> want = {scale, -2 * scale, 3 * scale, 0.5 * scale, 0, -scale};
    EXPECT_EQ(got, want);
  });
  EXPECT_LT(seconds, 5.0);  // well under a second in a release build; sanitizers are slower
}

// The deepest chain of negations the front end accepts (see depth_test.cc): each negation printed
// its operand twice, 2^256 times in all.
TEST(SpecSharing, ChainOfNegationsDerivesAtOnce) {
  double seconds = Seconds([] {
    const driver::Derivation d =
        driver::Derive(Parse(Source("q: \"n d\"", "return " + Repeat("-", expr::kMaxDepth) + "q"), "t.py"));
    EXPECT_LT(PrintedSize(d), size_t{200000});
    const onf::FlatBuffers out = onf::Interpret(d.onf, {{"n", 1}, {"d", 2}}, {{"q", {1.5, -2}}});
    EXPECT_EQ(out.at("out"), (std::vector<double>{1.5, -2}));  // an even number of negations
  });
  EXPECT_LT(seconds, 5.0);
}

// The printer alone on a scalar chain as deep as ψ-reduction of the deepest spec can make one
// (2·kMaxDepth + 1): linear, each operand printed once.
TEST(SpecSharing, PrinterIsLinearInAChainOfNegations) {
  constexpr int kChain = 2 * expr::kMaxDepth + 1;
  dnf::Scalar s = dnf::Load("q", {dnf::Affine::Var("i")});
  for (int k = 0; k < kChain; ++k) s = dnf::Unary(UnaryOp::kNeg, s);
  for (dnf::Notation n : {dnf::Notation::kText, dnf::Notation::kLatex, dnf::Notation::kCode}) {
    const std::string text = dnf::ToString(s, n);
    EXPECT_LT(text.size(), size_t{kChain * 4 + 100});
    EXPECT_EQ(text.substr(0, 4), "----");
  }
}

// A shared subexpression of a few nodes stays inline (as the built-in derivations print); a
// larger one is defined once and named where it is used, in the DNF and in the ONF.
TEST(SpecSharing, SmallSharedPartsStayInlineLargeOnesAreNamed) {
  const driver::Derivation small = driver::Derive(Parse(Doublings(2), "t.py"));
  EXPECT_EQ(dnf::ToString(small.dnf),
            "<i j> \xCF\x88 out = (<i j> \xCF\x88 q) + (<i j> \xCF\x88 q) + (<i j> \xCF\x88 q) + (<i j> \xCF\x88 q)\n");
  // 6 lines: 64 loads, whose halves of 32 (63 nodes) are shared.
  const driver::Derivation large = driver::Derive(Parse(Doublings(6), "t.py"));
  const std::string dnf = dnf::ToString(large.dnf);
  EXPECT_EQ(dnf.rfind("t1(i, j) = (<i j> \xCF\x88 q) + (<i j> \xCF\x88 q) + ", 0), 0u) << dnf;
  EXPECT_NE(dnf.find("\n<i j> \xCF\x88 out = t1(i, j) + t1(i, j)\n"), std::string::npos) << dnf;
  const std::string onf = onf::ToString(large.onf);
  EXPECT_NE(onf.find("    double t = q[i*d + j] + q[i*d + j] + "), std::string::npos) << onf;
  EXPECT_NE(onf.find("    out[i*d + j] = t + t;\n"), std::string::npos) << onf;
}

}  // namespace
}  // namespace moa::spec
