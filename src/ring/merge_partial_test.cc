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

// Partials at the ends of the dtype's range (issue 21, class 1): LSEs of 1e30 and of the dtype's
// largest and lowest values (a block of scores near the range, or masked with finfo.min), LSEs
// that differ by less than their ulp or by far more than e^88, outputs near the largest value,
// and a +inf LSE (+inf scores, whose rows are NaN). Each merge is finite where the attention over
// both blocks is, and equals it.
template <typename A>
void CheckExtremeLses() {
  const A inf = std::numeric_limits<A>::infinity();
  const A big = std::numeric_limits<A>::max(), low = std::numeric_limits<A>::lowest();
  const A near_max = big / 64 * 63;
  struct Row {
    A l, l_b, o, o_b;  // the partials: lse and a one-element output each
    A want_o, want_l;  // the merge (NaN: NaN)
  };
  const A nan = std::numeric_limits<A>::quiet_NaN();
  const A e1 = A(1e30), step = std::nextafter(e1, inf) - e1;  // adjacent values: weights e^-ulp
  const Row rows[] = {
      {e1, e1, 2, 4, 3, e1},                        // equal huge LSEs: half each
      {e1, e1 + step * 100, 2, 4, 4, e1 + step * 100},  // e^(-100 ulp) = 0: the larger alone
      {big, low, 2, 4, 2, big},                     // differ by more than the range: no overflow
      {low, low, 2, 4, 3, low},                     // two blocks masked with finfo.min
      {low, -inf, 2, 4, 2, low},                    // and the identity
      {A(0), A(0), near_max, near_max, near_max, A(std::log(2.0))},  // outputs near the largest
      {A(0), A(0), near_max, -near_max, 0, A(std::log(2.0))},
      {inf, A(1), 2, 4, nan, nan},  // a +inf score: NaN
  };
  for (const Row& r : rows) {
    A o = r.o, l = r.l;
    MergePartial<A>(1, 1, &o, &l, &r.o_b, &r.l_b);
    SCOPED_TRACE(::testing::Message() << "lse " << r.l << " and " << r.l_b);
    if (std::isnan(r.want_o)) {
      EXPECT_TRUE(std::isnan(o) && std::isnan(l)) << o << " " << l;
      continue;
    }
    EXPECT_TRUE(std::isfinite(o) && std::isfinite(l)) << o << " " << l;
    EXPECT_NEAR(o, r.want_o, std::fabs(r.want_o) * A(1e-6));
    EXPECT_NEAR(l, r.want_l, std::fabs(r.want_l) * A(1e-6));
  }
}

TEST(MergePartialTest, ExtremeLsesFloat32) { CheckExtremeLses<float>(); }
TEST(MergePartialTest, ExtremeLsesFloat64) { CheckExtremeLses<double>(); }

}  // namespace
}  // namespace moa::internal
