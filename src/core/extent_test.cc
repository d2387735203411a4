#include "moa/extent.h"

#include <gtest/gtest.h>

#include "moa/error.h"
#include "moa/shape.h"

namespace moa {
namespace {

const Extent n = Extent::Symbol("n"), dk = Extent::Symbol("dk");

TEST(Extent, ConstantsAndSymbols) {
  EXPECT_TRUE(Extent(7).IsConstant());
  EXPECT_EQ(Extent(7).Constant(), 7);
  EXPECT_EQ(Extent().Constant(), 0);
  EXPECT_FALSE(n.IsConstant());
  EXPECT_THROW(n.Constant(), InternalError);
  EXPECT_EQ(n.Symbols(), (std::vector<std::string>{"n"}));
}

TEST(Extent, CanonicalFormDecidesEquality) {
  EXPECT_EQ(n * dk, dk * n);
  EXPECT_EQ(n + n, Extent(2) * n);
  EXPECT_EQ((n + 3) - 3, n);
  EXPECT_EQ(n - n, Extent(0));
  EXPECT_NE(n, dk);
  EXPECT_EQ((n + 1) * (n - 1), n * n - 1);
}

TEST(Extent, Prints) {
  EXPECT_EQ(n.ToString(), "n");
  EXPECT_EQ((n * dk).ToString(true), "dk*n");
  EXPECT_EQ((Extent(2) * n + 4).ToString(true), "2*n + 4");
  EXPECT_EQ((n - 1).ToString(), "n - 1");
  EXPECT_EQ((Extent(0) - n).ToString(), "-n");
  EXPECT_EQ(Extent(-3).ToString(), "-3");
  EXPECT_EQ(ToString(Shape{n, dk}), "<n dk>");
  EXPECT_EQ(ToString(Shape{n + 2, 4}, true), "<(n + 2) 4>");
}

TEST(Extent, EvaluatesAndNamesMissingSizes) {
  EXPECT_EQ((n * dk + 1).Evaluate({{"n", 3}, {"dk", 4}}), 13);
  try {
    (n * dk).Evaluate({{"n", 3}});
    FAIL() << "expected moa::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("size 'dk' has no value"), std::string::npos) << e.what();
  }
}

TEST(Shape, VectorHelpers) {
  EXPECT_EQ(TakeVec(2, Index{3, 4, 5}), (Index{3, 4}));
  EXPECT_EQ(TakeVec(-1, Index{3, 4, 5}), (Index{5}));
  EXPECT_EQ(DropVec(1, Index{3, 4, 5}), (Index{4, 5}));
  EXPECT_EQ(DropVec(-2, Index{3, 4, 5}), (Index{3}));
  EXPECT_EQ(Iota(3), (Index{0, 1, 2}));
  EXPECT_EQ(Product(Index{}), 1);
  EXPECT_EQ(ToString(Index{}), "<>");
  EXPECT_EQ(Size(Shape{n, dk, 2}), Extent(2) * n * dk);
  EXPECT_THROW(TakeVec(4, Index{1, 2}), Error);
}

}  // namespace
}  // namespace moa
