// The accepted subset: each construct parses and lowers to the expected MoA nodes and shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "spec/spec_test_util.h"

namespace moa::spec {
namespace {

using testing::OutShape;
using testing::ParseBody;

constexpr char kQK[] = R"(q: Float[Tensor, "n dk"], k: Float[Tensor, "m dk"])";
constexpr char kX[] = R"(x: Float[Tensor, "n m"])";

expr::Kind RootKind(const Spec& s) { return s.outputs.at(0)->kind; }

TEST(SpecParse, ArgumentsFromAnnotations) {
  const Spec s = ParseBody(R"(q: Float[Tensor, "b h n dk"], mask: Bool[Tensor, "n m"], c: "4 dk")",
                           "return q", "Tensor");
  EXPECT_EQ(s.function, "f");
  ASSERT_EQ(s.params.size(), 3u);
  EXPECT_EQ(s.params[0].name, "q");
  EXPECT_EQ(ToString(s.params[0].shape), "<b h n dk>");
  EXPECT_EQ(s.params[0].type, expr::ElemType::kReal);
  EXPECT_EQ(s.params[0].loc.line, 7);
  EXPECT_EQ(s.params[0].loc.column, 7);
  EXPECT_EQ(s.params[1].type, expr::ElemType::kBool);
  EXPECT_EQ(ToString(s.params[2].shape), "<4 dk>");
  EXPECT_TRUE(s.params[2].shape[0].IsConstant());
  EXPECT_EQ(s.sizes, (std::vector<std::string>{"b", "h", "n", "dk", "m"}));
  ASSERT_EQ(s.inputs.size(), 3u);
  EXPECT_EQ(s.inputs[1]->kind, expr::Kind::kInput);
  EXPECT_EQ(s.inputs[1]->type, expr::ElemType::kBool);
  // Returning an argument returns the input node itself, not a copy.
  EXPECT_EQ(s.outputs[0], s.inputs[0]);
  // …but as an output of its own name: `q` names the input buffer (issue 21: `return q` ran into
  // a size error when both were one buffer).
  EXPECT_EQ(s.output_names, (std::vector<std::string>{"out"}));
}

TEST(SpecParse, ImportAliases) {
  const Spec s = Parse(
      "import torch as T\n"
      "from torch.nn.functional import softmax as sm\n"
      "import jaxtyping\n"
      "import torch.nn.functional\n"
      "def g(x: jaxtyping.Float[T.Tensor, \"n m\"]) -> jaxtyping.Float[T.Tensor, \"n m\"]:\n"
      "    return sm(T.exp(x), dim=-1) + torch.nn.functional.softmax(x, dim=0)\n",
      "a.py");
  EXPECT_EQ(s.function, "g");
  EXPECT_EQ(OutShape(s), "<n m>");
  EXPECT_EQ(RootKind(s), expr::Kind::kBinary);
}

TEST(SpecParse, CommentsDocstringsAndBlankLinesAreSkipped) {
  const Spec s = Parse(
      "\"\"\"Module docstring.\"\"\"\n"
      "# a comment\n"
      "import torch\n"
      "\n"
      "def f(x: \"n\",  # the input\n"
      "      y: \"n\"):\n"
      "    '''Docstring\n"
      "    over two lines.'''\n"
      "\n"
      "    # comment between statements\n"
      "    z = (x +\n"
      "         y)  # implicit line joining\n"
      "    w = z * \\\n"
      "        2\n"
      "    return w\n",
      "c.py");
  EXPECT_EQ(OutShape(s), "<n>");
  EXPECT_EQ(s.outputs[0]->label, "w");
  EXPECT_EQ(s.outputs[0]->loc.line, 13);
  EXPECT_EQ(s.outputs[0]->operands[0]->label, "z");
  EXPECT_EQ(s.outputs[0]->operands[0]->loc.line, 11);
}

TEST(SpecParse, AssignmentsCarryLabelAndLocation) {
  const Spec s = ParseBody(kQK, "scores = q @ k.T\nalias = scores\nsame = q\nreturn alias");
  const expr::Expr& out = s.outputs[0];
  EXPECT_EQ(out->kind, expr::Kind::kInner);
  EXPECT_EQ(out->label, "scores");  // the first name wins; `alias = scores` copies nothing
  EXPECT_EQ(out->loc.line, 8);
  EXPECT_EQ(out->loc.column, 5);
  EXPECT_EQ(s.output_names[0], "alias");
  // The transpose made on the same line has that line too.
  EXPECT_EQ(out->operands[1]->kind, expr::Kind::kPermute);
  EXPECT_EQ(out->operands[1]->loc.line, 8);
}

TEST(SpecParse, TupleReturnAndUnpacking) {
  const Spec s = ParseBody(kQK, "n, dk = q.shape\na, b = q * 2, k\nreturn a, b, q @ k.mT");
  ASSERT_EQ(s.outputs.size(), 3u);
  EXPECT_EQ(s.output_names, (std::vector<std::string>{"a", "b", "out2"}));
  EXPECT_EQ(OutShape(s, 0), "<n dk>");
  EXPECT_EQ(OutShape(s, 2), "<n m>");
  EXPECT_EQ(s.outputs[0]->label, "a");
}

TEST(SpecParse, MatmulSpellings) {
  for (const char* e : {"q @ k.transpose(0, 1)", "torch.matmul(q, k.T)", "q.matmul(k.mT)",
                        "q @ torch.transpose(k, -1, -2)", "q @ k.permute(1, 0)", "q @ k.permute((1, 0))",
                        "q @ k.permute(dims=[1, 0])", "q @ torch.permute(k, (1, 0))"}) {
    const Spec s = ParseBody(kQK, std::string("return ") + e);
    EXPECT_EQ(OutShape(s), "<n m>") << e;
    EXPECT_EQ(RootKind(s), expr::Kind::kInner) << e;
  }
}

TEST(SpecParse, BatchDimensionsBroadcast) {
  const Spec s = ParseBody(R"(q: "b h n dk", k: "m dk", bias: "h 1 m")", "return q @ k.mT + bias");
  EXPECT_EQ(OutShape(s), "<b h n m>");
  const Spec t = ParseBody(R"(q: "b 1 n dk", k: "h m dk")", "return torch.matmul(q, k.transpose(-2, -1))");
  EXPECT_EQ(OutShape(t), "<b h n m>");
  EXPECT_EQ(RootKind(t), expr::Kind::kInner);
  EXPECT_EQ(t.outputs[0]->axis, 2);  // frame rank: the broadcast batch dims
}

TEST(SpecParse, TransposeAndPermuteShapes) {
  const char* args = R"(x: "a b c")";
  EXPECT_EQ(OutShape(ParseBody(args, "return x.transpose(0, 2)")), "<c b a>");
  EXPECT_EQ(OutShape(ParseBody(args, "return x.mT")), "<a c b>");
  EXPECT_EQ(OutShape(ParseBody(args, "return x.permute(2, 0, 1)")), "<c a b>");
  EXPECT_EQ(OutShape(ParseBody(args, "return x.permute(-1, 0, 1)")), "<c a b>");
  EXPECT_EQ(OutShape(ParseBody(R"(x: "a b")", "return x.T")), "<b a>");
}

TEST(SpecParse, SizesStaySymbolic) {
  // q.size(-1), q.shape[-1] and an unpacked shape all name the size dk; math.sqrt of it is the
  // scalar expression sqrt(dk), bound only when sizes are.
  for (const char* d : {"q.size(-1)", "q.size(1)", "q.shape[-1]", "q.shape[1]", "q.size()[1]", "dk"}) {
    const Spec s = ParseBody(kQK, std::string("n, dk = q.shape\nreturn q @ k.T / math.sqrt(") + d + ")");
    const expr::Expr& scale = s.outputs[0]->operands[1];
    ASSERT_EQ(scale->kind, expr::Kind::kMap) << d;
    EXPECT_EQ(scale->unary, UnaryOp::kSqrt);
    ASSERT_EQ(scale->operands[0]->kind, expr::Kind::kSize);
    EXPECT_EQ(scale->operands[0]->size, Extent::Symbol("dk"));
  }
  const Spec s = ParseBody(kQK, "scale = 1 / math.sqrt(q.size(-1))\nreturn q @ k.T * scale");
  EXPECT_NE(expr::ToString(s.outputs).find("t3 = sqrt(dk) : <>"), std::string::npos) << expr::ToString(s.outputs);
  EXPECT_NE(expr::ToString(s.outputs).find("t4 = 1 / t3 : <>   # scale, line 8"), std::string::npos);
}

TEST(SpecParse, SizePowersAndArithmetic) {
  const Spec a = ParseBody(kQK, "return q * q.size(-1) ** -0.5");
  const expr::Expr& s = a.outputs[0]->operands[1];
  EXPECT_EQ(s->kind, expr::Kind::kMap);
  EXPECT_EQ(s->unary, UnaryOp::kRecip);
  EXPECT_EQ(s->operands[0]->unary, UnaryOp::kSqrt);
  // Integer arithmetic on sizes stays an extent: 2·n, and n + m − 1.
  const Spec b = ParseBody(kQK, "n = q.size(0)\nm = k.size(0)\nreturn torch.ones(2 * n, n + m - 1).tril(0)");
  EXPECT_EQ(OutShape(b), "<2·n (m + n - 1)>");
  // A size divided, or mixed with a float, becomes a scalar expression.
  const Spec c = ParseBody(kQK, "return q / (q.size(1) / 2)");
  EXPECT_EQ(c.outputs[0]->operands[1]->kind, expr::Kind::kBinary);
  EXPECT_EQ(c.outputs[0]->operands[1]->operands[0]->kind, expr::Kind::kSize);
}

TEST(SpecParse, SoftmaxSpellingsAgree) {
  const std::string want = expr::ToString(ParseBody(kX, "return torch.softmax(x, dim=-1)").outputs);
  for (const char* e : {"torch.softmax(x, -1)", "F.softmax(x, dim=-1)", "x.softmax(-1)", "x.softmax(dim=1)",
                        "torch.softmax(x, 1)", "torch.nn.functional.softmax(x, dim=-1)"}) {
    EXPECT_EQ(expr::ToString(ParseBody(kX, std::string("return ") + e).outputs), want) << e;
  }
  EXPECT_NE(want.find("max/ x (axis 1, kept) : <n 1>"), std::string::npos) << want;
}

TEST(SpecParse, Reductions) {
  EXPECT_EQ(OutShape(ParseBody(kX, "return x.amax(-1, keepdim=True)")), "<n 1>");
  EXPECT_EQ(OutShape(ParseBody(kX, "return torch.amax(x, dim=0)")), "<m>");
  EXPECT_EQ(OutShape(ParseBody(kX, "return torch.max(x, -1, keepdim=True).values")), "<n 1>");
  EXPECT_EQ(OutShape(ParseBody(kX, "return torch.max(x, dim=-1)[0]")), "<n>");
  EXPECT_EQ(OutShape(ParseBody(kX, "return x.max(0).values")), "<m>");
  EXPECT_EQ(OutShape(ParseBody(kX, "return x.sum(-1, keepdim=True)")), "<n 1>");
  EXPECT_EQ(OutShape(ParseBody(kX, "return torch.sum(x, dim=1)")), "<n>");
  EXPECT_EQ(OutShape(ParseBody(kX, "return x.sum(dim=(0,))")), "<m>");
  EXPECT_EQ(OutShape(ParseBody(kX, "return x - x.sum()")), "<n m>");
  EXPECT_EQ(OutShape(ParseBody(kX, "return x.mean(-1, keepdim=True)")), "<n 1>");
  const Spec m = ParseBody(kX, "return x.amax(-1)");
  EXPECT_EQ(RootKind(m), expr::Kind::kReduce);
  EXPECT_EQ(m.outputs[0]->binary, BinaryOp::kMax);
  EXPECT_EQ(m.outputs[0]->axis, 1);
  // torch.max of two tensors is the elementwise maximum.
  const Spec e = ParseBody(kX, "return torch.max(x, x * 2)");
  EXPECT_EQ(RootKind(e), expr::Kind::kBinary);
  EXPECT_EQ(e.outputs[0]->binary, BinaryOp::kMax);
}

TEST(SpecParse, StableSoftmaxByHand) {
  const Spec s = ParseBody(kX,
                           "m = x.amax(dim=-1, keepdim=True)\n"
                           "e = torch.exp(x - m)\n"
                           "return e / e.sum(dim=-1, keepdim=True)");
  EXPECT_EQ(OutShape(s), "<n m>");
  EXPECT_EQ(s.outputs[0]->binary, BinaryOp::kDiv);
  EXPECT_EQ(s.outputs[0]->operands[0]->label, "e");
  EXPECT_EQ(s.outputs[0]->operands[0]->unary, UnaryOp::kExp);
}

TEST(SpecParse, WhereAndMaskedFill) {
  const char* args = R"(x: Float[Tensor, "b n m"], mask: Bool[Tensor, "n m"])";
  for (const char* e : {"x.masked_fill(mask, float('-inf'))", "torch.masked_fill(x, mask, -math.inf)",
                        "torch.where(mask, float(\"-inf\"), x)", "x.masked_fill(mask=mask, value=-torch.inf)"}) {
    const Spec s = ParseBody(args, std::string("return ") + e);
    EXPECT_EQ(OutShape(s), "<b n m>") << e;
    ASSERT_EQ(RootKind(s), expr::Kind::kWhere) << e;
    EXPECT_EQ(s.outputs[0]->operands[1]->value, -std::numeric_limits<double>::infinity()) << e;
  }
  const Spec w = ParseBody(args, "return torch.where(mask, x, 0.0)");
  EXPECT_EQ(w.outputs[0]->operands[2]->kind, expr::Kind::kScalar);
  const Spec p = ParseBody(args, "return x.masked_fill(mask, math.inf)");
  EXPECT_EQ(p.outputs[0]->operands[1]->value, std::numeric_limits<double>::infinity());
}

TEST(SpecParse, ComparisonsAndLogic) {
  const char* args = R"(x: "n m", mask: Bool[Tensor, "n m"])";
  for (const char* e : {"x > 0", "x <= x", "x == 1", "x != 0", "x < 2", "x >= 0", "~mask", "(x > 0) & mask",
                        "mask | ~mask"}) {
    const Spec s = ParseBody(args, std::string("return ") + e);
    EXPECT_EQ(s.outputs[0]->type, expr::ElemType::kBool) << e;
    EXPECT_EQ(OutShape(s), "<n m>") << e;
  }
  EXPECT_EQ(ParseBody(args, "return ~mask").outputs[0]->unary, UnaryOp::kNot);
  EXPECT_EQ(ParseBody(args, "return x > 0").outputs[0]->binary, BinaryOp::kGreater);
}

TEST(SpecParse, CausalMasks) {
  const char* body_n = "n, m = q.size(0), k.size(0)\n";
  for (const char* e : {"torch.tril(torch.ones(n, m, dtype=torch.bool))",
                        "torch.ones(n, m, dtype=torch.bool, device=q.device).tril()",
                        "torch.tril(torch.ones((n, m), dtype=torch.bool), diagonal=0)",
                        "torch.ones(n, m, dtype=torch.bool).tril(diagonal=0)"}) {
    const Spec s = ParseBody(kQK, std::string(body_n) + "return " + e);
    EXPECT_EQ(OutShape(s), "<n m>") << e;
    ASSERT_EQ(RootKind(s), expr::Kind::kOuter) << e;
    EXPECT_EQ(s.outputs[0]->binary, BinaryOp::kGreaterEqual);
    EXPECT_EQ(s.outputs[0]->type, expr::ElemType::kBool);
  }
  // A diagonal offset shifts the row index: ι n + k ≥ ι m.
  const Spec d = ParseBody(kQK, std::string(body_n) + "return torch.ones(n, m, dtype=torch.bool).tril(1)");
  EXPECT_EQ(d.outputs[0]->operands[0]->kind, expr::Kind::kBinary);
  EXPECT_EQ(d.outputs[0]->operands[0]->operands[1]->value, 1);
  // triu(k) is the complement of tril(k - 1).
  const Spec u = ParseBody(kQK, std::string(body_n) + "return torch.triu(torch.ones(n, m, dtype=torch.bool), 1)");
  EXPECT_EQ(RootKind(u), expr::Kind::kMap);
  EXPECT_EQ(u.outputs[0]->unary, UnaryOp::kNot);
  // A float mask (the `mask == 0` idiom) is 1 inside the triangle and 0 outside.
  const Spec f = ParseBody(kQK, std::string(body_n) +
                                    "keep = torch.tril(torch.ones(n, m))\n"
                                    "return (q @ k.T).masked_fill(keep == 0, float('-inf'))");
  EXPECT_EQ(RootKind(f), expr::Kind::kWhere);
  EXPECT_EQ(f.outputs[0]->operands[0]->binary, BinaryOp::kEqual);
  EXPECT_EQ(f.outputs[0]->operands[0]->operands[0]->label, "keep");
  // tril of a tensor zeroes the upper triangle of its last two axes.
  const Spec t = ParseBody(R"(x: "b n m")", "return x.tril()");
  EXPECT_EQ(OutShape(t), "<b n m>");
  EXPECT_EQ(RootKind(t), expr::Kind::kWhere);
}

TEST(SpecParse, SlicesAreTakeAndDrop) {
  const char* args = R"(x: "5 n 4")";
  struct Case {
    const char* e;
    expr::Kind kind;
    Index counts;
    const char* shape;
  };
  for (const Case& c : {Case{"x[1:]", expr::Kind::kDrop, {1}, "<4 n 4>"}, Case{"x[:2]", expr::Kind::kTake, {2}, "<2 n 4>"},
                        Case{"x[-1:]", expr::Kind::kTake, {-1}, "<1 n 4>"}, Case{"x[:-2]", expr::Kind::kDrop, {-2}, "<3 n 4>"},
                        Case{"x[1:, :, 2:]", expr::Kind::kDrop, {1, 0, 2}, "<4 n 2>"},
                        Case{"x[0:]", expr::Kind::kInput, {}, "<5 n 4>"},
                        Case{"x[None:3]", expr::Kind::kTake, {3}, "<3 n 4>"}}) {
    const Spec s = ParseBody(args, std::string("return ") + c.e);
    EXPECT_EQ(RootKind(s), c.kind) << c.e;
    EXPECT_EQ(s.outputs[0]->counts, c.counts) << c.e;
    EXPECT_EQ(OutShape(s), c.shape) << c.e;
  }
  // A take on a later axis goes through a permutation (its leading extent may be symbolic).
  const Spec t = ParseBody(args, "return x[:, :, :3]");
  EXPECT_EQ(OutShape(t), "<5 n 3>");
  EXPECT_EQ(RootKind(t), expr::Kind::kPermute);
  EXPECT_EQ(t.outputs[0]->operands[0]->kind, expr::Kind::kTake);
}

TEST(SpecParse, FlipIsReverse) {
  const char* args = R"(x: "a b c")";
  for (const char* e : {"x.flip(0)", "torch.flip(x, dims=(0,))", "torch.flip(x, [0])", "x.flip(dims=[-3])"}) {
    const Spec s = ParseBody(args, std::string("return ") + e);
    EXPECT_EQ(RootKind(s), expr::Kind::kReverse) << e;
    EXPECT_EQ(OutShape(s), "<a b c>");
  }
  const Spec s = ParseBody(args, "return x.flip(1)");
  EXPECT_EQ(RootKind(s), expr::Kind::kPermute);
  EXPECT_EQ(s.outputs[0]->operands[0]->kind, expr::Kind::kReverse);
  EXPECT_EQ(ToString(s.outputs[0]->operands[0]->shape), "<b a c>");
  const Spec two = ParseBody(args, "return x.flip(0, 2)");
  EXPECT_EQ(RootKind(two), expr::Kind::kPermute);
}

TEST(SpecParse, CatAlongAnyDim) {
  const char* args = R"(a: "2 n", b: "3 n", c: "2 m")";
  for (const char* e : {"torch.cat([a, b])", "torch.cat((a, b), dim=0)", "torch.cat([a, b], 0)", "torch.concat([a, b], dim=-2)"}) {
    const Spec s = ParseBody(args, std::string("return ") + e);
    EXPECT_EQ(RootKind(s), expr::Kind::kCat) << e;
    EXPECT_EQ(OutShape(s), "<5 n>") << e;
  }
  const Spec s = ParseBody(args, "return torch.cat([a, c, a], dim=1)");
  EXPECT_EQ(OutShape(s), "<2 (m + 2·n)>");
  EXPECT_EQ(RootKind(s), expr::Kind::kPermute);
}

TEST(SpecParse, OuterProduct) {
  for (const char* e : {"torch.outer(a, b)", "a.outer(b)"}) {
    const Spec s = ParseBody(R"(a: "n", b: "m")", std::string("return ") + e);
    EXPECT_EQ(RootKind(s), expr::Kind::kOuter) << e;
    EXPECT_EQ(s.outputs[0]->binary, BinaryOp::kMul);
    EXPECT_EQ(OutShape(s), "<n m>");
  }
}

TEST(SpecParse, ArithmeticAndScalars) {
  const Spec s = ParseBody(kX, "return -x * 2 + 1 / x - (3 - 1) ** 2 + x ** 2 + x ** 0.5");
  EXPECT_EQ(OutShape(s), "<n m>");
  const Spec n = ParseBody(kX, "return x * (2 * 3.5)");  // numbers fold
  ASSERT_EQ(n.outputs[0]->operands[1]->kind, expr::Kind::kScalar);
  EXPECT_EQ(n.outputs[0]->operands[1]->value, 7.0);
  const Spec u = ParseBody(kX, "return -x");
  EXPECT_EQ(u.outputs[0]->unary, UnaryOp::kNeg);
  for (const char* e : {"torch.exp(x)", "x.exp()", "torch.sqrt(x)", "x.log()", "torch.abs(x)", "x.rsqrt()"})
    EXPECT_EQ(RootKind(ParseBody(kX, std::string("return ") + e)), expr::Kind::kMap) << e;
}

TEST(SpecParse, FloatLiterals) {
  const double inf = std::numeric_limits<double>::infinity();
  const char* args = R"(x: "n", mask: Bool[Tensor, "n"])";
  struct Case {
    const char* e;
    double value;
  };
  for (const Case& c : {Case{"float('-inf')", -inf}, Case{"float(\"inf\")", inf}, Case{"-math.inf", -inf},
                        Case{"math.inf", inf}, Case{"float('1e3')", 1000}, Case{"float(2)", 2}, Case{"1e-3", 1e-3},
                        Case{".5", 0.5}, Case{"-torch.inf", -inf}}) {
    const Spec s = ParseBody(args, std::string("return x.masked_fill(mask, ") + c.e + ")");
    EXPECT_EQ(s.outputs[0]->operands[1]->value, c.value) << c.e;
  }
}

TEST(SpecParse, ReturnAnnotationsAreChecked) {
  EXPECT_EQ(OutShape(ParseBody(kQK, "return q @ k.T", R"(Float[Tensor, "n m"])")), "<n m>");
  EXPECT_EQ(ParseBody(kQK, "return q, k", R"(tuple[Tensor, Float[Tensor, "m dk"]])").outputs.size(), 2u);
  EXPECT_EQ(ParseBody(kQK, "return q", "torch.Tensor").outputs.size(), 1u);
}

TEST(SpecParse, ParseFileReadsTheFile) {
  const std::string path = ::testing::TempDir() + "spec_parse_file_test.py";
  {
    std::ofstream out(path);
    out << testing::Source(kX, "return x.T");
  }
  const Spec s = ParseFile(path);
  EXPECT_EQ(s.file, path);
  EXPECT_EQ(OutShape(s), "<m n>");
  std::remove(path.c_str());
  try {
    ParseFile(path);
    ADD_FAILURE() << "no error for a missing file";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot open spec file '" + path + "'");
  }
}

}  // namespace
}  // namespace moa::spec
