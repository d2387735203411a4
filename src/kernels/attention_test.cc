// Tests of moa::attention (fused and naive) against the float64 reference of
// attention_test_util.h, over layouts, strides, GQA, masks and their broadcasts, causal alignments,
// LSE, edge sizes around the blocks, dtypes, thread counts and SIMD targets.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hwy/targets.h"
#include "kernels/amx/amx_bf16.h"
#include "kernels/attention_offset.h"
#include "kernels/attention_problem.h"
#include "kernels/attention_test_util.h"
#include "kernels/cpu/bf16_dot.h"
#include "kernels/kernel_path_test_util.h"
#include "kernels/machine.h"
#include "moa/attention.h"
#include "moa/error.h"

namespace moa {
namespace {

using testing_util::HostTensor;
using testing_util::Layout;
using testing_util::MakeTensor;

enum class MaskKind { kNone, kBool, kAdditive };

struct Case {
  DType dtype = DType::kFloat32;
  DType out_dtype = DType::kFloat32;
  int64_t batch = 1, hq = 1, hkv = 1, nq = 8, nk = 8, dk = 16, dv = 16;
  Layout layout = Layout::kBhsd;
  bool causal = false;
  bool bottom_right = false;
  // Any causal diagonal, through the internal entry point ring attention uses (overrides
  // bottom_right): query i sees key j only if j <= i + causal_offset.
  std::optional<int64_t> causal_offset;
  MaskKind mask = MaskKind::kNone;
  std::vector<int64_t> mask_sizes;  // empty: full (batch, hq, nq, nk)
  bool mask_zero_strides = false;   // broadcast through stride 0 on full-size dimensions instead
  bool fully_masked_rows = false;   // mask out every key of some query rows
  bool inf_where_hidden = false;    // additive mask (rank >= 2): +inf where causality hides it
  bool lse = true;
  std::optional<double> scale;
  int64_t block_q = 0, block_k = 0;  // 0: the cost model's choice
  int64_t kv_splits = 0;             // 0: automatic
  int64_t few_query_rows = -1;       // query blocks up to this size take the few-query path; -1: default
};

double Tolerance(DType d) {
  return d == DType::kFloat64 ? 1e-12 : d == DType::kFloat32 ? 1e-5 : 2e-2;
}

struct Run {
  std::vector<double> out, lse;
  std::vector<unsigned char> raw;  // the output bytes, to compare thread counts bit for bit
};

// Builds the inputs of a case (deterministically from its seed), runs the library and the reference.
class AttentionCase {
 public:
  explicit AttentionCase(const Case& c, unsigned seed = 7) : c_(c) {
    std::mt19937 rng(seed);
    q_ = MakeTensor(c.dtype, {c.batch, c.hq, c.nq, c.dk}, c.layout);
    k_ = MakeTensor(c.dtype, {c.batch, c.hkv, c.nk, c.dk}, c.layout);
    v_ = MakeTensor(c.dtype, {c.batch, c.hkv, c.nk, c.dv}, c.layout);
    // Scores of a few units make the softmax neither flat nor one-hot.
    testing_util::FillRandom(&q_, &rng, -1.5, 1.5);
    testing_util::FillRandom(&k_, &rng, -1.5, 1.5);
    testing_util::FillRandom(&v_, &rng, -1, 1);
    if (c.mask != MaskKind::kNone) {
      std::vector<int64_t> sizes = c.mask_sizes;
      if (sizes.empty()) sizes = {c.batch, c.hq, c.nq, c.nk};
      const DType md = c.mask == MaskKind::kBool ? DType::kBool
                       : c.dtype == DType::kBFloat16 ? DType::kFloat32 : c.dtype;
      mask_ = MakeTensor(md, sizes, Layout::kBhsd);
      std::uniform_real_distribution<double> u(0, 1);
      int64_t idx[4] = {0, 0, 0, 0};
      const Tensor& mv = mask_.view;
      const int r = mv.rank;
      auto size = [&](int d) { return d < r ? mv.sizes[d] : 1; };
      for (idx[0] = 0; idx[0] < size(0); ++idx[0])
        for (idx[1] = 0; idx[1] < size(1); ++idx[1])
          for (idx[2] = 0; idx[2] < size(2); ++idx[2])
            for (idx[3] = 0; idx[3] < size(3); ++idx[3]) {
              const double x = u(rng);
              double value = c.mask == MaskKind::kBool ? (x < 0.7) : (x < 0.2 ? -INFINITY : 4 * x - 2);
              // Query rows are the rank-2 dimension (if the mask has one); mask every 3rd fully.
              if (c.fully_masked_rows && r >= 2 && idx[r - 2] % 3 == 1) {
                value = c.mask == MaskKind::kBool ? 0 : -INFINITY;
              }
              // +inf where the last query that reads this element may not look.
              if (c.inf_where_hidden) {
                const int64_t offset = c.bottom_right ? c.nk - c.nq : 0;
                const int64_t last_query = size(r - 2) == 1 ? c.nq - 1 : idx[r - 2];
                if (idx[r - 1] > last_query + offset) value = INFINITY;
              }
              mask_.Set(idx, value);
            }
      if (c.mask_zero_strides) {
        // Re-express size-1 dimensions as full-size dimensions with stride 0 (torch.expand).
        const int64_t full[4] = {c.batch, c.hq, c.nq, c.nk};
        for (int d = 0; d < r; ++d)
          if (mv.sizes[d] == 1) {
            mask_.view.sizes[d] = full[4 - r + d];
            mask_.view.strides[d] = 0;
          }
      }
    }
  }

  Run RunLibrary(AttentionImpl impl, int threads) {
    HostTensor out = MakeTensor(c_.out_dtype, {c_.batch, c_.hq, c_.nq, c_.dv}, c_.layout);
    const DType lse_dtype = c_.dtype == DType::kFloat64 ? DType::kFloat64 : DType::kFloat32;
    HostTensor lse = MakeTensor(lse_dtype, {c_.batch, c_.hq, c_.nq}, Layout::kBhsd);
    AttentionOptions o;
    o.is_causal = c_.causal;
    o.causal_align = c_.bottom_right ? CausalAlign::kBottomRight : CausalAlign::kTopLeft;
    o.scale = c_.scale;
    if (c_.mask != MaskKind::kNone) o.mask = mask_.view;
    if (c_.lse) o.lse = lse.view;
    o.num_threads = threads;
    o.impl = impl;
    o.block_q = c_.block_q;
    o.block_k = c_.block_k;
    o.kv_splits = c_.kv_splits;
    internal::SetFewQueryRowsForTest(c_.few_query_rows);
    internal::AttentionWithCausalOffset(q_.view, k_.view, v_.view, out.view, o, c_.causal_offset);
    internal::SetFewQueryRowsForTest(-1);
    Run run;
    for (int64_t b = 0; b < c_.batch; ++b)
      for (int64_t h = 0; h < c_.hq; ++h)
        for (int64_t i = 0; i < c_.nq; ++i) {
          for (int64_t e = 0; e < c_.dv; ++e) run.out.push_back(out.Get4(b, h, i, e));
          const int64_t idx[3] = {b, h, i};
          if (c_.lse) run.lse.push_back(lse.Get(idx));
        }
    run.raw = out.bytes;
    return run;
  }

  // Sets one element of q, k or v ('q', 'k', 'v'), after construction.
  void Poke(char which, std::array<int64_t, 4> index, double value) {
    (which == 'q' ? q_ : which == 'k' ? k_ : v_).Set(index.data(), value);
  }

  testing_util::Reference Ref() const {
    const double scale = c_.scale ? *c_.scale : 1.0 / std::sqrt(static_cast<double>(c_.dk));
    const int64_t offset = c_.causal_offset ? *c_.causal_offset
                           : c_.bottom_right    ? c_.nk - c_.nq
                                                : 0;
    return testing_util::ReferenceAttentionAt(
        q_, k_, v_, c_.mask != MaskKind::kNone ? &mask_ : nullptr, c_.causal, offset, scale);
  }

  // Runs fused and naive with 1 and 2 threads and checks each against the reference.
  void CheckAll() {
    const testing_util::Reference ref = Ref();
    double ref_norm = 0;
    for (double x : ref.out) ref_norm = std::max(ref_norm, std::fabs(x));
    for (AttentionImpl impl : {AttentionImpl::kFused, AttentionImpl::kNaive}) {
      const char* name = impl == AttentionImpl::kFused ? "fused" : "naive";
      const Run one = RunLibrary(impl, 1);
      const Run two = RunLibrary(impl, 2);
      EXPECT_TRUE(one.raw == two.raw) << name << ": 1 and 2 threads differ";
      double diff = 0;
      bool nan = false;
      for (size_t i = 0; i < ref.out.size(); ++i) {
        nan = nan || std::isnan(one.out[i]);
        diff = std::max(diff, std::fabs(one.out[i] - ref.out[i]));
      }
      ASSERT_FALSE(nan) << name << ": NaN in the output";
      const double err = ref_norm > 0 ? diff / ref_norm : diff;
      EXPECT_LE(err, Tolerance(c_.dtype)) << name << ": relative max-norm error";
      if (c_.lse) {
        double lse_err = 0;
        for (size_t i = 0; i < ref.lse.size(); ++i) {
          if (std::isinf(ref.lse[i])) {
            EXPECT_TRUE(std::isinf(one.lse[i]) && one.lse[i] < 0) << name << ": lse row " << i;
          } else {
            lse_err = std::max(lse_err, std::fabs(one.lse[i] - ref.lse[i]) /
                                            std::max(1.0, std::fabs(ref.lse[i])));
          }
        }
        EXPECT_LE(lse_err, Tolerance(c_.dtype)) << name << ": lse error";
      }
    }
  }

 private:
  Case c_;
  HostTensor q_, k_, v_, mask_;
};

std::vector<std::pair<DType, DType>> AllTypes() {
  return {{DType::kFloat64, DType::kFloat64},
          {DType::kFloat32, DType::kFloat32},
          {DType::kBFloat16, DType::kBFloat16},
          {DType::kBFloat16, DType::kFloat32}};
}

Case Typed(Case c, std::pair<DType, DType> t) {
  c.dtype = t.first;
  c.out_dtype = t.second;
  return c;
}

using testing_util::kAmxModel;
using testing_util::ScopedKernelPath;

TEST(AttentionTest, LayoutsForEveryDtype) {
  for (auto t : AllTypes())
    for (Layout layout : {Layout::kBhsd, Layout::kBshd, Layout::kStrided}) {
      Case c;
      c.batch = 2, c.hq = 3, c.hkv = 3, c.nq = 37, c.nk = 45, c.dk = 24, c.dv = 24;
      c.layout = layout;
      SCOPED_TRACE(std::string(DTypeName(t.first)) + " -> " + DTypeName(t.second) +
                   " layout " + std::to_string(static_cast<int>(layout)));
      AttentionCase(Typed(c, t)).CheckAll();
    }
}

TEST(AttentionTest, EdgeSizesAroundBlocks) {
  // Query blocks are 64 to 512 rows and key tiles 32 to 512 rows, as the cost model picks them
  // (machine.cc), so these cover a single row/key, tails of every vector width, and several blocks
  // of each plus a tail (129 and 300 queries; 600, 700 > 512 keys) whatever it picks;
  // EveryBlockSize forces each kind of block.
  const std::vector<std::array<int64_t, 4>> shapes = {
      {1, 1, 16, 16}, {1, 9, 8, 8}, {9, 1, 8, 8}, {3, 5, 7, 9},
      {129, 600, 16, 16}, {300, 700, 8, 20}, {65, 64, 33, 17}};
  for (auto t : {AllTypes()[0], AllTypes()[1], AllTypes()[2]})
    for (const auto& s : shapes) {
      Case c;
      c.nq = s[0], c.nk = s[1], c.dk = s[2], c.dv = s[3];
      SCOPED_TRACE(std::string(DTypeName(t.first)) + " nq " + std::to_string(s[0]) + " nk " +
                   std::to_string(s[1]) + " dk " + std::to_string(s[2]) + " dv " +
                   std::to_string(s[3]));
      AttentionCase(Typed(c, t)).CheckAll();
    }
}

TEST(AttentionTest, EveryBlockSize) {
  // Blocks the cost model may pick (machine.cc), smallest to largest, against tails: one query,
  // fewer rows than a block, several blocks plus a tail.
  const std::vector<std::array<int64_t, 2>> blocks = {
      {64, 32}, {128, 96}, {192, 64}, {384, 256}, {512, 512}};
  const std::vector<std::array<int64_t, 4>> shapes = {
      {1, 1, 16, 16}, {129, 600, 16, 16}, {300, 700, 8, 20}};
  for (auto t : {AllTypes()[0], AllTypes()[1], AllTypes()[2]})
    for (const auto& b : blocks)
      for (const auto& s : shapes) {
        Case c;
        c.nq = s[0], c.nk = s[1], c.dk = s[2], c.dv = s[3];
        c.block_q = b[0], c.block_k = b[1];
        SCOPED_TRACE(std::string(DTypeName(t.first)) + " blocks " + std::to_string(b[0]) + "x" +
                     std::to_string(b[1]) + " nq " + std::to_string(s[0]) + " nk " +
                     std::to_string(s[1]));
        AttentionCase(Typed(c, t)).CheckAll();
      }
}

TEST(AttentionTest, ChosenBlocksAreSupportedSizes) {
  for (DType dtype : {DType::kFloat64, DType::kFloat32, DType::kBFloat16})
    for (int64_t n : {1, 37, 512, 4096, 100000}) {
      const AttentionBlocks b = ChosenBlocks(dtype, 3, n, n + 5, 64, 128);
      EXPECT_GT(b.block_q, 0);
      EXPECT_EQ(b.block_q % 64, 0) << b.block_q;
      EXPECT_LE(b.block_q, std::max<int64_t>(64, (n + 63) / 64 * 64));
      EXPECT_GT(b.block_k, 0);
      EXPECT_EQ(b.block_k % 32, 0) << b.block_k;
      EXPECT_LE(b.block_k, std::max<int64_t>(32, (n + 5 + 31) / 32 * 32));
      // The decision is cached: asking again gives the same blocks.
      const AttentionBlocks again = ChosenBlocks(dtype, 3, n, n + 5, 64, 128);
      EXPECT_EQ(again.block_q, b.block_q);
      EXPECT_EQ(again.block_k, b.block_k);
    }
  EXPECT_THROW(ChosenBlocks(DType::kFloat32, 1, 0, 8, 8, 8), Error);
}

// Decoding: one decision per dtype, dims, heads and threads, whatever the cache length, so a
// decode loop whose cache grows runs the cost model once (ChooseBlocks).
TEST(AttentionTest, DecodingBlocksDoNotDependOnTheCacheLength) {
  for (DType dtype : {DType::kFloat64, DType::kFloat32, DType::kBFloat16})
    for (int64_t d : {64, 128}) {
      const AttentionBlocks at_4k = ChosenBlocks(dtype, 8, 1, 4096, d, d);
      for (int64_t nk : {1000, 5000, 70000}) {
        const AttentionBlocks b = ChosenBlocks(dtype, 8, 1, nk, d, d);
        EXPECT_EQ(b.block_q, at_4k.block_q) << DTypeName(dtype) << " d " << d << " nk " << nk;
        EXPECT_EQ(b.block_k, std::min<int64_t>(at_4k.block_k, (nk + 31) / 32 * 32))
            << DTypeName(dtype) << " d " << d << " nk " << nk;
      }
    }
}

TEST(AttentionTest, GqaAndMqa) {
  for (auto t : AllTypes())
    for (auto [hq, hkv] : {std::pair<int64_t, int64_t>{6, 2}, {4, 1}}) {
      Case c;
      c.batch = 2, c.hq = hq, c.hkv = hkv, c.nq = 19, c.nk = 70, c.dk = 32, c.dv = 8;
      c.layout = Layout::kBshd;
      SCOPED_TRACE(std::string(DTypeName(t.first)) + " hq " + std::to_string(hq));
      AttentionCase(Typed(c, t)).CheckAll();
    }
}

TEST(AttentionTest, CausalBothAlignments) {
  for (auto t : AllTypes())
    for (bool bottom_right : {false, true})
      for (auto [nq, nk] : {std::pair<int64_t, int64_t>{50, 50}, {20, 150}, {150, 20}, {200, 600}}) {
        Case c;
        c.hq = 2, c.hkv = 2, c.nq = nq, c.nk = nk, c.dk = 16, c.dv = 16;
        c.causal = true;
        c.bottom_right = bottom_right;
        SCOPED_TRACE(std::string(DTypeName(t.first)) + (bottom_right ? " bottom-right" : " top-left") +
                     " nq " + std::to_string(nq) + " nk " + std::to_string(nk));
        AttentionCase(Typed(c, t)).CheckAll();
      }
}

// Diagonals anywhere, as ring attention meets them on a block of keys from another rank: rows
// that see no key (offset < 0), rows that see all (offset >= nk - 1), and everything between, on
// the tile and few-query paths, with split keys.
TEST(AttentionTest, CausalAtAnyOffset) {
  for (auto t : AllTypes())
    for (auto [nq, nk] : {std::pair<int64_t, int64_t>{50, 50}, {20, 150}, {150, 20}, {1, 70}})
      for (int64_t offset :
           {-nq - 2, 1 - nq, int64_t{-7}, int64_t{0}, int64_t{5}, nk - 1, nk + 3}) {
        Case c;
        c.hq = 2, c.hkv = 1, c.nq = nq, c.nk = nk, c.dk = 24, c.dv = 20;
        c.causal = true;
        c.causal_offset = offset;
        c.kv_splits = nq == 1 ? 3 : 0;
        SCOPED_TRACE(std::string(DTypeName(t.first)) + " nq " + std::to_string(nq) + " nk " +
                     std::to_string(nk) + " offset " + std::to_string(offset));
        AttentionCase(Typed(c, t)).CheckAll();
      }
}

// The causal limit and an additive mask both apply, and the mask only where the limit lets a
// query look: +inf on every hidden key must not make -inf + inf = NaN of its scores, on the
// chunked float paths, the bfloat16 pair path (diagonal chunks on their own) and naive alike.
// A (1, nk) mask is one value per key for every query: +inf then goes on keys hidden from all.
TEST(AttentionTest, CausalHidesAnInfiniteAdditiveMask) {
  for (auto t : AllTypes())
    for (bool bottom_right : {false, true})
      for (int64_t mask_rows : {150, 1}) {
        Case c;
        c.hq = 2, c.hkv = 1, c.nq = 150, c.nk = 200, c.dk = 16, c.dv = 8;
        c.causal = true;
        c.bottom_right = bottom_right;
        c.mask = MaskKind::kAdditive;
        c.mask_sizes = {mask_rows, 200};
        c.inf_where_hidden = true;
        SCOPED_TRACE(std::string(DTypeName(t.first)) + (bottom_right ? " bottom-right" : " top-left") +
                     " mask rows " + std::to_string(mask_rows));
        AttentionCase(Typed(c, t)).CheckAll();
      }
}

// Where a mask row's keys are adjacent, the AVX-512 kernels apply it 16 queries x 16 keys at a
// time (8 x 8 for float64, and for float32 on AVX2), transposed in registers; a mask with gaps
// between its keys goes element by element. Both
// must give the same output bits: 70 queries and 150 keys leave tails of both, and a
// bottom-right causal limit cuts its diagonal through the 16 x 16 blocks.
void ExpectMaskBlocksMatchElementByElement() {
  const std::vector<std::pair<DType, DType>> types = {{DType::kFloat64, DType::kBool},
                                                      {DType::kFloat64, DType::kFloat64},
                                                      {DType::kFloat32, DType::kBool},
                                                      {DType::kFloat32, DType::kFloat32},
                                                      {DType::kBFloat16, DType::kBool},
                                                      {DType::kBFloat16, DType::kBFloat16},
                                                      {DType::kBFloat16, DType::kFloat32}};
  for (const auto& [dtype, mask_dtype] : types)
    for (bool causal : {false, true}) {
      SCOPED_TRACE(std::string(DTypeName(dtype)) + " mask " + DTypeName(mask_dtype) +
                   (causal ? " causal" : ""));
      std::mt19937 rng(3);
      HostTensor q = MakeTensor(dtype, {1, 2, 70, 16}, Layout::kBhsd);
      HostTensor k = MakeTensor(dtype, {1, 2, 150, 16}, Layout::kBhsd);
      HostTensor v = MakeTensor(dtype, {1, 2, 150, 8}, Layout::kBhsd);
      testing_util::FillRandom(&q, &rng, -1.5, 1.5);
      testing_util::FillRandom(&k, &rng, -1.5, 1.5);
      testing_util::FillRandom(&v, &rng, -1, 1);
      HostTensor dense = MakeTensor(mask_dtype, {1, 1, 70, 150}, Layout::kBhsd);
      HostTensor gaps = MakeTensor(mask_dtype, {1, 1, 70, 150}, Layout::kStrided);
      ASSERT_NE(gaps.view.strides[3], 1);
      std::uniform_real_distribution<double> u(0, 1);
      int64_t idx[4] = {0, 0, 0, 0};
      for (idx[2] = 0; idx[2] < 70; ++idx[2])
        for (idx[3] = 0; idx[3] < 150; ++idx[3]) {
          const double x = u(rng);
          const double value = mask_dtype == DType::kBool ? (x < 0.8) : 4 * x - 2;
          dense.Set(idx, value);
          gaps.Set(idx, value);
        }
      for (AttentionImpl impl : {AttentionImpl::kFused, AttentionImpl::kNaive}) {
        std::vector<HostTensor> outs;
        for (const HostTensor* mask : {&dense, &gaps}) {
          const DType out_dtype = dtype == DType::kBFloat16 ? DType::kFloat32 : dtype;
          outs.push_back(MakeTensor(out_dtype, {1, 2, 70, 8}, Layout::kBhsd));
          AttentionOptions o;
          o.impl = impl;
          o.is_causal = causal;
          o.causal_align = CausalAlign::kBottomRight;
          o.mask = mask->view;
          Attention(q.view, k.view, v.view, outs.back().view, o);
        }
        EXPECT_EQ(outs[0].bytes, outs[1].bytes)
            << (impl == AttentionImpl::kFused ? "fused" : "naive");
      }
    }
}

// On AVX-512 and on AVX2 (8 x 8 float32 blocks), where this CPU runs them.
TEST(AttentionTest, MaskBlocksMatchElementByElement) {
  int tested = 0;
  const int64_t cpu = testing_util::CpuSimdTargets();
  for (const int64_t target : {int64_t{HWY_AVX2}, int64_t{HWY_AVX3}}) {
    if (!(cpu & target)) continue;
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(internal::AttentionTargetName());
    ExpectMaskBlocksMatchElementByElement();
    ++tested;
  }
  hwy::SetSupportedTargetsForTest(0);
  EXPECT_EQ(tested, !!(cpu & HWY_AVX2) + !!(cpu & HWY_AVX3));
  if (tested == 0) GTEST_SKIP() << "no AVX2 or AVX-512 on this CPU: masks go element by element";
}

TEST(AttentionTest, MaskBroadcastPatterns) {
  // Full, per-(query, key), per-(batch, key) padding masks, a key vector, (nq, nk), and the same
  // broadcasts expressed as stride 0.
  const std::vector<std::vector<int64_t>> patterns = {
      {2, 3, 21, 33}, {1, 1, 21, 33}, {2, 1, 1, 33}, {33}, {21, 33}, {2, 3, 21, 1}};
  for (auto t : AllTypes())
    for (MaskKind kind : {MaskKind::kBool, MaskKind::kAdditive})
      for (const auto& sizes : patterns)
        for (bool zero_strides : {false, true}) {
          Case c;
          c.batch = 2, c.hq = 3, c.hkv = 3, c.nq = 21, c.nk = 33, c.dk = 16, c.dv = 12;
          c.mask = kind;
          c.mask_sizes = sizes;
          c.mask_zero_strides = zero_strides;
          SCOPED_TRACE(std::string(DTypeName(t.first)) +
                       (kind == MaskKind::kBool ? " bool" : " additive") + " rank " +
                       std::to_string(sizes.size()) + (zero_strides ? " stride0" : ""));
          AttentionCase(Typed(c, t)).CheckAll();
        }
}

TEST(AttentionTest, FullyMaskedRowsGiveZeroAndMinusInfinity) {
  for (auto t : AllTypes())
    for (MaskKind kind : {MaskKind::kBool, MaskKind::kAdditive}) {
      Case c;
      c.hq = 2, c.hkv = 1, c.nq = 10, c.nk = 300, c.dk = 8, c.dv = 8;
      c.mask = kind;
      c.mask_sizes = {1, 2, 10, 300};
      c.fully_masked_rows = true;
      AttentionCase(Typed(c, t)).CheckAll();
    }
  // Bottom-right causal with nq > nk masks the first nq - nk rows entirely.
  Case c;
  c.dtype = c.out_dtype = DType::kFloat64;
  c.nq = 12, c.nk = 5, c.causal = true, c.bottom_right = true;
  AttentionCase(c).CheckAll();
}

TEST(AttentionTest, EverythingCombined) {
  for (auto t : AllTypes()) {
    Case c;
    c.batch = 2, c.hq = 4, c.hkv = 2, c.nq = 70, c.nk = 130, c.dk = 40, c.dv = 24;
    c.layout = Layout::kStrided;
    c.causal = true;
    c.bottom_right = true;
    c.mask = MaskKind::kAdditive;
    c.mask_sizes = {2, 1, 70, 130};
    c.scale = 0.3;
    SCOPED_TRACE(DTypeName(t.first));
    AttentionCase(Typed(c, t)).CheckAll();
  }
}

TEST(AttentionTest, HeadDim128) {
  for (auto t : AllTypes()) {
    Case c;
    c.hq = 2, c.hkv = 2, c.nq = 100, c.nk = 260, c.dk = 128, c.dv = 128;
    AttentionCase(Typed(c, t)).CheckAll();
  }
}

// Decoding and other blocks of few queries: the few-query path (one query against the key rows
// along the head dim) and the tile path on the same problems, with every option that combines with
// them: tails of the vector along dk and dv (1, odd, past a vector), strided rows (K and V packed
// first) and BSHD, GQA, both causal alignments, masks with broadcasts and fully masked rows. Three
// query heads per key/value head give tasks of 3, 6, 9 and 24 rows: groups of 4, 3 and 2 rows and
// a row alone.
TEST(AttentionTest, FewQueryPathForEveryOption) {
  struct Shape { int64_t nq, nk, dk, dv; };
  const std::vector<Shape> shapes = {
      {1, 1, 1, 1}, {1, 5, 17, 20}, {3, 100, 33, 9}, {8, 333, 64, 64}, {2, 70, 40, 300}};
  for (auto t : AllTypes())
    for (int64_t few : {int64_t{0}, int64_t{1} << 30})
      for (const Shape& s : shapes) {
        const std::string name = std::string(DTypeName(t.first)) + (few ? " few-query" : " tile") +
                                 " nq " + std::to_string(s.nq) + " nk " + std::to_string(s.nk) +
                                 " dk " + std::to_string(s.dk);
        Case c;
        c.few_query_rows = few;
        c.nq = s.nq, c.nk = s.nk, c.dk = s.dk, c.dv = s.dv;
        c.batch = 2, c.hq = 6, c.hkv = 2;
        for (Layout layout : {Layout::kBshd, Layout::kStrided}) {
          c.layout = layout;
          SCOPED_TRACE(name + " layout " + std::to_string(static_cast<int>(layout)));
          AttentionCase(Typed(c, t)).CheckAll();
        }
        c.layout = Layout::kBhsd;
        for (bool bottom_right : {false, true}) {
          Case cc = c;
          cc.causal = true;
          cc.bottom_right = bottom_right;
          SCOPED_TRACE(name + (bottom_right ? " causal bottom-right" : " causal top-left"));
          AttentionCase(Typed(cc, t)).CheckAll();
        }
        for (MaskKind kind : {MaskKind::kBool, MaskKind::kAdditive})
          for (const std::vector<int64_t>& sizes :
               {std::vector<int64_t>{}, {s.nk}, {2, 1, s.nq, s.nk}}) {
            Case cm = c;
            cm.mask = kind;
            cm.mask_sizes = sizes;
            cm.fully_masked_rows = true;
            SCOPED_TRACE(name + (kind == MaskKind::kBool ? " bool" : " additive") + " mask rank " +
                         std::to_string(sizes.size()));
            AttentionCase(Typed(cm, t)).CheckAll();
          }
      }
}

// NaN in, NaN out, as PyTorch: a NaN in q, or in a key row a query sees, makes that query's
// output row and LSE NaN; a NaN in a value row, the output column of every query that sees it.
// Never the 0 and -inf of a fully masked row, which the NaN scores of a row once gave on the
// few-query path (the maximum drops NaN), nor a split dropped from the combination. Every other
// element stays finite and equal to the reference. Each path: tiles, few-query rows, split keys,
// naive; 2 query heads on 1 key/value head; 300 keys in tiles of 32.
struct NanPath {
  const char* name;
  int64_t few_query_rows, kv_splits;
  AttentionImpl impl;
};
struct NanPoison {
  char tensor;  // 'q', 'k' or 'v'
  std::array<int64_t, 4> at;
};

void CheckNanPropagation(std::pair<DType, DType> t, const NanPath& path, const NanPoison& poison) {
  Case c = Typed(Case{}, t);
  c.hq = 2, c.hkv = 1, c.nq = 40, c.nk = 300, c.dk = 20, c.dv = 12;
  c.causal = true, c.bottom_right = true;
  c.block_q = 64, c.block_k = 32;
  c.kv_splits = path.kv_splits;
  c.few_query_rows = path.few_query_rows;
  AttentionCase ac(c);
  const testing_util::Reference ref = ac.Ref();  // of the inputs before the NaN
  ac.Poke(poison.tensor, poison.at, std::numeric_limits<double>::quiet_NaN());
  const moa::Run run = ac.RunLibrary(path.impl, 2);
  double ref_norm = 0;
  for (double x : ref.out) ref_norm = std::max(ref_norm, std::fabs(x));
  int64_t nan_rows = 0;
  for (int64_t h = 0; h < c.hq; ++h)
    for (int64_t i = 0; i < c.nq; ++i) {
      const bool row_nan = poison.tensor == 'q'   ? h == poison.at[1] && i == poison.at[2]
                           : poison.tensor == 'k' ? i + c.nk - c.nq >= poison.at[2]
                                                  : false;
      const int64_t r = h * c.nq + i;
      EXPECT_EQ(std::isnan(run.lse[r]), row_nan) << "lse of head " << h << " row " << i;
      nan_rows += row_nan;
      for (int64_t e = 0; e < c.dv; ++e) {
        const bool nan = row_nan || (poison.tensor == 'v' && e == poison.at[3]);
        const double got = run.out[r * c.dv + e];
        EXPECT_EQ(std::isnan(got), nan) << "head " << h << " row " << i << " column " << e;
        if (!nan) {
          EXPECT_LE(std::fabs(got - ref.out[r * c.dv + e]), Tolerance(c.dtype) * ref_norm)
              << "head " << h << " row " << i << " column " << e;
        }
      }
    }
  EXPECT_EQ(nan_rows, poison.tensor == 'q' ? 1 : poison.tensor == 'k' ? 2 * 30 : 0);
}

TEST(AttentionTest, NanInputsGiveNanRows) {
  const NanPath paths[] = {{"tile", 0, 1, AttentionImpl::kFused},
                           {"few-query", 64, 1, AttentionImpl::kFused},
                           {"split keys", 0, 3, AttentionImpl::kFused},
                           {"few-query split keys", 64, 3, AttentionImpl::kFused},
                           {"naive", -1, 0, AttentionImpl::kNaive}};
  // Bottom-right causal, 40 queries, 300 keys: query i sees keys j <= i + 260, so key 270 is seen
  // by queries 10 and on, key 50 by all.
  const NanPoison poisons[] = {{'q', {0, 1, 7, 3}}, {'k', {0, 0, 270, 5}}, {'v', {0, 0, 50, 4}}};
  const int bf16_paths[] = {internal::kBf16Auto, internal::kBf16NoAmx, internal::kBf16Float32,
                            kAmxModel};
  const int64_t cpu = testing_util::CpuSimdTargets();
  for (int64_t target : {int64_t{HWY_SCALAR | HWY_EMU128}, int64_t{HWY_AVX2}, int64_t{HWY_AVX3}})
    for (int bf16_path : bf16_paths)
      for (auto t : AllTypes())
        for (const NanPath& path : paths)
          for (const NanPoison& poison : poisons) {
            if (target != (HWY_SCALAR | HWY_EMU128) && !(cpu & target)) continue;
            // bfloat16 on each GEMM path, the other dtypes once.
            if (bf16_path != internal::kBf16Auto && t.first != DType::kBFloat16) continue;
            if (bf16_path == kAmxModel && !internal::CpuHasAvx512Bf16()) continue;
            const ScopedKernelPath scoped(target, bf16_path);
            SCOPED_TRACE(std::string(DTypeName(t.first)) + " -> " + DTypeName(t.second) + " " +
                         path.name + " NaN in " + poison.tensor + " on " +
                         internal::AttentionTargetName() + " bf16 path " +
                         std::to_string(bf16_path));
            CheckNanPropagation(t, path, poison);
          }
}

// A few-query threshold above 64 rows (tests set it; the default is at most 16) still runs
// blocks of more than 64 rows on the tile path: a few-query task keeps its rows' bfloat16 bits in
// the K tile, which holds 64 rows of them. 100 rows of dk = 129 once overran it (NaN out).
TEST(AttentionTest, FewQueryTasksHoldAtMostAQuantumOfRows) {
  for (auto t : AllTypes()) {
    Case c = Typed(Case{}, t);
    c.batch = 2, c.hq = 4, c.hkv = 2, c.nq = 100, c.nk = 232, c.dk = 129, c.dv = 1;
    c.causal = true, c.bottom_right = true;
    c.block_q = 320, c.block_k = 32;
    c.few_query_rows = int64_t{1} << 30;
    SCOPED_TRACE(DTypeName(t.first));
    AttentionCase(c).CheckAll();
  }
}

// Split-KV: each query block's keys in 2 to 7 ranges whose online-softmax states are combined.
// Tiles of 32 keys give ranges of one tile and ranges with no keys at all (more ranges than the
// tiles a causal block sees); fully masked rows leave some ranges' states empty; both paths.
TEST(AttentionTest, KvSplitsCombineToTheSameResult) {
  struct Shape { int64_t nq, nk; };
  for (auto t : AllTypes())
    for (int64_t splits : {1, 2, 3, 7})
      for (Shape s : {Shape{1, 300}, Shape{5, 33}, Shape{70, 300}, Shape{130, 200}}) {
        Case c;
        c.hq = 2, c.hkv = 1, c.nq = s.nq, c.nk = s.nk, c.dk = 24, c.dv = 20;
        c.block_q = 64, c.block_k = 32;
        c.kv_splits = splits;
        const std::string name = std::string(DTypeName(t.first)) + " splits " +
                                 std::to_string(splits) + " nq " + std::to_string(s.nq) + " nk " +
                                 std::to_string(s.nk);
        {
          SCOPED_TRACE(name);
          AttentionCase(Typed(c, t)).CheckAll();
        }
        for (bool bottom_right : {false, true}) {
          Case cc = c;
          cc.causal = true;
          cc.bottom_right = bottom_right;
          cc.mask = MaskKind::kAdditive;
          cc.fully_masked_rows = true;
          SCOPED_TRACE(name + (bottom_right ? " causal bottom-right" : " causal top-left"));
          AttentionCase(Typed(cc, t)).CheckAll();
        }
      }
}

// Decoding with GQA: the query heads sharing a key/value head run as one task (head_group, up to
// 64 rows), so each row's head must pick its own Q, mask and output: 16 heads on 1 or 2 key/value
// heads and 6 on 2 (tasks of 3 and 15 rows end in a group of 3), 1 to 16 queries (groups of 16, 8
// and 4 heads), a mask that differs per head, causal, split keys.
TEST(AttentionTest, GqaDecodingGroupsHeads) {
  struct Heads { int64_t hq, hkv; };
  for (auto t : AllTypes())
    for (Heads heads : {Heads{16, 1}, Heads{16, 2}, Heads{6, 2}})  // 16, 8 and 3 heads a group
      for (int64_t nq : {1, 5, 16})
        for (int64_t splits : {0, 3}) {
          Case c;
          c.batch = 2, c.hq = heads.hq, c.hkv = heads.hkv, c.nq = nq, c.nk = 300, c.dk = 32;
          c.dv = 24;
          c.few_query_rows = 16;
          c.kv_splits = splits;
          c.mask = MaskKind::kBool;
          c.fully_masked_rows = true;
          c.causal = true;
          c.bottom_right = true;
          SCOPED_TRACE(std::string(DTypeName(t.first)) + " hq " + std::to_string(heads.hq) +
                       " hkv " + std::to_string(heads.hkv) + " nq " + std::to_string(nq) +
                       " splits " + std::to_string(splits));
          AttentionCase(Typed(c, t)).CheckAll();
        }
}

// Results do not depend on the thread count, bit for bit (CheckAll compares 1 and 2 threads):
// problems of 3, 5 and 9 heads, whose tasks do not share two threads evenly. The block sizes were
// once chosen for the call's thread count, and the cost model picked other key tiles for 1 thread
// than for 2 on these shapes, so the online softmax rounded differently.
TEST(AttentionTest, ResultsDoNotDependOnTheThreadCount) {
  struct Shape { DType dtype; int64_t hq, hkv, nq, nk, dk, dv; };
  for (const Shape& s : {Shape{DType::kFloat32, 3, 1, 3, 359, 31, 31},
                         Shape{DType::kFloat64, 3, 1, 3, 245, 31, 31},
                         Shape{DType::kFloat32, 3, 3, 5, 183, 96, 96},
                         Shape{DType::kFloat64, 5, 1, 32, 60, 16, 160},
                         Shape{DType::kFloat32, 9, 3, 60, 216, 31, 31}}) {
    Case c;
    c.dtype = c.out_dtype = s.dtype;
    c.hq = s.hq, c.hkv = s.hkv, c.nq = s.nq, c.nk = s.nk, c.dk = s.dk, c.dv = s.dv;
    c.layout = Layout::kStrided;
    SCOPED_TRACE(std::string(DTypeName(s.dtype)) + " hq " + std::to_string(s.hq) + " nq " +
                 std::to_string(s.nq) + " nk " + std::to_string(s.nk));
    AttentionCase(c).CheckAll();
  }
}

// The automatic split count: a share of the cores within 15% of even, ranges of >= 256 keys.
TEST(AttentionTest, KvSplitsShareTheCoresEvenly) {
  EXPECT_EQ(internal::KvSplits(1, 2, 4096, 96), 2);    // one sequence decoding on two cores
  EXPECT_EQ(internal::KvSplits(3, 2, 4096, 96), 2);    // 3 tasks: 2 rounds where 1.5 suffice
  EXPECT_EQ(internal::KvSplits(1, 16, 1024, 64), 4);   // at least 256 keys per range
  EXPECT_EQ(internal::KvSplits(1, 2, 300, 32), 1);     // too few keys to split
  EXPECT_EQ(internal::KvSplits(64, 2, 4096, 96), 1);   // tasks share the cores already
  EXPECT_EQ(internal::KvSplits(7, 2, 4096, 96), 1);    // 4 rounds of 3.5: within 15%
  EXPECT_EQ(internal::KvSplits(5, 1, 4096, 96), 1);    // one core: nothing to share
}

// moa bench --target: dispatch restricted to one target, then restored.
TEST(AttentionTest, SetAttentionKernelTargetRestrictsDispatch) {
  const std::string best = AttentionKernelTarget();
  SetAttentionKernelTarget("portable");
  const std::string portable = AttentionKernelTarget();
  EXPECT_TRUE(portable == "SCALAR" || portable == "EMU128") << portable;
  SetAttentionKernelTarget("auto");
  EXPECT_EQ(AttentionKernelTarget(), best);
  EXPECT_THROW(SetAttentionKernelTarget("sse2"), Error);
  EXPECT_EQ(AttentionKernelTarget(), best);
}

// Every SIMD target the kernels are built for that this CPU runs: the portable path (Highway's
// SCALAR or EMU128 baseline, whichever this compiler builds) must be as correct as AVX2/AVX-512.
TEST(AttentionTest, EverySimdTarget) {
  int tested = 0;
  const int64_t portable = HWY_SCALAR | HWY_EMU128;
  const int64_t cpu = testing_util::CpuSimdTargets();
  for (int64_t target : {portable, int64_t{HWY_AVX2}, int64_t{HWY_AVX3}}) {
    if (target != portable && !(cpu & target)) continue;
    hwy::SetSupportedTargetsForTest(target);
    const std::string ran = internal::AttentionTargetName();
    SCOPED_TRACE(ran);
    if (target == portable) {
      EXPECT_TRUE(ran == "SCALAR" || ran == "EMU128") << ran;
    } else {
      EXPECT_EQ(ran, hwy::TargetName(target));
    }
    for (auto t : AllTypes()) {
      Case c;
      c.batch = 1, c.hq = 2, c.hkv = 1, c.nq = 33, c.nk = 77, c.dk = 20, c.dv = 12;
      c.causal = true;
      c.mask = MaskKind::kBool;
      c.mask_sizes = {33, 77};
      AttentionCase(Typed(c, t)).CheckAll();
      // Decoding: the few-query path's GEMV kernels (head-dim tails on every vector width), GQA
      // heads grouped in one task, split keys.
      Case few;
      few.batch = 1, few.hq = 4, few.hkv = 2, few.nq = 3, few.nk = 300, few.dk = 20, few.dv = 37;
      few.few_query_rows = 8;
      few.kv_splits = 2;
      few.mask = MaskKind::kAdditive;
      few.mask_sizes = {4, 3, 300};
      AttentionCase(Typed(few, t)).CheckAll();
      // Rows in groups (DecodeScoresRows) with a narrow dv, so that the group's output rows share
      // the value loads (DecodePvRows) on every vector width, under a causal mask that gives the
      // rows of a group different key counts: 14 rows a task (groups of 4, 4, 4, 2), then 15
      // (4, 4, 4, 3).
      Case rows = few;
      rows.nq = 7, rows.dv = 7;
      rows.mask = MaskKind::kNone;
      rows.causal = true;
      rows.bottom_right = true;
      AttentionCase(Typed(rows, t)).CheckAll();
      rows.hq = 6, rows.nq = 5;
      AttentionCase(Typed(rows, t)).CheckAll();
    }
    ++tested;
  }
  hwy::SetSupportedTargetsForTest(0);
  EXPECT_GE(tested, 1);
  EXPECT_EQ(tested, 1 + !!(cpu & HWY_AVX2) + !!(cpu & HWY_AVX3));
}

// A random draw over every option AttentionCase knows: shapes with tails (1, odd, around the
// vector widths, the 64-query quantum and the 32-key step), dtypes, layouts, GQA, causal both
// ways, masks of each kind and broadcast, fully masked rows, +inf where causality hides it, LSE,
// a scale of either sign, forced blocks, split keys, the few-query threshold.
Case RandomCase(std::mt19937& rng) {
  auto pick = [&](const auto& options) { return options[rng() % options.size()]; };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  const std::vector<int64_t> dims = {1,  2,  3,  7,   8,   15,  16,  17,  31,  32,  33,
                                     63, 64, 65, 80,  96,  127, 128, 129, 160, 256, 300};
  const std::vector<int64_t> rows = {1, 2, 3, 4, 5, 7, 16, 17, 31, 32, 33, 63, 64, 65, 100, 129};
  Case c = Typed(Case{}, pick(AllTypes()));
  c.batch = 1 + rng() % 2;
  c.hkv = 1 + rng() % 3;
  c.hq = c.hkv * pick(std::vector<int64_t>{1, 2, 3, 4, 5, 8});
  c.nq = chance(0.5) ? pick(rows) : 1 + rng() % 140;
  c.nk = chance(0.3) ? pick(rows) : 1 + rng() % 400;
  c.dk = pick(dims);
  c.dv = chance(0.5) ? c.dk : pick(dims);
  c.layout = pick(std::vector<Layout>{Layout::kBhsd, Layout::kBshd, Layout::kStrided});
  c.causal = chance(0.4);
  c.bottom_right = chance(0.5);
  c.mask = pick(std::vector<MaskKind>{MaskKind::kNone, MaskKind::kBool, MaskKind::kAdditive});
  if (c.mask != MaskKind::kNone) {
    c.mask_sizes = pick(std::vector<std::vector<int64_t>>{{},
                                                          {1, 1, c.nq, c.nk},
                                                          {c.batch, 1, 1, c.nk},
                                                          {c.nk},
                                                          {c.nq, c.nk},
                                                          {c.batch, c.hq, c.nq, 1},
                                                          {1, c.hq, 1, c.nk},
                                                          {c.hq, c.nq, c.nk}});
    c.mask_zero_strides = chance(0.3);
    c.fully_masked_rows = chance(0.3);
    c.inf_where_hidden = c.mask == MaskKind::kAdditive && c.causal && !c.fully_masked_rows &&
                         c.mask_sizes.size() != 1 && chance(0.3);
  }
  c.lse = chance(0.5);
  // Up to twice the default 1/sqrt(dk), either sign: scores of a few units, as the inputs are
  // drawn for (at dk = 300 a scale of 1 makes them tens of units, where float32 rounding of the
  // scores alone exceeds 1e-5 on the naive path as on the fused one).
  if (chance(0.3)) {
    const double scale = std::uniform_real_distribution<double>(-2, 2)(rng);
    c.scale = scale / std::sqrt(static_cast<double>(c.dk));
  }
  if (chance(0.3)) {
    c.block_q = 64 * (1 + rng() % 8);
    c.block_k = 32 * (1 + rng() % 16);
  }
  c.kv_splits = chance(0.3) ? rng() % 5 : 0;
  c.few_query_rows = pick(std::vector<int64_t>{-1, -1, 0, int64_t{1} << 30, 1, 4, 8, 16});
  return c;
}

std::string Describe(const Case& c) {
  std::ostringstream s;
  s << DTypeName(c.dtype) << "->" << DTypeName(c.out_dtype) << " batch " << c.batch << " hq "
    << c.hq << " hkv " << c.hkv << " nq " << c.nq << " nk " << c.nk << " dk " << c.dk << " dv "
    << c.dv << " layout " << static_cast<int>(c.layout) << " causal " << c.causal
    << (c.bottom_right ? " bottom-right" : " top-left") << " mask " << static_cast<int>(c.mask)
    << " rank " << c.mask_sizes.size() << (c.mask_zero_strides ? " stride0" : "")
    << (c.fully_masked_rows ? " fully-masked-rows" : "") << (c.inf_where_hidden ? " +inf" : "")
    << " lse " << c.lse << " scale " << (c.scale ? std::to_string(*c.scale) : "default")
    << " blocks " << c.block_q << "x" << c.block_k << " kv_splits " << c.kv_splits
    << " few_query_rows " << c.few_query_rows;
  return s.str();
}

// Random combinations of every option, each against the float64 reference with fused and naive,
// 1 and 2 threads, on a random SIMD target this CPU runs and, for bfloat16, a random GEMM path (the
// AMX kernels on the tile unit's scalar model where the CPU lacks AMX). The fixed tests above pick
// combinations by hand; this finds the ones nobody thought of (it found blocks chosen per thread
// count, which made results differ between 1 and 2 threads). MOA_TEST_RANDOM_CASES and
// MOA_TEST_RANDOM_SEED run a longer or another series.
TEST(AttentionTest, RandomCombinations) {
  const char* cases_env = std::getenv("MOA_TEST_RANDOM_CASES");
  const char* seed_env = std::getenv("MOA_TEST_RANDOM_SEED");
  const int cases = cases_env ? std::atoi(cases_env) : 100;
  std::mt19937 rng(seed_env ? static_cast<unsigned>(std::atoll(seed_env)) : 2026u);
  const int64_t cpu = testing_util::CpuSimdTargets();
  std::vector<int64_t> targets = {HWY_SCALAR | HWY_EMU128};
  for (int64_t t : {int64_t{HWY_AVX2}, int64_t{HWY_AVX3}})
    if (cpu & t) targets.push_back(t);
  std::vector<int> bf16_paths = {internal::kBf16Auto, internal::kBf16NoAmx,
                                 internal::kBf16Float32};
  if (internal::CpuHasAvx512Bf16()) bf16_paths.push_back(kAmxModel);
  for (int n = 0; n < cases;) {
    const Case c = RandomCase(rng);
    const int64_t target = targets[rng() % targets.size()];
    const int drawn_path = bf16_paths[rng() % bf16_paths.size()];
    const int bf16_path = c.dtype == DType::kBFloat16 ? drawn_path : int{internal::kBf16Auto};
    const unsigned seed = static_cast<unsigned>(rng());
    // The reference costs batch x hq x nq x nk x (dk + dv) multiply-adds: keep each case small.
    if (static_cast<double>(c.batch * c.hq * c.nq) * c.nk * (c.dk + c.dv) > 3e7) continue;
    const ScopedKernelPath scoped(target, bf16_path);
    SCOPED_TRACE("case " + std::to_string(n) + " on " + internal::AttentionTargetName() +
                 " bf16 path " + std::to_string(bf16_path) + ": " + Describe(c));
    AttentionCase(c, seed).CheckAll();
    ++n;
  }
}

}  // namespace
}  // namespace moa
