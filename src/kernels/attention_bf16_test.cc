// bfloat16 attention on each of its GEMM paths — AMX tiles, AVX512-BF16 (VDPBF16PS) and the
// float32 SIMD fallback — forced in turn on this machine, against the float64 reference (2e-2);
// and the CPU feature detection against /proc/cpuinfo.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "hwy/targets.h"
#include "kernels/amx/amx_bf16.h"
#include "kernels/amx/amx_flash.h"
#include "kernels/attention_problem.h"
#include "kernels/attention_test_util.h"
#include "kernels/cpu/bf16_dot.h"
#include "moa/attention.h"

namespace moa {
namespace {

using testing_util::HostTensor;
using testing_util::Layout;
using testing_util::MakeTensor;

bool CpuinfoHas(const std::string& flag) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    std::string w;
    while (words >> w)
      if (w == flag) return true;
    return false;
  }
  return false;
}

TEST(AttentionBf16Test, FeatureDetectionAgreesWithCpuinfo) {
  EXPECT_EQ(internal::CpuHasAvx512Bf16(), CpuinfoHas("avx512_bf16") && CpuinfoHas("avx512bw"));
  // AMX also needs the kernel's permission, so detection may say no where cpuinfo says yes.
  if (internal::AmxAvailable()) {
    EXPECT_TRUE(CpuinfoHas("amx_bf16") && CpuinfoHas("amx_tile"));
  }
  RecordProperty("amx", internal::AmxAvailable() ? "yes" : "no");
  RecordProperty("avx512_bf16", internal::CpuHasAvx512Bf16() ? "yes" : "no");
}

struct Bf16Case {
  int64_t batch, hq, hkv, nq, nk, dk, dv;
  Layout layout;
  bool causal, bottom_right, mask;
  DType out;
  // Q and K positive and K row j scaled by 1 + 40 j / nk: every query's maximum score keeps rising
  // by far more than the online softmax's lazy-rescaling slack from one key tile to the next (so z
  // and O^T are rescaled), and the last keys a query may see carry most of its weight.
  bool rising_keys = false;
  int64_t block_q = 0, block_k = 0;  // 0: the cost model's
  int64_t kv_splits = 0;             // 0: automatic
};

double RunAndCompare(const Bf16Case& c, AttentionImpl impl, int threads) {
  std::mt19937 rng(11);
  HostTensor q = MakeTensor(DType::kBFloat16, {c.batch, c.hq, c.nq, c.dk}, c.layout);
  HostTensor k = MakeTensor(DType::kBFloat16, {c.batch, c.hkv, c.nk, c.dk}, c.layout);
  HostTensor v = MakeTensor(DType::kBFloat16, {c.batch, c.hkv, c.nk, c.dv}, c.layout);
  testing_util::FillRandom(&q, &rng, -1.5, 1.5);
  testing_util::FillRandom(&k, &rng, -1.5, 1.5);
  testing_util::FillRandom(&v, &rng, -1, 1);
  if (c.rising_keys) {
    for (int64_t b = 0; b < c.batch; ++b) {
      for (int64_t h = 0; h < c.hkv; ++h)
        for (int64_t j = 0; j < c.nk; ++j)
          for (int64_t e = 0; e < c.dk; ++e) {
            const int64_t idx[4] = {b, h, j, e};
            k.Set(idx, std::fabs(k.Get(idx)) * (1.0 + 40.0 * static_cast<double>(j) / c.nk));
          }
      for (int64_t h = 0; h < c.hq; ++h)
        for (int64_t i = 0; i < c.nq; ++i)
          for (int64_t e = 0; e < c.dk; ++e) {
            const int64_t idx[4] = {b, h, i, e};
            q.Set(idx, std::fabs(q.Get(idx)));
          }
    }
  }
  HostTensor mask = MakeTensor(DType::kFloat32, {c.nq, c.nk}, Layout::kBhsd);
  testing_util::FillRandom(&mask, &rng, -3, 1);
  HostTensor out = MakeTensor(c.out, {c.batch, c.hq, c.nq, c.dv}, c.layout);
  HostTensor lse = MakeTensor(DType::kFloat32, {c.batch, c.hq, c.nq}, Layout::kBhsd);
  AttentionOptions o;
  o.is_causal = c.causal;
  o.causal_align = c.bottom_right ? CausalAlign::kBottomRight : CausalAlign::kTopLeft;
  if (c.mask) o.mask = mask.view;
  o.lse = lse.view;
  o.num_threads = threads;
  o.impl = impl;
  o.block_q = c.block_q;
  o.block_k = c.block_k;
  o.kv_splits = c.kv_splits;
  Attention(q.view, k.view, v.view, out.view, o);
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.dk));
  const auto ref = testing_util::ReferenceAttention(q, k, v, c.mask ? &mask : nullptr, c.causal,
                                                    c.bottom_right, scale);
  double diff = 0, norm = 0, lse_err = 0;
  size_t n = 0, l = 0;
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.hq; ++h)
      for (int64_t i = 0; i < c.nq; ++i) {
        for (int64_t e = 0; e < c.dv; ++e, ++n) {
          const double x = out.Get4(b, h, i, e);
          if (std::isnan(x)) return INFINITY;
          diff = std::max(diff, std::fabs(x - ref.out[n]));
          norm = std::max(norm, std::fabs(ref.out[n]));
        }
        const int64_t idx[3] = {b, h, i};
        const double got = lse.Get(idx), want = ref.lse[l++];
        if (std::isinf(want)) {
          if (!(std::isinf(got) && got < 0)) return INFINITY;
        } else {
          lse_err = std::max(lse_err, std::fabs(got - want) / std::max(1.0, std::fabs(want)));
        }
      }
  return std::max(norm > 0 ? diff / norm : diff, lse_err);
}

// The bfloat16 GEMM paths, plus the AMX kernels on the scalar model of the tile unit
// (amx_emulator.h), which runs them on CPUs without AMX.
constexpr int kAmxEmulated = 3;

class AttentionBf16PathTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (GetParam() == kAmxEmulated) {
      if (!internal::CpuHasAvx512Bf16()) GTEST_SKIP() << "the AMX kernels' softmax needs AVX512-BF16";
      internal::SetAmxEmulationForTest(true);
      ASSERT_TRUE(internal::AmxAvailable());
      ASSERT_EQ(internal::FusedLoopChunk(DType::kBFloat16), internal::kAmxChunk);
    } else {
      internal::SetBf16PathForTest(GetParam());
    }
  }
  void TearDown() override {
    internal::SetBf16PathForTest(internal::kBf16Auto);
    internal::SetAmxEmulationForTest(false);
  }
};

TEST_P(AttentionBf16PathTest, MatchesReference) {
  // Head dims on and off the 32-element AMX step (odd too), keys on and off the 32-key tile step,
  // strided and BSHD layouts, GQA, causal both ways with an additive mask, more than one tile.
  // Without a mask AMX runs the pipelined step (amx_flash.h), under a causal mask on the tiles
  // before the diagonal: many key tiles and query chunks, a last chunk of one query, dk != dv with
  // three 32-column steps of V.
  const std::vector<Bf16Case> cases = {
      {1, 2, 2, 70, 130, 64, 64, Layout::kBhsd, false, false, false, DType::kBFloat16},
      {1, 2, 2, 193, 600, 128, 128, Layout::kBhsd, false, false, false, DType::kFloat32},
      {1, 1, 1, 97, 333, 48, 80, Layout::kStrided, false, false, false, DType::kBFloat16},
      {1, 2, 2, 130, 500, 64, 64, Layout::kBhsd, false, false, false, DType::kFloat32, true},
      {1, 2, 2, 130, 500, 64, 64, Layout::kBhsd, true, false, true, DType::kFloat32, true},
      {1, 1, 1, 100, 450, 64, 64, Layout::kBhsd, true, true, false, DType::kBFloat16, true},
      // Seven chunks through the pipeline of each of 11 key tiles (the last of 60 keys), K and V in
      // place (BHSD, and BSHD with GQA and dk != dv).
      {1, 2, 2, 200, 700, 64, 64, Layout::kBhsd, false, false, false, DType::kBFloat16, true, 256,
       64},
      {1, 2, 1, 200, 700, 64, 48, Layout::kBshd, false, false, false, DType::kFloat32, false, 256,
       64},
      // Key tile [64, 96) ends one key past what query 64 (offset 30) may see: not pipelined.
      {1, 1, 1, 100, 130, 64, 64, Layout::kBhsd, true, true, false, DType::kBFloat16, true, 64, 32},
      {2, 4, 2, 33, 200, 128, 128, Layout::kBshd, false, false, false, DType::kFloat32},
      {1, 2, 1, 65, 97, 40, 24, Layout::kStrided, true, false, true, DType::kBFloat16},
      {1, 1, 1, 1, 1, 7, 5, Layout::kBhsd, false, false, false, DType::kFloat32},
      {1, 3, 3, 150, 40, 33, 17, Layout::kBhsd, true, true, true, DType::kBFloat16},
      {1, 2, 2, 300, 700, 32, 32, Layout::kBhsd, true, false, false, DType::kFloat32},
      // Split-KV: 3 ranges of every third 64-key tile, pipelined and masked tiles alike.
      {1, 1, 1, 130, 500, 64, 64, Layout::kBhsd, false, false, false, DType::kFloat32, true, 64,
       64, 3},
      {1, 1, 1, 130, 500, 64, 64, Layout::kBhsd, true, true, true, DType::kBFloat16, false, 64, 64,
       3},
  };
  for (const Bf16Case& c : cases)
    for (AttentionImpl impl : {AttentionImpl::kFused, AttentionImpl::kNaive}) {
      SCOPED_TRACE("nq " + std::to_string(c.nq) + " nk " + std::to_string(c.nk) + " dk " +
                   std::to_string(c.dk) + (impl == AttentionImpl::kFused ? " fused" : " naive"));
      EXPECT_LE(RunAndCompare(c, impl, 2), 2e-2);
    }
}

// A bfloat16 output is exactly the float32 output rounded by BFloat16FromFloat (nearest even,
// NaN kept): the two runs differ only in how the kernel writes its rows, vector by vector over
// unit-stride rows (the tail of dv past whole vectors element by element) or element by element
// for strided rows. V[0][dv - 1] of head 1 is NaN: every query sees key 0, so column dv - 1 of
// every one of its rows is NaN, as in PyTorch.
void ExpectBf16OutputIsFloat32Rounded(Layout layout, int64_t dv, AttentionImpl impl) {
  std::mt19937 rng(5);
  HostTensor q = MakeTensor(DType::kBFloat16, {1, 2, 70, 32}, layout);
  HostTensor k = MakeTensor(DType::kBFloat16, {1, 2, 90, 32}, layout);
  HostTensor v = MakeTensor(DType::kBFloat16, {1, 2, 90, dv}, layout);
  testing_util::FillRandom(&q, &rng, -2, 2);
  testing_util::FillRandom(&k, &rng, -2, 2);
  testing_util::FillRandom(&v, &rng, -3, 3);
  const int64_t nan_at[4] = {0, 1, 0, dv - 1};
  v.Set(nan_at, std::nan(""));
  HostTensor o32 = MakeTensor(DType::kFloat32, {1, 2, 70, dv}, layout);
  HostTensor o16 = MakeTensor(DType::kBFloat16, {1, 2, 70, dv}, layout);
  AttentionOptions o;
  o.impl = impl;
  o.is_causal = true;
  o.causal_align = CausalAlign::kBottomRight;
  Attention(q.view, k.view, v.view, o32.view, o);
  Attention(q.view, k.view, v.view, o16.view, o);
  int64_t nans = 0;
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < 70; ++i)
      for (int64_t e = 0; e < dv; ++e) {
        const int64_t idx[4] = {0, h, i, e};
        const float f = static_cast<float>(o32.Get(idx));
        uint16_t got;
        std::memcpy(&got, static_cast<const unsigned char*>(o16.view.data) + o16.Offset(idx) * 2,
                    2);
        ASSERT_EQ(got, BFloat16FromFloat(f)) << "h " << h << " i " << i << " e " << e << ": " << f;
        nans += std::isnan(f);
      }
  EXPECT_EQ(nans, 70);
}

// On every SIMD target this CPU runs: vectors of 4 (portable) to 16 float32 lanes.
TEST(AttentionBf16Test, OutputIsTheFloat32OutputRounded) {
  const int64_t portable = HWY_SCALAR | HWY_EMU128;
  const int64_t cpu = testing_util::CpuSimdTargets();
  int tested = 0;
  for (const int64_t target : {portable, int64_t{HWY_AVX2}, int64_t{HWY_AVX3}}) {
    if (target != portable && !(cpu & target)) continue;
    hwy::SetSupportedTargetsForTest(target);
    ++tested;
    for (const Layout layout : {Layout::kBhsd, Layout::kStrided})
      for (const int64_t dv : {5, 16, 40, 128})
        for (const AttentionImpl impl : {AttentionImpl::kFused, AttentionImpl::kNaive}) {
          SCOPED_TRACE(std::string(internal::AttentionTargetName()) + " dv " +
                       std::to_string(dv) + (layout == Layout::kBhsd ? " bhsd" : " strided") +
                       (impl == AttentionImpl::kFused ? " fused" : " naive"));
          ExpectBf16OutputIsFloat32Rounded(layout, dv, impl);
        }
  }
  hwy::SetSupportedTargetsForTest(0);
  EXPECT_EQ(tested, 1 + !!(cpu & HWY_AVX2) + !!(cpu & HWY_AVX3));
}

// Q's bfloat16 pairs are gathered 16 queries at a time where a row's elements are adjacent, and
// element by element otherwise: the same values through either must give the same output bits.
// Rows stored last to first (a negative row stride) go through the gather too; 70 queries leave a
// tail of 6 past the gathered groups, and dk = 34 an odd number of pairs.
TEST(AttentionBf16Test, QueryPairsPackTheSameFromEveryLayout) {
  // Also on the AMX kernels (on the tile unit's model): chunk-major pairs, dk padded to 32.
  for (const bool amx : {false, true})
  for (const int64_t dk : {34, 64}) {
    if (amx && !internal::CpuHasAvx512Bf16()) continue;
    internal::SetAmxEmulationForTest(amx);
    SCOPED_TRACE("dk " + std::to_string(dk) + (amx ? " AMX" : ""));
    const std::vector<int64_t> sizes = {1, 2, 70, dk};
    std::mt19937 rng(11);
    HostTensor q = MakeTensor(DType::kBFloat16, sizes, Layout::kBhsd);
    HostTensor k = MakeTensor(DType::kBFloat16, {1, 2, 90, dk}, Layout::kBhsd);
    HostTensor v = MakeTensor(DType::kBFloat16, {1, 2, 90, 24}, Layout::kBhsd);
    testing_util::FillRandom(&q, &rng, -2, 2);
    testing_util::FillRandom(&k, &rng, -2, 2);
    testing_util::FillRandom(&v, &rng, -3, 3);
    HostTensor strided = MakeTensor(DType::kBFloat16, sizes, Layout::kStrided);
    HostTensor reversed = MakeTensor(DType::kBFloat16, sizes, Layout::kBhsd);
    reversed.view.data = reversed.bytes.data() + 69 * dk * 2;  // row 69 of head 0 first
    reversed.view.strides[2] = -dk;
    int64_t idx[4] = {0, 0, 0, 0};
    for (idx[1] = 0; idx[1] < 2; ++idx[1])
      for (idx[2] = 0; idx[2] < 70; ++idx[2])
        for (idx[3] = 0; idx[3] < dk; ++idx[3]) {
          strided.Set(idx, q.Get(idx));
          reversed.Set(idx, q.Get(idx));
        }
    std::vector<HostTensor> outs;
    for (const HostTensor* query : {&q, &strided, &reversed}) {
      outs.push_back(MakeTensor(DType::kFloat32, {1, 2, 70, 24}, Layout::kBhsd));
      Attention(query->view, k.view, v.view, outs.back().view, AttentionOptions{});
    }
    EXPECT_EQ(outs[1].bytes, outs[0].bytes) << "element-by-element pack";
    EXPECT_EQ(outs[2].bytes, outs[0].bytes) << "rows last to first";
    internal::SetAmxEmulationForTest(false);
  }
}

INSTANTIATE_TEST_SUITE_P(AttentionBf16Paths, AttentionBf16PathTest,
                         ::testing::Values(internal::kBf16Auto, internal::kBf16NoAmx,
                                           internal::kBf16Float32, kAmxEmulated),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == 0   ? "AmxWhereAvailable"
                                              : info.param == 1 ? "Avx512Bf16WhereAvailable"
                                              : info.param == 2 ? "Float32Simd"
                                                                : "AmxEmulated");
                         });

}  // namespace
}  // namespace moa
