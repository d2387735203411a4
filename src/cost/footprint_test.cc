// Tests of the footprint model and operation counts against hand-derived numbers.
#include "cost/footprint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cost/attention_forms.h"
#include "moa/error.h"
#include "onf/interpreter.h"

namespace moa::cost {
namespace {

using dnf::Affine;
using onf::Stmt;
using onf::StmtKind;

// for x < rows: for y < cols: acc += a[x*stride + y*step]   (one load per iteration)
onf::Onf Sweep(int64_t rows, int64_t cols, int64_t row_stride, int64_t step) {
  onf::Onf o;
  o.buffers.push_back(onf::Buffer{"a", {rows * row_stride + cols * step}, Layout::kRowMajor,
                                  onf::Role::kInput});
  Stmt acc{StmtKind::kAccum, "acc", {}, dnf::FlatLoad("a", Affine::Var("x") * row_stride + Affine::Var("y") * step),
           BinaryOp::kAdd, {}, {}};
  Stmt inner{StmtKind::kLoop, "y", cols, nullptr, BinaryOp::kAdd, {}, {acc}};
  Stmt outer{StmtKind::kLoop, "x", rows, nullptr, BinaryOp::kAdd, {}, {inner}};
  o.body = {Stmt{StmtKind::kLet, "acc", {}, dnf::Const(0), BinaryOp::kAdd, {}, {}}, outer};
  return o;
}

// The same stream with its row axis lifted as src/lift does it: for xo < ceil(rows / T) (a loop of
// divisor T), for xi < T, guard (xi + xo*T < rows).
onf::Onf LiftedSweep(int64_t rows, int64_t cols, int64_t tile) {
  onf::Onf o;
  o.buffers.push_back(onf::Buffer{"a", {rows * cols}, Layout::kRowMajor, onf::Role::kInput});
  const Affine row = Affine::Var("xi") + Affine::Var("xo") * tile;
  const Stmt acc = onf::Accum("acc", BinaryOp::kAdd, dnf::FlatLoad("a", row * cols + Affine::Var("y")));
  const dnf::Scalar ok = dnf::Binary(BinaryOp::kLess, dnf::IndexValue(row), dnf::Const(static_cast<double>(rows)));
  o.body = {onf::Let("acc", dnf::Const(0)),
            onf::Loop("xo", rows, {onf::Loop("xi", tile, {onf::Guard(ok, {onf::Loop("y", cols, {acc})})})},
                      tile)};
  return o;
}

TEST(CostFootprint, LiftedLoopsAndTailGuardsCostThePaddedTiles) {
  // 64 rows in tiles of 16: exactly the plain sweep's loads, plus one compare per row.
  const OpCounts whole = CountOps(LiftedSweep(64, 256, 16), {}, 4);
  EXPECT_DOUBLE_EQ(whole.loaded_bytes.at("a"), 64.0 * 256 * 4);
  EXPECT_DOUBLE_EQ(whole.other_flops, 64.0 * 256 + 64);
  EXPECT_DOUBLE_EQ(Traffic(LiftedSweep(64, 256, 16), {}, CacheSpec{1024, 64, 4, 1}).at("a").loaded,
                   64.0 * 256 * 4);
  // 60 rows: 4 tiles of 16, the tail costed as if padded to 64 rows.
  EXPECT_DOUBLE_EQ(CountOps(LiftedSweep(60, 256, 16), {}, 4).loaded_bytes.at("a"), 64.0 * 256 * 4);
}

// for i < 16: read all of r (4 KiB), a line of t that moves with i (a streaming tile), and the
// same line u every time (a scratch tile), float32 (16 per 64-byte line).
onf::Onf ReusedScratchAndStream() {
  onf::Onf o;
  o.buffers = {onf::Buffer{"r", {1024}, Layout::kRowMajor, onf::Role::kInput},
               onf::Buffer{"t", {16 * 16}, Layout::kRowMajor, onf::Role::kInput},
               onf::Buffer{"u", {16}, Layout::kRowMajor, onf::Role::kInput}};
  const Affine i = Affine::Var("i"), x = Affine::Var("x"), y = Affine::Var("y");
  const auto sum = [](const char* a, Affine at) {
    return onf::Accum("acc", BinaryOp::kAdd, dnf::FlatLoad(a, std::move(at)));
  };
  o.body = {onf::Let("acc", dnf::Const(0)),
            onf::Loop("i", 16, {onf::Loop("x", 1024, {sum("r", x)}),
                                onf::Loop("y", 16, {sum("t", i * 16 + y)}),
                                onf::Loop("y", 16, {sum("u", y)})})};
  return o;
}

// Misses on r of the same access order in an LRU cache of `sets` x `ways` lines of 64 bytes,
// each array starting on a page (as the model places them).
double LruMissesOnR(int64_t sets, int ways) {
  std::vector<std::vector<int64_t>> cache(static_cast<size_t>(sets));  // per set, LRU first
  double misses = 0;
  const auto touch = [&](int64_t line, bool is_r) {
    std::vector<int64_t>& set = cache[static_cast<size_t>(line % sets)];
    const auto it = std::find(set.begin(), set.end(), line);
    if (it != set.end()) {
      set.erase(it);
    } else {
      if (is_r) misses += 1;
      if (static_cast<int>(set.size()) == ways) set.erase(set.begin());
    }
    set.push_back(line);
  };
  const int64_t t_base = 1 << 12, u_base = 1 << 13;  // line numbers of 256 KiB and 512 KiB
  for (int64_t i = 0; i < 16; ++i) {
    for (int64_t l = 0; l < 64; ++l) touch(l, true);
    touch(t_base + i, false);
    touch(u_base, false);
  }
  return misses;
}

TEST(CostFootprint, StreamingTilesOverflowOtherSetsAtEachIteration) {
  // A 4 KiB 4-way cache (16 sets): r fills every set to exactly its ways. Between two reads of an
  // r line its set also sees u (set 0, every iteration) or, in one iteration, the current line
  // of t (set i): LRU then loses all r lines of both sets, 2 of 16 sets per iteration. Mapping t
  // at i = 0 only puts it on u's set, 1 of 16 (124 lines moved instead of ~180).
  const double lru = LruMissesOnR(16, 4);
  const double model = Traffic(ReusedScratchAndStream(), {}, CacheSpec{4096, 64, 4, 1, 4}).at("r").loaded / 64;
  EXPECT_NEAR(model, lru, 0.1 * lru) << "LRU " << lru;
  EXPECT_GT(model, 64 + 960 / 16.0 * 1.5);  // above one set's loss per iteration
  // Fully associative, r and a line more do not fit: r is read 16 times.
  EXPECT_DOUBLE_EQ(Traffic(ReusedScratchAndStream(), {}, CacheSpec{4096, 64, 4, 1, 0}).at("r").loaded,
                   16 * 4096.0);
}

TEST(CostFootprint, ContiguousStreamMovesEachLineOnce) {
  // 64 rows of 256 floats, cache of 1 KiB: nothing is reused, but consecutive floats share lines.
  const onf::Onf o = Sweep(64, 256, 256, 1);
  const auto t = Traffic(o, {}, CacheSpec{1024, 64, 4, 1});
  EXPECT_DOUBLE_EQ(t.at("a").loaded, 64.0 * 256 * 4);
  EXPECT_DOUBLE_EQ(t.at("a").stored, 0.0);
}

TEST(CostFootprint, ColumnWalkCostsALinePerElementUnlessTheColumnStays) {
  // Column-major walk of a 64 x 256 float matrix (x over columns, y down rows: stride 256).
  const onf::Onf o = Sweep(256, 64, 1, 256);
  // 64 lines per column pass; a 1 KiB cache (16 lines) cannot keep the column's lines between
  // passes: every element brings a line.
  EXPECT_DOUBLE_EQ(Traffic(o, {}, CacheSpec{1024, 64, 4, 1}).at("a").loaded, 256.0 * 64 * 64);
  // 8 KiB holds one column's 64 lines (4 KiB): the next 15 columns hit in them.
  EXPECT_DOUBLE_EQ(Traffic(o, {}, CacheSpec{8192, 64, 4, 1}).at("a").loaded, 64.0 * 256 * 4);
}

TEST(CostFootprint, PowerOfTwoPitchConflictsInASetAssociativeCache) {
  // Column walk again, 8 KiB 2-way (64 sets). A 1 KiB pitch (16 lines) puts the column's 64 lines
  // in 4 sets, 16 lines each for 2 ways: no reuse, a line per element, as without the capacity.
  const onf::Onf pow2 = Sweep(256, 64, 1, 256);
  EXPECT_DOUBLE_EQ(Traffic(pow2, {}, CacheSpec{8192, 64, 4, 1, 2}).at("a").loaded, 256.0 * 64 * 64);
  EXPECT_DOUBLE_EQ(Traffic(pow2, {}, CacheSpec{8192, 64, 4, 1, 0}).at("a").loaded, 64.0 * 256 * 4);
  // Padding the pitch by one line (17 lines, coprime to 64 sets): one line per set, reuse is back.
  const onf::Onf padded = Sweep(256, 64, 1, 256 + 16);
  EXPECT_DOUBLE_EQ(Traffic(padded, {}, CacheSpec{8192, 64, 4, 1, 2}).at("a").loaded, 64.0 * 256 * 4);
}

TEST(CostFootprint, ThreadsEachLoadWhatTheirChunkNeeds) {
  // Two threads split x; each streams its half once: same total for a stream.
  const onf::Onf o = Sweep(64, 256, 256, 1);
  EXPECT_DOUBLE_EQ(Traffic(o, {}, CacheSpec{1024, 64, 4, 2}).at("a").loaded, 64.0 * 256 * 4);
}

// Hand counts (see attention_forms.h for the loop nests), n=2 m=3 dk=4 dv=5.
TEST(CostOps, ThreePassDnfCountsAreExact) {
  const OpCounts c = CountOps(AttentionOnf(Form::kDnf), AttentionSizes(Form::kDnf, 2, 3, 4, 5), 8);
  // per row: max pass m·dk FMAs, normaliser m·dk, output dv·m·(dk + 1) (the weighted sum is an
  // FMA too): the lowered pass 3 recomputes each score for every output column.
  EXPECT_DOUBLE_EQ(c.fma, 2.0 * (12 + 12 + 5 * 3 * 5));
  // per row: max pass m·(div + max), normaliser m·(div + sub + add), output dv·m·(div + sub) and
  // dv final divisions, each behind the zero-keys test (m == 0 ? 0 : acc / Z), one comparison.
  EXPECT_DOUBLE_EQ(c.other_flops, 2.0 * (6 + 9 + 30 + 5 + 5));
  EXPECT_DOUBLE_EQ(c.exps, 2.0 * (3 + 5 * 3));
  EXPECT_DOUBLE_EQ(c.flops(), 2 * 198.0 + 110.0);
}

TEST(CostOps, NaiveCountsAreExact) {
  const OpCounts c = CountOps(AttentionOnf(Form::kNaive), AttentionSizes(Form::kNaive, 2, 3, 4, 5), 4);
  EXPECT_DOUBLE_EQ(c.fma, 2.0 * 3 * 4 + 2.0 * 3 * 5);  // the two GEMMs
  // scale n·m, softmax max, subtract, sum, divide: 5·n·m.
  EXPECT_DOUBLE_EQ(c.other_flops, 5.0 * 6);
  EXPECT_DOUBLE_EQ(c.exps, 6.0);
  // S is written once and read twice (max, exp); P written twice, read twice (sum, divide) and once
  // by the second GEMM per output column.
  EXPECT_DOUBLE_EQ(c.stored_bytes.at("S"), 6.0 * 4);
  EXPECT_DOUBLE_EQ(c.stored_bytes.at("P"), 2 * 6.0 * 4);
}

TEST(CostOps, LiftedCountsAreExact) {
  // n=2 m=3 dk=4 dv=5 in one 2x3 tile.
  const OpCounts c =
      CountOps(AttentionOnf(Form::kLifted), AttentionSizes(Form::kLifted, 2, 3, 4, 5, 2, 3), 4);
  EXPECT_DOUBLE_EQ(c.fma, 2.0 * 3 * 4 + 2.0 * 3 * 5);
  // n·m (scale) + n·m (max) + n·nkb (corr sub) + n·m (sub) + n·m (row sum) + 2·n·nkb (z update)
  // + n·nkb·dv (o rescale) + n·dv (final division)
  EXPECT_DOUBLE_EQ(c.other_flops, 6 + 6 + 2 + 6 + 6 + 4 + 10 + 10);
  EXPECT_DOUBLE_EQ(c.exps, 2 + 6);
}

// The three ONFs compute the same attention (the interpreter runs them).
TEST(CostForms, NaiveDnfAndLiftedAgree) {
  const int64_t n = 4, m = 6, dk = 3, dv = 2;
  onf::FlatBuffers in;
  uint32_t seed = 7;
  auto fill = [&](int64_t count) {
    std::vector<double> v(count);
    for (double& x : v) {
      seed = seed * 1664525u + 1013904223u;
      x = static_cast<double>(seed >> 8) / (1 << 24) * 4 - 2;
    }
    return v;
  };
  in["q"] = fill(n * dk);
  in["k"] = fill(m * dk);
  in["v"] = fill(m * dv);
  const auto ref = onf::Interpret(AttentionOnf(Form::kDnf), AttentionSizes(Form::kDnf, n, m, dk, dv), in).at("out");
  const auto naive = onf::Interpret(AttentionOnf(Form::kNaive), AttentionSizes(Form::kNaive, n, m, dk, dv), in).at("out");
  const auto lifted = onf::Interpret(AttentionOnf(Form::kLifted),
                                     AttentionSizes(Form::kLifted, n, m, dk, dv, 2, 3), in).at("out");
  // Kernel order: one query block of 4 in chunks of 2, two key tiles of 3.
  const auto chunks =
      onf::Interpret(AttentionOnf(Form::kLiftedChunks),
                     AttentionSizes(Form::kLiftedChunks, n, m, dk, dv, 4, 3, 2), in).at("out");
  ASSERT_EQ(ref.size(), static_cast<size_t>(n * dv));
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_NEAR(naive[i], ref[i], 1e-12) << i;
    EXPECT_NEAR(lifted[i], ref[i], 1e-12) << i;
    EXPECT_NEAR(chunks[i], ref[i], 1e-12) << i;
  }
  EXPECT_THROW(AttentionSizes(Form::kLiftedChunks, n, m, dk, dv, 4, 3, 3), Error);  // 3 ∤ 4
}

TEST(CostOps, KernelOrderCountsEqualTheLiftedCounts) {
  const Bindings lifted = AttentionSizes(Form::kLifted, 64, 48, 8, 4, 16, 12);
  const Bindings chunks = AttentionSizes(Form::kLiftedChunks, 64, 48, 8, 4, 16, 12, 4);
  const OpCounts a = CountOps(AttentionOnf(Form::kLifted), lifted, 8);
  const OpCounts b = CountOps(AttentionOnf(Form::kLiftedChunks), chunks, 8);
  EXPECT_DOUBLE_EQ(a.fma, b.fma);
  EXPECT_DOUBLE_EQ(a.other_flops, b.other_flops);
  EXPECT_DOUBLE_EQ(a.exps, b.exps);
}

// Lifted form, n = m = 256, dk = dv = 16 float32 (one 64-byte line per row), tiles 32 x 32.
// Per head: Q, K, V, out 16 KiB each; one query tile's pass over all keys touches the Q tile
// (2 KiB), K and V (32 KiB), the score tile (4 KiB), the O accumulator (2 KiB) and m, z (256 B).
class CostLiftedRegimes : public ::testing::Test {
 protected:
  std::map<std::string, ArrayBytes> At(int64_t capacity) {
    return Traffic(AttentionOnf(Form::kLifted), AttentionSizes(Form::kLifted, 256, 256, 16, 16, 32, 32),
                   CacheSpec{capacity, 64, 4, 1});
  }
  static constexpr double kArray = 256.0 * 16 * 4;  // bytes of Q, K, V or out
};

TEST_F(CostLiftedRegimes, EverythingFitsCompulsoryOnly) {
  const auto t = At(1 << 20);
  EXPECT_DOUBLE_EQ(t.at("q").loaded, kArray);
  EXPECT_DOUBLE_EQ(t.at("k").loaded, kArray);
  EXPECT_DOUBLE_EQ(t.at("v").loaded, kArray);
  EXPECT_DOUBLE_EQ(t.at("out").stored, kArray);
  EXPECT_DOUBLE_EQ(t.at("out").loaded, kArray);  // write-allocate
}

TEST_F(CostLiftedRegimes, KeysAndValuesFitReadOnce) {
  // 48 KiB: one query tile's pass (~42 KiB) fits, the whole problem (~70 KiB) does not.
  const auto t = At(48 << 10);
  EXPECT_DOUBLE_EQ(t.at("k").loaded, kArray);
  EXPECT_DOUBLE_EQ(t.at("v").loaded, kArray);
  EXPECT_DOUBLE_EQ(t.at("q").loaded, kArray);
  EXPECT_DOUBLE_EQ(t.at("out").stored, kArray);
}

TEST_F(CostLiftedRegimes, KeysAndValuesDoNotFitReadOncePerQueryTile) {
  // 16 KiB: K and V do not fit, one key tile's step (~12.3 KiB) does: K and V are read
  // n/Bq = 8 times, Q and out once: n·(dk+dv) + (n/Bq)·m·(dk+dv) elements.
  const auto t = At(16 << 10);
  EXPECT_DOUBLE_EQ(t.at("k").loaded, 8 * kArray);
  EXPECT_DOUBLE_EQ(t.at("v").loaded, 8 * kArray);
  EXPECT_DOUBLE_EQ(t.at("q").loaded, kArray);
  EXPECT_DOUBLE_EQ(t.at("out").stored, kArray);
}

TEST(CostNaiveTraffic, ScoresAndProbabilitiesGoThroughTheCache) {
  // n = m = 256, dk = dv = 16 float32, 16 KiB cache: S and P (256 KiB each) do not fit. S is
  // written once (write-allocate fill + write-back) and read once by the softmax (its row
  // stays for max and exp); P is written by the softmax, read by the second GEMM.
  const auto t = Traffic(AttentionOnf(Form::kNaive), AttentionSizes(Form::kNaive, 256, 256, 16, 16),
                         CacheSpec{16 << 10, 64, 4, 1});
  const double nm = 256.0 * 256 * 4;
  EXPECT_DOUBLE_EQ(t.at("S").stored, nm);
  EXPECT_DOUBLE_EQ(t.at("S").loaded, 2 * nm);
  EXPECT_DOUBLE_EQ(t.at("P").stored, nm);
  EXPECT_DOUBLE_EQ(t.at("P").loaded, 2 * nm);
}

TEST(CostFootprint, CompulsoryFootprintIsTheArrays) {
  const auto f = Footprint(AttentionOnf(Form::kDnf), AttentionSizes(Form::kDnf, 64, 32, 16, 8), 64, 8);
  EXPECT_DOUBLE_EQ(f.at("q"), 64.0 * 16 * 8);
  EXPECT_DOUBLE_EQ(f.at("k"), 32.0 * 16 * 8);
  EXPECT_DOUBLE_EQ(f.at("v"), 32.0 * 8 * 8);
  EXPECT_DOUBLE_EQ(f.at("out"), 64.0 * 8 * 8);
}

}  // namespace
}  // namespace moa::cost
