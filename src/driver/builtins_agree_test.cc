// Every built-in spec, parsed from its Python source: the ONF interpreter agrees with the eager
// MoA evaluator to 1e-12 relative over sizes with 1s, odd sizes and n ≠ m. (Agreement with
// PyTorch on the same specs is tests/oracle/test_specs_vs_torch.py.)
#include <cmath>
#include <optional>

#include <gtest/gtest.h>

#include "driver/run.h"
#include "expr/evaluate.h"
#include "onf/testing.h"
#include "spec/builtins.h"

namespace moa::driver {
namespace {

TEST(BuiltinSpecs, OnfInterpreterAgreesWithEagerEvaluator) {
  const std::vector<Bindings> size_sets = {
      {{"n", 1}, {"m", 1}, {"dk", 1}, {"dv", 1}, {"b", 1}, {"h", 1}, {"d", 1}},
      {{"n", 3}, {"m", 5}, {"dk", 4}, {"dv", 2}, {"b", 2}, {"h", 3}, {"d", 3}},
      {{"n", 7}, {"m", 7}, {"dk", 3}, {"dv", 5}, {"b", 1}, {"h", 2}, {"d", 6}},
      {{"n", 9}, {"m", 4}, {"dk", 8}, {"dv", 3}, {"b", 2}, {"h", 1}, {"d", 2}},
  };
  for (const std::string& name : spec::BuiltinNames()) {
    const Derivation d = Derive(LoadSpec(name, true));
    uint64_t seed = 1;
    for (const Bindings& all : size_sets) {
      Bindings sizes;
      for (const std::string& s : d.spec.sizes) sizes[s] = all.at(s);
      std::map<std::string, Array> inputs;
      DrawMissingInputs(d.spec, sizes, seed++, &inputs);
      const std::vector<Array> got = driver::Run(d, sizes, inputs);
      const std::vector<Array> want = expr::Evaluate(d.spec.outputs, inputs, sizes);
      ASSERT_EQ(got.size(), want.size());
      for (size_t o = 0; o < got.size(); ++o) {
        EXPECT_EQ(got[o].shape(), want[o].shape()) << name;
        EXPECT_LE(MaxRelativeError(got[o].data(), want[o].data()), 1e-12) << name << " output " << o;
      }
    }
  }
}

// Issue 21, class 6: sizes 0 and 1 on every axis, one at a time (the others 2, 3, …), e.g. zero
// keys, where softmax over an empty axis then @ v is all zeros in PyTorch and in the eager MoA
// evaluation, and the factored DNF once gave 0 / 0; the lifted one-pass ONF as well. A user's
// amax over an empty axis is refused by both, as by PyTorch (tests/oracle checks PyTorch).
TEST(BuiltinSpecs, EdgeSizesAgreeOnEveryAxis) {
  for (const std::string& name : spec::BuiltinNames()) {
    const Derivation plain = Derive(LoadSpec(name, true));
    std::optional<Derivation> lifted;
    try {
      lifted = Derive(LoadSpec(name, true), {}, lift::Tiles{2, 2, 1});
    } catch (const Error&) {  // not a softmax-weighted sum: nothing to lift
    }
    uint64_t seed = 100;
    for (const std::string& edge : plain.spec.sizes) {
      for (int64_t value : {0, 1}) {
        Bindings sizes;
        int64_t other = 2;
        for (const std::string& s : plain.spec.sizes) sizes[s] = s == edge ? value : other++;
        std::map<std::string, Array> inputs;
        DrawMissingInputs(plain.spec, sizes, seed++, &inputs);
        std::vector<Array> want;
        try {
          want = expr::Evaluate(plain.spec.outputs, inputs, sizes);
        } catch (const Error& e) {
          // A user's amax over zero keys: refused, as PyTorch refuses it, by both evaluators.
          EXPECT_NE(std::string(e.what()).find("PyTorch refuses it too"), std::string::npos) << e.what();
          for (const Derivation* d : std::vector<const Derivation*>{&plain, lifted ? &*lifted : nullptr})
            if (d) EXPECT_THROW(driver::Run(*d, sizes, inputs), Error) << name << " with " << edge << "=" << value;
          continue;
        }
        for (const Derivation* d : std::vector<const Derivation*>{&plain, lifted ? &*lifted : nullptr}) {
          if (!d) continue;
          const std::vector<Array> got = driver::Run(*d, sizes, inputs);  // the lifted ONF where there is one
          ASSERT_EQ(got.size(), want.size());
          for (size_t o = 0; o < got.size(); ++o) {
            const std::string where = name + (d == &plain ? "" : " lifted") + " with " + edge + "=" + std::to_string(value);
            ASSERT_EQ(got[o].shape(), want[o].shape()) << where;
            // NaN exactly where the eager evaluation has it (dk = 0 scales 0 by 1 / sqrt(0), as
            // PyTorch does), else equal.
            std::vector<double> g, w;
            for (size_t k = 0; k < got[o].data().size(); ++k) {
              const double a = got[o].data()[k], b = want[o].data()[k];
              ASSERT_EQ(std::isnan(a), std::isnan(b)) << where << " element " << k;
              if (!std::isnan(a)) g.push_back(a), w.push_back(b);
            }
            EXPECT_LE(MaxRelativeError(g, w), 1e-12) << where;
          }
        }
      }
    }
  }
}

TEST(BuiltinSpecs, EveryAttentionVariantHasNoTemporaryArray) {
  for (const std::string& name : spec::BuiltinNames()) {
    const Derivation d = Derive(LoadSpec(name, true));
    EXPECT_TRUE(d.buffers.minimal) << name << ": " << d.buffers.why;
    for (const dnf::BufferEntry& b : d.buffers.buffers) {
      if (b.role != dnf::BufferRole::kInput && b.role != dnf::BufferRole::kOutput) {
        EXPECT_EQ(b.elements, Extent(1)) << name << " " << b.name;
      }
    }
  }
}

TEST(BindSizes, ErrorsNameTheSizeAndTheInputs) {
  const spec::Spec s = LoadSpec("attention", true);
  std::map<std::string, Array> in{{"q", Array::Filled({2, 4}, 0)}, {"k", Array::Filled({5, 3}, 0)}};
  try {
    BindSizes(s, in, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "size 'dk' is 4 from input 'q' but 3 from input 'k' (axis 1)");
  }
  in.erase("k");
  try {
    BindSizes(s, in, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "sizes without a value: give them with --set m=8,dv=8 (or pass inputs they can be read from)");
  }
  EXPECT_THROW(BindSizes(s, {{"q", Array::Filled({2, 4, 1}, 0)}}, {}), Error);
  EXPECT_THROW(BindSizes(s, {}, {{"zz", 3}}), Error);
  EXPECT_THROW(BindSizes(s, {{"x", Array::Scalar(0)}}, {}), Error);
  EXPECT_EQ(BindSizes(s, in, {{"n", 2}, {"m", 1}, {"dv", 2}}).at("dk"), 4);
}

}  // namespace
}  // namespace moa::driver
