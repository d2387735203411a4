// moa cost — predicted flops, data movement, time and energy of attention (stage: cost).
// In: a MachineModel (machine_model.h), the problem (n, m, dk, dv, batch, heads, dtype, threads),
// and a form (naive / three-pass DNF / lifted with tiles Bq, Bk; attention_forms.h).
// Out: counts per memory level, predicted seconds and joules, recommended tiles, and the two
// data-movement regimes per cache level.
//
// Assumptions (each one a way the prediction can be wrong; the traffic check in bench/ and
// `moa bench --report` measure how wrong):
//  * Traffic per level comes from footprint.h (LRU, fully associative, whole capacity usable).
//    Level "L1" = bytes the L1 receives from L2, "L2" from the LLC, "LLC" from DRAM, "registers"
//    = every load and store the scalar loop nest issues (served by L1). The register level is
//    reported but enters neither time nor energy: the ONF leaves register tiling to the code
//    generator and micro-kernels, where one load feeds many multiply-adds.
//  * Heads are independent and costed once, times b·h. Threads take whole heads when b·h ≥
//    threads, else split each head's outermost loop into contiguous chunks; each thread has its
//    own L1 and L2 (K and V are then loaded by every thread), the LLC is shared and analysed as
//    for one thread (threads read K and V together).
//  * Compute: multiply-adds and every other flop issue at the measured FMA rate (one op per SIMD
//    lane per FMA slot: a max costs what an FMA costs, 2 flops' worth); exps at the measured
//    vector exp rate, not overlapped with the FMAs (both use the FMA units). This assumes the loop
//    nest is vectorised perfectly; scalar code is ~lanes x slower.
//  * Time = max(compute, bytes/bandwidth of each level): compute and all transfers overlap
//    perfectly (roofline). The sum of all terms, the no-overlap bound, is reported beside it.
//    Writes are priced at the read bandwidth.
//  * Energy = flops·e_flop + exps·e_exp + Σ_levels bytes·e_byte(level the bytes come from); dynamic
//    only (no static power, no instruction overhead): a lower bound, with 45 nm-era constants.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cost/attention_forms.h"
#include "cost/footprint.h"
#include "cost/machine_model.h"

namespace moa::cost {

struct Problem {
  int64_t n = 0, m = 0, dk = 0, dv = 0;
  int64_t batch = 1, heads = 1;
  Dtype dtype = Dtype::kFloat32;
  int threads = 1;
};

struct LevelCost {
  std::string level;        // "registers", "L1", "L2", "LLC" (the level that receives the bytes)
  std::string source;       // where they come from: "L1", "L2", "LLC", "DRAM"
  int64_t capacity = 0;     // bytes of the receiving cache (0 for registers)
  double loaded = 0;        // bytes, all heads
  double stored = 0;
  std::map<std::string, ArrayBytes> per_array;  // all heads
  double bandwidth = 0;     // bytes/s of the source level for the threads used
  double seconds = 0;       // (loaded + stored) / bandwidth
  double joules = 0;
  double bytes() const { return loaded + stored; }
};

struct Prediction {
  Form form = Form::kNaive;
  int64_t bq = 0, bk = 0;   // lifted only
  int64_t bc = 0;           // lifted in kernel order only
  int threads_used = 1;
  double fma = 0, other_flops = 0, exps = 0;  // all heads
  double flops() const { return 2 * fma + other_flops; }
  std::vector<LevelCost> levels;  // registers first, then each cache level
  double compute_s = 0;
  double memory_s = 0;            // the slowest level
  std::string bound;              // "compute" or the level whose traffic bounds the time
  double time_s = 0;              // max(compute_s, memory_s)
  double time_no_overlap_s = 0;   // compute_s + Σ level seconds (registers excluded)
  double energy_j = 0;
};

// Throws moa::Error naming the bad field of `problem` (sizes and threads must be positive).
void CheckProblem(const Problem& problem);

// The measured cost of the fused kernel's steps per thread with its data in L2, while the
// prediction's threads all run (`moa bench --report` measures them in the same run, from one and
// eight heads per thread of one query block against 4 and 16 key tiles). With it, the lifted
// form's compute time is the kernel's own rather than the roofline's ideal FMA and exp rates, and
// the traffic between L1 and L2, which the measured time already contains (the micro-kernels
// reuse each L1 line across a register block, the scalar ONF the model counts does not), no
// longer bounds the time; the levels past L2 still do.
struct TileCost {
  double per_tile_s = 0;   // one key/value tile against one query block: S, softmax update, P V
  double per_block_s = 0;  // per query block outside the key loop: packing Q, finishing O
  double per_call_s = 0;   // once per call: checking arguments, scratch, starting threads
};

// Threads take whole tasks (a head's outermost iteration: a query block of the lifted form, a
// query row otherwise) dynamically, so the compute time is that of ceil(tasks / threads) tasks.
// With `kernel`, the lifted form's compute time is per_call_s + ceil(tasks / threads) x
// (per_block_s + nkb x per_tile_s). `bc`: the query chunk of Form::kLiftedChunks (divides bq).
Prediction Predict(const MachineModel& machine, const Problem& problem, Form form,
                   int64_t bq = 0, int64_t bk = 0, const TileCost* kernel = nullptr,
                   int64_t bc = 0);

// The same prediction for any ONF loop nest (a spec's DNF lowered by onf::Lower, or its lifted
// form from src/lift), `heads` independent copies; threads split its first top-level loop.
Prediction PredictOnf(const MachineModel& machine, const onf::Onf& onf, const Bindings& sizes,
                      Dtype dtype, int threads, int64_t heads = 1);

struct Tiles {
  int64_t bq = 0, bk = 0;
  double time_s = 0;
};

// Query and key/value tile sizes minimising the predicted time of the lifted form (ties within
// 1% broken by lower predicted energy, i.e. less data movement). Candidates: `bq_choices` and
// `bk_choices` when given (the runtime kernels pass the sizes they support), else powers of two,
// Bq 16..512 and Bk 16..1024; a candidate that only pads (more than one tile beyond n or m) is
// skipped, the smallest always kept. `chunk` > 0 costs the lifted form in the fused kernels'
// order (Form::kLiftedChunks) with chunks of that many queries (Bq candidates that are not whole
// chunks are skipped); 0 costs the lifted ONF as src/lift derives it (Form::kLifted).
Tiles RecommendTiles(const MachineModel& machine, int64_t n, int64_t m, int64_t dk, int64_t dv,
                     Dtype dtype, int threads, int64_t batch_heads = 1,
                     const std::vector<int64_t>& bq_choices = {},
                     const std::vector<int64_t>& bk_choices = {}, int64_t chunk = 0);

// The two regimes of the fused form at one cache level (Dao et al. 2022, FlashAttention,
// Theorem 2 / Proposition 3; Saha & Ye 2024, "The I/O complexity of attention"):
//  K and V fit (m·(dk+dv) elements ≤ M): Θ(n·(dk+dv)) traffic, the compulsory reads and writes;
//  they do not: Θ(n·m·d²/M) (d = max(dk, dv)) for M ≥ d² words, Θ(n·m·d/√M) for M < d².
struct Regime {
  std::string level;
  int64_t capacity = 0;          // bytes
  double kv_bytes = 0;           // K and V of one head
  bool kv_fits = false;
  int64_t crossover_n = 0;       // largest n = m at which K and V of one head fit
  double compulsory_bytes = 0;   // (n·dk + m·dk + m·dv + n·dv)·elem, one head
  // The lower bound's scale: compulsory while K and V fit, else max(compulsory, the Θ(·)
  // expression with constant 1 and M in words); the theorems fix the order, not the constant.
  double bound_bytes = 0;
  std::string bound_formula;     // "compulsory", "n*m*d^2/M" or "n*m*d/sqrt(M)"
  double model_bytes = 0;        // the footprint model's lifted traffic into this level
};

std::vector<Regime> Regimes(const MachineModel& machine, const Problem& problem, int64_t bq,
                            int64_t bk);

}  // namespace moa::cost
