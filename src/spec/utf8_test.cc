// The spec front end refuses source that is not UTF-8 at the first bad byte (found by
// fuzz/spec_fuzz.cc: a stray byte in a comment made the derivation's JSON throw), and takes UTF-8.
#include <gtest/gtest.h>

#include "spec/spec.h"

namespace moa::spec {
namespace {

constexpr const char* kHead = "def f(q: \"n d\"):\n";

TEST(SpecUtf8, RefusesBytesThatAreNotUtf8) {
  // A lone continuation byte, a truncated sequence, an overlong '/', a surrogate, past U+10FFFF.
  for (const std::string bad : {"\x80", "\xe7\x89", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    try {
      Parse(std::string(kHead) + "    # é " + bad + "\n    return q\n", "t.py");
      FAIL() << "accepted";
    } catch (const SpecError& e) {
      EXPECT_EQ(e.line(), 2);
      EXPECT_EQ(e.column(), 9);  // after the four spaces, '#', ' ', 'é' and ' '
      EXPECT_NE(std::string(e.what()).find("error: the source is not UTF-8 (byte 0x"), std::string::npos)
          << e.what();
    }
  }
}

TEST(SpecUtf8, TakesUtf8) {
  const Spec s = Parse(std::string(kHead) + "    # ψ-reduction, ⍉k, 𝔼\n    return q\n", "t.py");
  EXPECT_EQ(s.outputs.size(), 1u);
}

}  // namespace
}  // namespace moa::spec
