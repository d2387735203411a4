// The built-in specs parse, name their function after themselves, and lower to the expressions
// of MOA_RULES.md's worked examples.
#include <gtest/gtest.h>

#include "spec/builtins.h"
#include "spec/spec.h"

namespace moa::spec {
namespace {

Spec Builtin(const std::string& name) { return Parse(BuiltinSource(name), "<builtin:" + name + ">"); }

TEST(SpecBuiltins, EveryBuiltinParses) {
  const std::vector<std::string> names = BuiltinNames();
  EXPECT_EQ(names, (std::vector<std::string>{"attention", "attention_stable", "causal_attention", "mha_attention",
                                             "masked_attention", "example1_transpose", "example2_cat_drop",
                                             "example3_take_reverse_drop", "example4_softmax", "example5_attention"}));
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const Spec s = Builtin(name);
    EXPECT_EQ(s.function, name);
    EXPECT_EQ(s.file, "<builtin:" + name + ">");
    EXPECT_EQ(s.source, BuiltinSource(name));
    ASSERT_EQ(s.outputs.size(), 1u);
    EXPECT_EQ(s.inputs.size(), s.params.size());
  }
}

TEST(SpecBuiltins, AttentionShapes) {
  struct Case {
    const char* name;
    const char* out;
    std::vector<std::string> sizes;
  };
  for (const Case& c : {Case{"attention", "<n dv>", {"n", "dk", "m", "dv"}},
                        Case{"attention_stable", "<n dv>", {"n", "dk", "m", "dv"}},
                        Case{"causal_attention", "<n dv>", {"n", "dk", "m", "dv"}},
                        Case{"masked_attention", "<n dv>", {"n", "dk", "m", "dv"}},
                        Case{"mha_attention", "<b h n dv>", {"b", "h", "n", "dk", "m", "dv"}},
                        Case{"example4_softmax", "<n n>", {"n", "dk"}},
                        Case{"example5_attention", "<n dv>", {"n", "dk", "dv"}}}) {
    SCOPED_TRACE(c.name);
    const Spec s = Builtin(c.name);
    EXPECT_EQ(ToString(s.outputs[0]->shape), c.out);
    EXPECT_EQ(s.sizes, c.sizes);
    // Every attention variant scales by the size dk as a value: sqrt(dk).
    EXPECT_NE(expr::ToString(s.outputs).find("sqrt(dk) : <>"), std::string::npos);
  }
  EXPECT_NE(BuiltinSource("attention").find(
                "softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1) @ v"),
            std::string::npos);
  const Spec masked = Builtin("masked_attention");
  ASSERT_EQ(masked.params.size(), 4u);
  EXPECT_EQ(masked.params[3].type, expr::ElemType::kBool);
  EXPECT_NE(expr::ToString(Builtin("causal_attention").outputs).find("t3 = t1 •>= t2 : <n m>   # keep, line 13"),
            std::string::npos);
}

TEST(SpecBuiltins, WorkedExamplesLowerAsInMoaRules) {
  EXPECT_EQ(expr::ToString(Builtin("example1_transpose").outputs),
            "k : <n d>\n"
            "t1 = ⍉k : <d n>   # line 8\n");
  EXPECT_EQ(expr::ToString(Builtin("example2_cat_drop").outputs),
            "b : <2 4>\n"
            "c : <4 6>\n"
            "t1 = <1 2> ▽ c : <3 4>   # line 8\n"
            "t2 = b ++ t1 : <5 4>   # line 8\n");
  EXPECT_EQ(expr::ToString(Builtin("example3_take_reverse_drop").outputs),
            "a : <3 5 4>\n"
            "t1 = Φa : <3 5 4>   # line 8\n"
            "t2 = <2> △ t1 : <2 5 4>   # line 8\n"
            "t3 = Φa : <3 5 4>   # line 8\n"
            "t4 = <1> ▽ t3 : <2 5 4>   # line 8\n"
            "t5 = t2 * t4 : <2 5 4>   # line 8\n");
  const Spec s4 = Builtin("example4_softmax");
  EXPECT_EQ(s4.output_names, (std::vector<std::string>{"P"}));
  EXPECT_NE(expr::ToString(s4.outputs).find("t4 = 1 / t3 : <>   # line 10\nt5 = t2 * t4 : <n n>   # scores, line 10"),
            std::string::npos)
      << expr::ToString(s4.outputs);
}

TEST(SpecBuiltins, UnknownNameListsTheBuiltins) {
  try {
    BuiltinSource("attn");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "unknown built-in spec 'attn'; the built-ins are: attention, attention_stable, causal_attention, "
              "mha_attention, masked_attention, example1_transpose, example2_cat_drop, example3_take_reverse_drop, "
              "example4_softmax, example5_attention");
  }
}

}  // namespace
}  // namespace moa::spec
