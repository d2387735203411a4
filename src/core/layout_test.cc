#include "moa/layout.h"

#include <gtest/gtest.h>

#include <random>

#include "moa/error.h"

namespace moa {
namespace {

TEST(Gamma, OraclesFromMoaRules) {
  EXPECT_EQ(Gamma({2, 1}, {3, 4}), 9);
  EXPECT_EQ(Gamma({0, 2, 1}, {1, 3, 2}), 5);
  EXPECT_EQ(GammaInverse(9, {3, 4}), (Index{2, 1}));
}

TEST(Gamma, ColumnMajorIsRowMajorOfReversed) {
  // γ_col(i; s) = γ(Φi; Φs)
  EXPECT_EQ(Gamma({2, 1}, {3, 4}, Layout::kColumnMajor), 2 + 1 * 3);
  EXPECT_EQ(Gamma({2, 1}, {3, 4}, Layout::kColumnMajor), Gamma({1, 2}, {4, 3}));
  EXPECT_EQ(GammaInverse(5, {3, 4}, Layout::kColumnMajor), (Index{2, 1}));
}

TEST(Gamma, ScalarShapeHasOneOffset) {
  EXPECT_EQ(Gamma({}, {}), 0);
  EXPECT_EQ(GammaInverse(0, {}), Index{});
}

TEST(Gamma, RoundTripsOnRandomShapes) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    Index s(rng() % 5);
    for (auto& e : s) e = 1 + rng() % 5;
    const int64_t total = Product(s);
    for (Layout layout : {Layout::kRowMajor, Layout::kColumnMajor}) {
      for (int64_t x = 0; x < total; ++x) {
        const Index i = GammaInverse(x, s, layout);
        ASSERT_EQ(Gamma(i, s, layout), x) << ToString(s) << " " << ToString(layout);
      }
    }
  }
}

TEST(Gamma, StridesMatchGamma) {
  EXPECT_EQ(Strides({2, 3, 4}), (Index{12, 4, 1}));
  EXPECT_EQ(Strides({2, 3, 4}, Layout::kColumnMajor), (Index{1, 2, 6}));
}

TEST(Gamma, RejectsBadIndicesWithAMessage) {
  try {
    Gamma({3, 0}, {3, 4});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "gamma: index <3 0> is out of bounds for shape <3 4> (axis 0 needs 0 <= i < 3)");
  }
  EXPECT_THROW(Gamma({1}, {3, 4}), Error);
  EXPECT_THROW(GammaInverse(12, {3, 4}), Error);
  EXPECT_THROW(GammaInverse(-1, {3, 4}), Error);
}

}  // namespace
}  // namespace moa
