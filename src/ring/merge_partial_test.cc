// Tests of MergePartial: attention over all keys equals the merge of attentions over a split of
// them (float64 reference on both sides), and the identity and NaN rows.
#include "ring/merge_partial.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/attention_test_util.h"

namespace moa::internal {
namespace {

using testing_util::HostTensor;
using testing_util::Layout;
using testing_util::MakeTensor;

// The keys [begin, end) of a (1, 1, nk, d) tensor, as a view.
HostTensor Rows(const HostTensor& t, int64_t begin, int64_t end) {
  HostTensor part;
  part.view = t.view;
  part.view.data = static_cast<unsigned char*>(t.view.data) +
                   begin * t.view.strides[2] * DTypeSize(t.view.dtype);
  part.view.sizes[2] = end - begin;
  return part;
}

template <typename A>
void CheckSplitsMerge(double tolerance) {
  const int64_t nq = 9, nk = 40, dk = 8, dv = 6;
  std::mt19937 rng(3);
  HostTensor q = MakeTensor(DType::kFloat64, {1, 1, nq, dk}, Layout::kBhsd);
  HostTensor k = MakeTensor(DType::kFloat64, {1, 1, nk, dk}, Layout::kBhsd);
  HostTensor v = MakeTensor(DType::kFloat64, {1, 1, nk, dv}, Layout::kBhsd);
  testing_util::FillRandom(&q, &rng, -2, 2);
  testing_util::FillRandom(&k, &rng, -2, 2);
  testing_util::FillRandom(&v, &rng, -1, 1);
  const double scale = 0.5;
  // Causal at offset 3 with the keys cut at 2 and 23: rows 0..1 see no key of the last part.
  const testing_util::Reference whole =
      testing_util::ReferenceAttentionAt(q, k, v, nullptr, true, 3, scale);
  std::vector<A> o(nq * dv, A(0)), lse(nq, -std::numeric_limits<A>::infinity());
  for (auto [begin, end] : {std::pair<int64_t, int64_t>{0, 2}, {2, 23}, {23, nk}}) {
    const testing_util::Reference part = testing_util::ReferenceAttentionAt(
        q, Rows(k, begin, end), Rows(v, begin, end), nullptr, true, 3 - begin, scale);
    const std::vector<A> o_b(part.out.begin(), part.out.end());
    const std::vector<A> lse_b(part.lse.begin(), part.lse.end());
    MergePartial<A>(nq, dv, o.data(), lse.data(), o_b.data(), lse_b.data());
  }
  for (int64_t i = 0; i < nq * dv; ++i) EXPECT_NEAR(o[i], whole.out[i], tolerance) << i;
  for (int64_t i = 0; i < nq; ++i) EXPECT_NEAR(lse[i], whole.lse[i], tolerance) << i;
}

TEST(MergePartialTest, SplitKeysMergeToTheWholeFloat64) { CheckSplitsMerge<double>(1e-13); }
TEST(MergePartialTest, SplitKeysMergeToTheWholeFloat32) { CheckSplitsMerge<float>(1e-6); }

TEST(MergePartialTest, IdentityAndNan) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Rows: (-inf) + (x) = x exactly; (x) + (-inf) = x; (-inf) + (-inf) stays; NaN + x and
  // x + NaN are NaN.
  std::vector<double> o = {0, 0, 0.25, 0.5, 0, 0, 0.5, 0.5, 0.5, 0.5};
  std::vector<double> lse = {-inf, 1.5, -inf, nan, 1};
  const std::vector<double> o_b = {0.125, -3, 7, 7, 0, 0, 1, 2, 1, 2};
  const std::vector<double> lse_b = {0.75, -inf, -inf, 2, nan};
  MergePartial<double>(5, 2, o.data(), lse.data(), o_b.data(), lse_b.data());
  EXPECT_EQ(o[0], 0.125);
  EXPECT_EQ(o[1], -3);
  EXPECT_EQ(lse[0], 0.75);
  EXPECT_EQ(o[2], 0.25);
  EXPECT_EQ(o[3], 0.5);
  EXPECT_EQ(lse[1], 1.5);
  EXPECT_EQ(o[4], 0);
  EXPECT_EQ(lse[2], -inf);
  for (int64_t i : {6, 7, 8, 9}) EXPECT_TRUE(std::isnan(o[i])) << i;
  EXPECT_TRUE(std::isnan(lse[3]) && std::isnan(lse[4]));
}

}  // namespace
}  // namespace moa::internal
