// The worked examples of MOA_RULES.md as exact oracles for the eager evaluator.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "moa/algebra.h"
#include "moa/layout.h"

namespace moa {
namespace {

Array Random(Index shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  Array a = Array::Filled(std::move(shape), 0);
  for (double& x : a.data()) x = u(rng);
  return a;
}

const std::vector<double>& Flat(const Array& a) { return a.data(); }

TEST(WorkedExample, TransposeVanishes) {
  const int64_t n = 5, d = 3;
  const Array k = Random({n, d}, 1);
  const Array b = Transpose(k);
  // DNF: <i j> ψ ⍉K = <j i> ψ K; ONF of the materialised copy: B[i·n + j] = K[j·d + i].
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < n; ++j) {
      EXPECT_EQ(Psi({i, j}, b).scalar(), Psi({j, i}, k).scalar());
      EXPECT_EQ(Flat(b)[i * n + j], Flat(k)[j * d + i]);
    }
}

TEST(WorkedExample, CatenateAndDrop) {
  const Array b = Random({2, 4}, 2), c = Random({4, 6}, 3);
  const Array a = Cat(b, Drop({1, 2}, c));
  ASSERT_EQ(a.shape(), (Index{5, 4}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(Flat(a)[i * 4 + j], Flat(b)[i * 4 + j]);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(Flat(a)[8 + i * 4 + j], Flat(c)[8 + i * 6 + j]);
}

TEST(WorkedExample, TakeReverseDrop) {
  const Array a = Random({3, 5, 4}, 4);
  const Array x = Pointwise(BinaryOp::kMul, Take({2}, Reverse(a)), Drop({1}, Reverse(a)));
  ASSERT_EQ(x.shape(), (Index{2, 5, 4}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t l = 0; l < 20; ++l)
      EXPECT_EQ(Flat(x)[i * 20 + l], Flat(a)[(2 - i) * 20 + l] * Flat(a)[(1 - i) * 20 + l]);
}

// S = s · Q +.× ⍉K, computed with MoA operations.
Array Scores(const Array& q, const Array& k) {
  const double s = 1.0 / std::sqrt(static_cast<double>(q.shape()[1]));
  return Pointwise(BinaryOp::kMul, Array::Scalar(s),
                   Inner(BinaryOp::kAdd, BinaryOp::kMul, q, Transpose(k)));
}

// Row-wise softmax with the row max m(i) and normaliser z(i), by omega over rows.
Array Softmax(const Array& s) {
  auto row = [](const Array& x, const Array&) {
    const Array m = Reduce(BinaryOp::kMax, x);
    const Array e = Map(UnaryOp::kExp, Pointwise(BinaryOp::kSub, x, m));
    return Pointwise(BinaryOp::kDiv, e, Reduce(BinaryOp::kAdd, e));
  };
  return Omega(row, 1, 0, s, Array::Scalar(0));
}

TEST(WorkedExample, ScoresAndSoftmax) {
  const int64_t n = 4, m = 7, dk = 3;
  const Array q = Random({n, dk}, 5), k = Random({m, dk}, 6);
  const Array s = Scores(q, k), p = Softmax(s);
  const double scale = 1.0 / std::sqrt(3.0);
  for (int64_t i = 0; i < n; ++i) {
    double mi = -INFINITY, zi = 0;
    std::vector<double> si(m);
    for (int64_t l = 0; l < m; ++l) {
      double acc = 0;
      for (int64_t c = 0; c < dk; ++c) acc += Flat(q)[i * dk + c] * Flat(k)[l * dk + c];
      si[l] = scale * acc;
      EXPECT_NEAR(s.at({i, l}), si[l], 1e-15);
      mi = std::max(mi, si[l]);
    }
    for (int64_t l = 0; l < m; ++l) zi += std::exp(si[l] - mi);
    for (int64_t l = 0; l < m; ++l) EXPECT_NEAR(p.at({i, l}), std::exp(si[l] - mi) / zi, 1e-15);
  }
}

TEST(WorkedExample, AttentionOnePassEqualsThreePass) {
  const int64_t n = 5, m = 9, dk = 4, dv = 3;
  const Array q = Random({n, dk}, 7), k = Random({m, dk}, 8), v = Random({m, dv}, 9);
  const Array o = Inner(BinaryOp::kAdd, BinaryOp::kMul, Softmax(Scores(q, k)), v);
  ASSERT_EQ(o.shape(), (Index{n, dv}));
  const double scale = 0.5;
  for (int64_t i = 0; i < n; ++i) {
    // One pass with the online-softmax state (m, z, o).
    double mi = -INFINITY, zi = 0;
    std::vector<double> acc(dv, 0.0);
    for (int64_t l = 0; l < m; ++l) {
      double sil = 0;
      for (int64_t c = 0; c < dk; ++c) sil += Flat(q)[i * dk + c] * Flat(k)[l * dk + c];
      sil *= scale;
      const double m_new = std::max(mi, sil);
      const double rescale = std::exp(mi - m_new), w = std::exp(sil - m_new);
      zi = zi * rescale + w;
      for (int64_t e = 0; e < dv; ++e) acc[e] = acc[e] * rescale + w * Flat(v)[l * dv + e];
      mi = m_new;
    }
    for (int64_t e = 0; e < dv; ++e) EXPECT_NEAR(o.at({i, e}), acc[e] / zi, 1e-14);
  }
}

}  // namespace
}  // namespace moa
