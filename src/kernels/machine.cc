// moa — runtime attention (stage: kernels, internal): thread count, block sizes from the cost model.
#include "kernels/machine.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "cost/cost.h"
#include "cost/machine_model.h"
#include "kernels/attention_problem.h"

namespace moa::internal {
namespace {

int64_t NextPowerOfTwo(int64_t x) {
  int64_t p = 1;
  while (p < x) p *= 2;
  return p;
}

// The machine the block choice is costed on: the file MOA_MACHINE names (measured rates), else
// the default description, whose cache geometry is this machine's (the rates are generic, but
// for the fused form they scale every candidate alike; the caches decide).
const cost::MachineModel& RuntimeMachine() {
  static const cost::MachineModel machine = [] {
    const char* path = std::getenv("MOA_MACHINE");
    cost::MachineModel m =
        path != nullptr && *path != '\0' ? cost::LoadMachine(path) : cost::DefaultMachine();
    // Fully associative: the set-mapping refinement costs ~10x more to evaluate, and the kernels
    // pad their tiles' leading dimensions so that rows spread over the sets anyway.
    for (cost::CacheLevel& c : m.caches) c.ways = 0;
    return m;
  }();
  return machine;
}

cost::Dtype CostDtype(DType dtype) {
  if (dtype == DType::kFloat64) return cost::Dtype::kFloat64;
  if (dtype == DType::kBFloat16) return cost::Dtype::kBFloat16;
  return cost::Dtype::kFloat32;
}

}  // namespace

int DefaultThreadCount() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    // OMP_NUM_THREADS may be a list ("4,2" for nested levels); the first entry is ours.
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return MachineCores();
}

int MachineCores() { return cost::UsableCores(); }

Blocks ChooseBlocks(DType dtype, int64_t dk, int64_t dv, int64_t nq, int64_t nk,
                    int64_t heads_total, int threads) {
  // What the kernels support: query blocks of whole 64-query chunks (the micro-kernels' 4 vectors
  // of 16 float32 lanes), key tiles of whole 32-key AMX steps; at most 512 of either, beyond which
  // the per-thread tiles (Q^T, S^T, O^T: (dk + bk + dv) x bq) outgrow any L2.
  static const std::vector<int64_t> kBq = {64, 128, 192, 256, 384, 512};
  static const std::vector<int64_t> kBk = {32, 64, 96, 128, 192, 256, 384, 512};
  const int64_t nq_class = NextPowerOfTwo(std::max<int64_t>(nq, 1));
  // Decoding (query blocks the few-query path takes): where K and V are read in place it steps
  // through max(bk, 512) keys whatever bk is, so one decision per dtype, dims, heads and threads,
  // made at kDecodeKeys, serves every cache length. A decode loop whose cache grows then runs the
  // cost model once, not again at every power of two (4-8 ms each, against 0.04-0.25 ms for the
  // call itself at 8 heads of 100 to 5000 keys, d = 64).
  constexpr int64_t kDecodeKeys = 4096;
  const int64_t nk_class =
      nq <= FewQueryRows(dtype) ? kDecodeKeys : NextPowerOfTwo(std::max<int64_t>(nk, 1));
  using Key = std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t, int>;
  const Key key{static_cast<int>(dtype), dk, dv, nq_class, nk_class, heads_total, threads};

  static std::mutex mutex;
  static std::map<Key, cost::Tiles> decisions;
  cost::Tiles tiles;
  {
    std::lock_guard<std::mutex> lock(mutex);
    const auto it = decisions.find(key);
    if (it != decisions.end()) tiles = it->second;
  }
  if (tiles.bq == 0) {
    // Two passes of the model over one axis each (the key tile at a middling query block, then
    // the query block at that tile): 14 predictions instead of 48, a few ms for the first call
    // of each problem class.
    const cost::MachineModel& machine = RuntimeMachine();
    const cost::Dtype cd = CostDtype(dtype);
    // float32 and float64 run SimdTile, chunk by chunk of queries, so the model costs that loop
    // order (cost::Form::kLiftedChunks): per key step the chunk's Q^T slab, per P·V column the
    // chunk's scores stay in L1, and K and V stream. The scalar lifted ONF reuses a whole K or V
    // tile per query row instead, so it capped bk at what fits L1 beside one row (float64,
    // d = 128: 32), where the kernel measured 3-8% faster at bk 96-128. bfloat16 (AMX and
    // AVX512-BF16 pair kernels, whole-tile passes) keeps the lifted ONF's choice.
    const int64_t chunk = dtype == DType::kBFloat16 ? 0 : FusedChunkQueries(dtype);
    const int64_t bk = cost::RecommendTiles(machine, nq_class, nk_class, dk, dv, cd, threads,
                                            heads_total, {128}, kBk, chunk)
                           .bk;
    tiles = cost::RecommendTiles(machine, nq_class, nk_class, dk, dv, cd, threads, heads_total,
                                 kBq, {bk}, chunk);
    std::lock_guard<std::mutex> lock(mutex);
    if (decisions.size() > 4096) decisions.clear();  // a bound for long-running processes
    decisions.emplace(key, tiles);
  }
  return Blocks{std::min(tiles.bq, RoundUpTo(std::max<int64_t>(nq, 1), 64)),
                std::min(tiles.bk, RoundUpTo(std::max<int64_t>(nk, 1), 32))};
}

int64_t KvSplits(int64_t tasks, int threads, int64_t nk, int64_t bk) {
  // A piece's fixed cost (its Q pack, its state's copy and combination: (dk + 2 dv) per query) is
  // what 1-2 keys cost, so 256 keys keep it under 1%.
  constexpr int64_t kMinSplitKeys = 256;
  constexpr double kSplitSlack = 1.15;
  const int64_t most = std::max<int64_t>(1, std::min(RoundUpTo(nk, bk) / bk,
                                                     nk / std::max(bk, kMinSplitKeys)));
  const double share = static_cast<double>(tasks) / threads;
  for (int64_t s = 1; s < most; ++s) {
    // Pieces go out in rounds of `threads`: the slowest worker does ceil(tasks s / threads).
    const double slowest = static_cast<double>((tasks * s + threads - 1) / threads) / s;
    if (slowest <= kSplitSlack * share) return s;
  }
  return most;
}

}  // namespace moa::internal
