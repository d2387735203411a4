// The lifted one-pass ONF against the three-pass ONF of the same DNF, on every attention built-in,
// for tiles of 1, tiles that do not divide the sizes (tails), and tiles larger than the sizes.
#include "lift/online_softmax.h"

#include <gtest/gtest.h>

#include "driver/run.h"
#include "onf/interpreter.h"
#include "onf/testing.h"

namespace moa::lift {
namespace {

const std::vector<std::string> kAttention = {"attention", "attention_stable", "causal_attention",
                                             "masked_attention", "mha_attention", "example5_attention"};

TEST(LiftOnePass, AgreesWithThreePassOnfWithTails) {
  const std::vector<Bindings> size_sets = {
      {{"n", 1}, {"m", 1}, {"dk", 1}, {"dv", 1}, {"b", 1}, {"h", 1}},
      {{"n", 7}, {"m", 5}, {"dk", 3}, {"dv", 2}, {"b", 2}, {"h", 1}},
      {{"n", 9}, {"m", 13}, {"dk", 4}, {"dv", 3}, {"b", 1}, {"h", 2}},
  };
  // S > 1: split-KV, with ranges that get no key at all (m = 1, or 3 ranges of 4 keys for 5).
  const std::vector<Tiles> tile_sets = {{1, 1}, {2, 3}, {4, 4}, {16, 32}, {1, 1, 2}, {2, 3, 2}, {4, 4, 3}, {3, 2, 7}};
  for (const std::string& name : kAttention) {
    const driver::Derivation d = driver::Derive(driver::LoadSpec(name, true));
    uint64_t seed = 5;
    for (const Bindings& all : size_sets) {
      Bindings sizes;
      for (const std::string& s : d.spec.sizes) sizes[s] = all.at(s);
      std::map<std::string, Array> inputs;
      driver::DrawMissingInputs(d.spec, sizes, seed++, &inputs);
      onf::FlatBuffers flat;
      for (const auto& [k, a] : inputs) flat[k] = a.data();
      const std::vector<double> want = onf::Interpret(d.onf, sizes, flat).at("out");
      for (const Tiles& t : tile_sets) {
        const std::vector<double> got = onf::Interpret(LowerOnePass(d.dnf, t), sizes, flat).at("out");
        EXPECT_LE(MaxRelativeError(got, want), 1e-12)
            << name << " Bq=" << t.query << " Bk=" << t.key << " S=" << t.splits << " n=" << sizes["n"];
      }
    }
  }
}

TEST(LiftOnePass, TilesAreTheOnlyTemporariesAndAreBounded) {
  const driver::Derivation d = driver::Derive(driver::LoadSpec("attention", true));
  const onf::Onf lifted = LowerOnePass(d.dnf, {8, 16});
  Extent tile_elements = 0;
  for (const onf::Buffer& b : lifted.buffers)
    if (b.role == onf::Role::kTile) tile_elements = tile_elements + Size(b.shape);
  EXPECT_EQ(tile_elements, Extent(16) + Extent(8) * Extent::Symbol("dv"));  // m, z: 8 each; o: 8·dv
  // Split-KV: a state per range.
  Extent split_elements = 0;
  for (const onf::Buffer& b : LowerOnePass(d.dnf, {8, 16, 3}).buffers)
    if (b.role == onf::Role::kTile) split_elements = split_elements + Size(b.shape);
  EXPECT_EQ(split_elements, Extent(48) + Extent(24) * Extent::Symbol("dv"));
}

TEST(LiftOnePass, RefusesWhatIsNotASoftmaxWeightedSum) {
  const driver::Derivation d = driver::Derive(driver::LoadSpec("example4_softmax", true));
  try {
    LowerOnePass(d.dnf, {4, 4});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot lift: output 'P' is not a softmax-weighted sum"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(LowerOnePass(driver::Derive(driver::LoadSpec("attention", true)).dnf, {0, 4}), Error);
  EXPECT_THROW(LowerOnePass(driver::Derive(driver::LoadSpec("attention", true)).dnf, {4, 4, 0}), Error);
}

}  // namespace
}  // namespace moa::lift
