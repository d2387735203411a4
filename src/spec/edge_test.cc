// Issue 21, class 6: edge specs. A spec that returns an argument unchanged names its output apart
// from the argument (the two are different buffers), and it runs.
#include <string>

#include <gtest/gtest.h>

#include "driver/derivation.h"
#include "onf/interpreter.h"
#include "spec/spec_test_util.h"

namespace moa::spec {
namespace {

using testing::ParseBody;

TEST(SpecEdges, ReturningAnArgumentUnchangedRuns) {
  const Spec s = ParseBody("q: \"n d\"", "return q");
  ASSERT_EQ(s.output_names, std::vector<std::string>{"out"});
  const driver::Derivation d = driver::Derive(ParseBody("q: \"n d\"", "return q"));
  const onf::FlatBuffers out = onf::Interpret(d.onf, {{"n", 2}, {"d", 2}}, {{"q", {1, 2, 3, 4}}});
  EXPECT_EQ(out.at("out"), (std::vector<double>{1, 2, 3, 4}));
  for (const Bindings& zero : {Bindings{{"n", 0}, {"d", 2}}, Bindings{{"n", 2}, {"d", 0}}})
    EXPECT_TRUE(onf::Interpret(d.onf, zero, {{"q", {}}}).at("out").empty());
}

TEST(SpecEdges, OutputNamesNeverRepeatAnArgumentOrEachOther) {
  EXPECT_EQ(ParseBody("q: \"n d\", k: \"n d\"", "return k, q").output_names, (std::vector<std::string>{"out0", "out1"}));
  EXPECT_EQ(ParseBody("q: \"n d\"", "x = -q\nreturn x, x").output_names, (std::vector<std::string>{"x", "out1"}));
  EXPECT_EQ(ParseBody("out: \"n d\"", "return out").output_names, (std::vector<std::string>{"out0"}));
  EXPECT_EQ(ParseBody("out: \"n d\", out0: \"n\"", "return out").output_names, (std::vector<std::string>{"out0_1"}));
  const driver::Derivation d = driver::Derive(ParseBody("q: \"n d\", k: \"n d\"", "return k, q"));
  const onf::FlatBuffers out = onf::Interpret(d.onf, {{"n", 1}, {"d", 2}}, {{"q", {1, 2}}, {"k", {3, 4}}});
  EXPECT_EQ(out.at("out0"), (std::vector<double>{3, 4}));
  EXPECT_EQ(out.at("out1"), (std::vector<double>{1, 2}));
}

}  // namespace
}  // namespace moa::spec
