// Tests of the machine description (JSON), the predictions, regimes and tile recommendation.
#include "cost/cost.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "moa/error.h"

namespace moa::cost {
namespace {

// A made-up machine with round numbers, so expected values can be derived by hand.
MachineModel Toy() {
  MachineModel m = DefaultMachine();
  m.cpu = "toy";
  m.cores = 2;
  m.line_bytes = 64;
  m.caches = {CacheLevel{"L1", 32 << 10, 8, 64, false, 100e9, 200e9},
              CacheLevel{"L2", 2 << 20, 16, 64, false, 50e9, 100e9},
              CacheLevel{"LLC", 32 << 20, 16, 64, true, 20e9, 30e9}};
  m.fma_flops_f64 = 32e9;
  m.fma_flops_f32 = 64e9;
  m.exp_per_s_f32 = 2e9;
  m.exp_per_s_f64 = 1e9;
  m.dram_bw_1t = 10e9;
  m.dram_bw_all = 15e9;
  return m;
}

TEST(CostMachine, JsonRoundTrip) {
  MachineModel m = Toy();
  m.measured = true;
  m.fma_flops_bf16 = 512e9;
  m.bf16_path = "AMX";
  m.notes = {"a note"};
  const nlohmann::json j = ToJson(m);
  const MachineModel back = FromJson(j);
  EXPECT_EQ(ToJson(back), j);
  EXPECT_EQ(back.caches.size(), 3u);
  EXPECT_EQ(back.caches[1].bytes, 2 << 20);
  EXPECT_DOUBLE_EQ(back.FmaFlops(Dtype::kBFloat16), 512e9);
  EXPECT_EQ(back.byte_dram.source, m.byte_dram.source);
  EXPECT_NE(back.byte_dram.source.find("Horowitz"), std::string::npos);
}

TEST(CostMachine, DefaultIsFlaggedUnmeasuredAndCitesItsEnergy) {
  const MachineModel m = DefaultMachine();
  EXPECT_FALSE(m.measured);
  ASSERT_FALSE(m.caches.empty());
  for (const Energy* e : {&m.flop_f64, &m.flop_f32, &m.flop_bf16, &m.exp, &m.byte_l1, &m.byte_l2,
                          &m.byte_llc, &m.byte_dram}) {
    EXPECT_GT(e->joules, 0);
    EXPECT_FALSE(e->source.empty());
  }
  // A DRAM byte costs about a hundred L1 bytes in Horowitz's table.
  EXPECT_GT(m.byte_dram.joules / m.byte_l1.joules, 50);
}

std::string ErrorOf(const nlohmann::json& j) {
  try {
    FromJson(j);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(CostMachine, BadFilesNameTheField) {
  const nlohmann::json good = ToJson(Toy());
  nlohmann::json j = good;
  j.erase("dram_bw_all");
  EXPECT_EQ(ErrorOf(j), "machine file: missing field 'dram_bw_all'");
  j = good;
  j["caches"][1]["bytes"] = "2M";
  EXPECT_EQ(ErrorOf(j), "machine file: field 'caches[1].bytes' must be an integer from 1 to 1099511627776, got \"2M\"");
  // Sizes past any machine's: the model would allocate a table of their cache sets, or wrap.
  j = good;
  j["caches"][1]["bytes"] = int64_t{1} << 50;
  EXPECT_EQ(ErrorOf(j), "machine file: field 'caches[1].bytes' must be an integer from 1 to 1099511627776, got 1125899906842624");
  j = good;
  j["caches"][0]["ways"] = uint64_t{1} << 63;
  EXPECT_EQ(ErrorOf(j), "machine file: field 'caches[0].ways' must be an integer from 0 to 65536, got 9223372036854775808");
  j = good;
  j["cores"] = int64_t{1} << 32;  // was cast to int: 0 cores
  EXPECT_EQ(ErrorOf(j), "machine file: field 'cores' must be an integer from 1 to 1048576, got 4294967296");
  j = good;
  j["fma_flops_f32"] = -1;
  EXPECT_EQ(ErrorOf(j), "machine file: field 'fma_flops_f32' must be a positive number, got -1");
  j = good;
  j["energy"]["byte_dram"].erase("source");
  EXPECT_EQ(ErrorOf(j), "machine file: missing field 'energy.byte_dram.source'");
  j = good;
  j["caches"][2]["bytes"] = 1024;
  EXPECT_NE(ErrorOf(j).find("caches[2].bytes' must exceed the previous level's"), std::string::npos);
  j = good;
  j["format"] = "other";
  EXPECT_NE(ErrorOf(j).find("'format'"), std::string::npos);
  EXPECT_THROW(LoadMachine("/nonexistent/machine.json"), Error);
}

TEST(CostRegimes, CrossoverIsWhereKeysAndValuesFillTheLevel) {
  const MachineModel m = Toy();
  const Problem p{4096, 4096, 128, 128, 1, 1, Dtype::kFloat32, 1};
  const std::vector<Regime> r = Regimes(m, p, 64, 64);
  ASSERT_EQ(r.size(), 3u);
  // n* = capacity / ((dk + dv)·4 bytes): 32 KiB -> 32, 2 MiB -> 2048, 32 MiB -> 32768.
  EXPECT_EQ(r[0].crossover_n, 32);
  EXPECT_EQ(r[1].crossover_n, 2048);
  EXPECT_EQ(r[2].crossover_n, 32768);
  EXPECT_FALSE(r[1].kv_fits);  // K and V: 4096·256·4 = 4 MiB > 2 MiB
  EXPECT_TRUE(r[2].kv_fits);
  const double compulsory = 4.0 * 4096 * 128 * 4;
  EXPECT_DOUBLE_EQ(r[2].compulsory_bytes, compulsory);
  EXPECT_DOUBLE_EQ(r[2].bound_bytes, compulsory);
  // L2: M = 512 Ki words >= d² = 16384: n·m·d²/M words.
  EXPECT_EQ(r[1].bound_formula, "n*m*d^2/M");
  EXPECT_DOUBLE_EQ(r[1].bound_bytes, std::max(compulsory, 4096.0 * 4096 * 128 * 128 / (512 * 1024) * 4));
  // L1: M = 8 Ki words < d²: n·m·d/√M.
  EXPECT_EQ(r[0].bound_formula, "n*m*d/sqrt(M)");
  EXPECT_DOUBLE_EQ(r[0].bound_bytes, 4096.0 * 4096 * 128 / std::sqrt(8192.0) * 4);
  // Where K and V fit, the model's lifted traffic is within write-allocate and the scratch
  // tiles of compulsory; where they do not, it is above the lower bound.
  EXPECT_GE(r[2].model_bytes, compulsory);
  EXPECT_LE(r[2].model_bytes, compulsory * 1.4);
  EXPECT_GE(r[1].model_bytes, r[1].bound_bytes);
}

TEST(CostPredict, ComputeTimeFollowsTheCountsAndRates) {
  const MachineModel m = Toy();
  const Problem p{256, 256, 64, 64, 1, 1, Dtype::kFloat32, 1};
  const Prediction naive = Predict(m, p, Form::kNaive);
  // fma + other issue at half the flop rate, exps at the exp rate.
  EXPECT_DOUBLE_EQ(naive.compute_s, (naive.fma + naive.other_flops) / 32e9 + naive.exps / 2e9);
  EXPECT_DOUBLE_EQ(naive.time_s, std::max(naive.compute_s, naive.memory_s));
  EXPECT_GE(naive.time_no_overlap_s, naive.time_s);
  // Two heads and two threads: twice the work on twice the units.
  const Problem p2{256, 256, 64, 64, 2, 1, Dtype::kFloat32, 2};
  const Prediction naive2 = Predict(m, p2, Form::kNaive);
  EXPECT_DOUBLE_EQ(naive2.flops(), 2 * naive.flops());
  EXPECT_NEAR(naive2.compute_s, naive.compute_s, 1e-15);
  EXPECT_EQ(naive2.threads_used, 2);
}

TEST(CostPredict, FusedMovesLessThanNaiveFromDram) {
  const MachineModel m = Toy();
  const Problem p{4096, 4096, 64, 64, 1, 1, Dtype::kFloat32, 1};
  const Prediction naive = Predict(m, p, Form::kNaive);
  const Prediction lifted = Predict(m, p, Form::kLifted, 64, 64);
  const auto& n_dram = naive.levels.back();
  const auto& l_dram = lifted.levels.back();
  EXPECT_EQ(n_dram.source, "DRAM");
  // S and P (64 MiB each) pass through DRAM; the lifted form reads q, k, v and writes out.
  EXPECT_GE(n_dram.bytes(), 4.0 * 4096 * 4096 * 4);
  EXPECT_LE(l_dram.bytes(), 6.0 * 4096 * 64 * 4 * 1.1);
  EXPECT_LT(lifted.energy_j, naive.energy_j);
}

TEST(CostPredict, BadProblemsNameTheArgument) {
  const MachineModel m = Toy();
  try {
    Predict(m, Problem{0, 4, 4, 4, 1, 1, Dtype::kFloat32, 1}, Form::kNaive);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--n: must be positive, got 0");
  }
  EXPECT_THROW(Predict(m, Problem{4, 4, 4, 4, 1, 1, Dtype::kFloat32, 0}, Form::kNaive), Error);
  EXPECT_THROW(Predict(m, Problem{4, 4, 4, 4, 1, 1, Dtype::kFloat32, 1}, Form::kLifted, 0, 4), Error);
  EXPECT_THROW(ParseDtype("int8"), Error);
}

TEST(CostTiles, RecommendationIsNoSlowerThanOtherCandidates) {
  const MachineModel m = Toy();
  const Tiles t = RecommendTiles(m, 1024, 1024, 64, 64, Dtype::kFloat32, 1);
  ASSERT_GT(t.bq, 0);
  ASSERT_GT(t.bk, 0);
  const Problem p{1024, 1024, 64, 64, 1, 1, Dtype::kFloat32, 1};
  for (int64_t bq : {16, 64, 256})
    for (int64_t bk : {16, 128, 1024})
      EXPECT_LE(t.time_s, Predict(m, p, Form::kLifted, bq, bk).time_s * 1.01) << bq << "x" << bk;
  EXPECT_DOUBLE_EQ(Predict(m, p, Form::kLifted, t.bq, t.bk).time_s, t.time_s);
}

TEST(CostTiles, GivenCandidatesOnlyAndNoPaddingOnlyTiles) {
  const MachineModel m = Toy();
  const std::vector<int64_t> bqs = {64, 192, 512}, bks = {32, 96, 512};
  const Tiles t = RecommendTiles(m, 1000, 1000, 64, 64, Dtype::kFloat32, 2, 3, bqs, bks);
  EXPECT_NE(std::find(bqs.begin(), bqs.end(), t.bq), bqs.end()) << t.bq;
  EXPECT_NE(std::find(bks.begin(), bks.end(), t.bk), bks.end()) << t.bk;
  // n = 40: the 64-row tile covers it, so 192 and 512 are never costed.
  EXPECT_EQ(RecommendTiles(m, 40, 40, 64, 64, Dtype::kFloat32, 1, 1, bqs, bks).bq, 64);
  EXPECT_THROW(RecommendTiles(m, 40, 40, 64, 64, Dtype::kFloat32, 1, 1, {0}, bks), Error);
}

// float64, n = 4096, d = 128, 48 KiB L1 (the development VM's): the lifted ONF's per-query-row
// loops need a whole K (or V) tile in L1 beside one q row, which caps Bk at 32 (32 KiB); the
// fused kernels' chunk-major order (chunks of 32 queries: a 32 KiB Q^T slab per key step, the
// chunk's scores, Bk x 256 B, per P.V column) keeps the chunk instead, and then larger tiles
// move less (the O^T slab is loaded and stored once per chunk and tile) up to Bk = 128, beyond
// which the chunk's scores and a V column no longer fit beside each other.
TEST(CostTiles, KernelOrderTilesFollowTheChunkNotTheKeyTile) {
  MachineModel m = Toy();
  m.caches[0].bytes = 48 << 10;
  for (CacheLevel& c : m.caches) c.ways = 0;
  const std::vector<int64_t> bks = {32, 64, 96, 128, 192, 256};
  EXPECT_EQ(RecommendTiles(m, 4096, 4096, 128, 128, Dtype::kFloat64, 2, 1, {128}, bks).bk, 32);
  EXPECT_EQ(RecommendTiles(m, 4096, 4096, 128, 128, Dtype::kFloat64, 2, 1, {128}, bks, 32).bk, 128);
  // float32 chunks of 64 queries are the same 256 bytes per key row: the same tile.
  EXPECT_EQ(RecommendTiles(m, 4096, 4096, 128, 128, Dtype::kFloat32, 2, 1, {128}, bks, 64).bk, 128);
  const Problem p{4096, 4096, 128, 128, 1, 1, Dtype::kFloat64, 2};
  const auto l1 = [&](Form form, int64_t bk) {
    return Predict(m, p, form, 128, bk, nullptr, form == Form::kLiftedChunks ? 32 : 0).levels[1].bytes();
  };
  // The lifted ONF: past 32, K and V are reloaded per query row (here 15x the bytes).
  EXPECT_GT(l1(Form::kLifted, 64), 10 * l1(Form::kLifted, 32));
  // Kernel order: less from 32 to 128, then the chunk's scores are reloaded per V column.
  EXPECT_LT(l1(Form::kLiftedChunks, 128), 0.8 * l1(Form::kLiftedChunks, 32));
  EXPECT_GT(l1(Form::kLiftedChunks, 192), 5 * l1(Form::kLiftedChunks, 128));
  EXPECT_THROW(Predict(m, p, Form::kLiftedChunks, 128, 128, nullptr, 48), Error);  // 48 ∤ 128
}

TEST(CostPredict, WholeTasksPerThreadAndMeasuredTileCost) {
  const MachineModel m = Toy();
  // 3 query blocks of 64 on 2 threads: the busiest thread runs 2 of them, so the compute time is
  // 2/1.5 of the perfectly balanced time.
  const Problem three{192, 256, 64, 64, 1, 1, Dtype::kFloat32, 2};
  const Problem four{256, 256, 64, 64, 1, 1, Dtype::kFloat32, 2};
  const Prediction p3 = Predict(m, three, Form::kLifted, 64, 64);
  const Prediction p4 = Predict(m, four, Form::kLifted, 64, 64);
  EXPECT_NEAR(p3.compute_s, p4.compute_s, 1e-12 * p4.compute_s);
  // With the kernel's measured cost: the call, then ceil(4 / 2) tasks x (block + 4 tiles).
  const TileCost kernel{1e-3, 5e-4, 2e-4};
  const Prediction k4 = Predict(m, four, Form::kLifted, 64, 64, &kernel);
  EXPECT_DOUBLE_EQ(k4.compute_s, 2e-4 + 2 * (5e-4 + 4 * 1e-3));
  EXPECT_GE(k4.time_s, k4.compute_s);
  const TileCost bad{0, 0, 0};
  EXPECT_THROW(Predict(m, four, Form::kLifted, 64, 64, &bad), Error);
}

// A measured tile cost was timed with its data in L2, so it already pays the L1 <- L2 traffic:
// with one, only the levels past L2 can bound the time. A machine whose L2 is so slow that its
// traffic bounds the roofline shows the difference.
TEST(CostPredict, MeasuredTileCostContainsTheL1Traffic) {
  MachineModel m = Toy();
  m.caches[1].read_bw_1t = m.caches[1].read_bw_all = 1e6;  // L1 <- L2 at 1 MB/s
  const Problem p{256, 256, 64, 64, 1, 1, Dtype::kFloat32, 1};
  const Prediction ideal = Predict(m, p, Form::kLifted, 64, 64);
  ASSERT_EQ(ideal.bound, "L1<-L2");
  const TileCost kernel{1e-6, 0, 0};
  const Prediction measured = Predict(m, p, Form::kLifted, 64, 64, &kernel);
  EXPECT_DOUBLE_EQ(measured.compute_s, 4 * 4 * 1e-6);
  EXPECT_NE(measured.bound, "L1<-L2");
  EXPECT_LT(measured.time_s, ideal.time_s / 10);
  // The traffic is still reported, and priced in energy, as before.
  EXPECT_EQ(measured.levels[1].bytes(), ideal.levels[1].bytes());
  EXPECT_DOUBLE_EQ(measured.energy_j, ideal.energy_j);
  // The levels past L2 still bound it: a slow DRAM does.
  m.dram_bw_1t = m.dram_bw_all = 1e3;
  EXPECT_EQ(Predict(m, p, Form::kLifted, 64, 64, &kernel).bound, "LLC<-DRAM");
}

}  // namespace
}  // namespace moa::cost
