// The tokenizer makes Python's layout explicit: NEWLINE at the end of each logical line, INDENT
// and DEDENT around blocks, nothing for comments, blank lines and lines joined inside brackets.
#include "spec/tokenizer.h"

#include <gtest/gtest.h>

namespace moa::spec::internal {
namespace {

std::string Kinds(const std::vector<Token>& tokens) {
  std::string s;
  for (const Token& t : tokens) {
    switch (t.kind) {
      case TokenKind::kName: s += "N(" + t.text + ")"; break;
      case TokenKind::kNumber: s += "#(" + t.text + ")"; break;
      case TokenKind::kString: s += "S(" + t.text + ")"; break;
      case TokenKind::kOp: s += t.text; break;
      case TokenKind::kNewline: s += " NL "; break;
      case TokenKind::kIndent: s += "IN "; break;
      case TokenKind::kDedent: s += "DE "; break;
      case TokenKind::kEnd: s += "END"; break;
    }
  }
  return s;
}

TEST(SpecTokenizer, LayoutTokens) {
  EXPECT_EQ(Kinds(Tokenize("def f(x):\n    # c\n\n    y = (x +\n  1)\n    return y\n", "t.py")),
            "N(def)N(f)(N(x)): NL IN N(y)=(N(x)+#(1)) NL N(return)N(y) NL DE END");
  // No final newline, and a backslash continuation.
  EXPECT_EQ(Kinds(Tokenize("a = b \\\n  ** 2", "t.py")), "N(a)=N(b)**#(2) NL END");
}

TEST(SpecTokenizer, StringsAndNumbers) {
  const std::vector<Token> t = Tokenize("x('a\\'b', \"\"\"d\no\"\"\", r\"n dk\", 1.5e-3, 7, .25)", "t.py");
  EXPECT_EQ(Kinds(t), "N(x)(S(a'b),S(d\no),S(n dk),#(1.5e-3),#(7),#(.25)) NL END");
  EXPECT_DOUBLE_EQ(t[8].number, 1.5e-3);
  EXPECT_FALSE(t[8].is_int);
  EXPECT_TRUE(t[10].is_int);
  EXPECT_EQ(t[10].number, 7);
}

TEST(SpecTokenizer, Positions) {
  const std::vector<Token> t = Tokenize("a\n  \n'''x\ny''' + b\n", "t.py");
  ASSERT_GE(t.size(), 6u);
  EXPECT_EQ(t[2].kind, TokenKind::kString);
  EXPECT_EQ(t[2].line, 3);
  EXPECT_EQ(t[2].column, 1);
  EXPECT_EQ(t[3].text, "+");
  EXPECT_EQ(t[3].line, 4);
  EXPECT_EQ(t[3].column, 6);
}

TEST(SpecTokenizer, OperatorsLongestFirst) {
  EXPECT_EQ(Kinds(Tokenize("a**=b//c->d<=e!=f", "t.py")), "N(a)**=N(b)//N(c)->N(d)<=N(e)!=N(f) NL END");
}

}  // namespace
}  // namespace moa::spec::internal
