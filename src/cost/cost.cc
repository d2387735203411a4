// moa cost — predicted time and energy of the attention forms; tile recommendation; regimes.
#include "cost/cost.h"

#include <algorithm>
#include <cmath>

#include "moa/error.h"

namespace moa::cost {
namespace {

// The energy of a byte coming from level `name` ("L1", "L2", "L3"/"LLC", "DRAM").
double ByteEnergy(const MachineModel& m, const std::string& name) {
  if (name == "L1") return m.byte_l1.joules;
  if (name == "L2") return m.byte_l2.joules;
  if (name == "DRAM") return m.byte_dram.joules;
  return m.byte_llc.joules;
}

// Bandwidth of `threads` threads reading from one level: linear in threads up to the
// all-thread measurement.
double Bandwidth(double one, double all, int threads) {
  if (threads <= 1) return one;
  return std::max(one, std::min(one * threads, all));
}

// Trip of the program's first top-level loop: the one threads split (1 when there is none).
int64_t OuterTrip(const onf::Onf& onf, const Bindings& sizes) {
  for (const onf::Stmt& s : onf.body) {
    if (s.kind == onf::StmtKind::kLoop)
      return std::max<int64_t>(1, (s.extent.Evaluate(sizes) + s.divisor - 1) / s.divisor);
  }
  return 1;
}

// The cost of `heads` independent runs of `onf` on `threads` threads; with `kernel`, the compute
// time of the lifted attention kernel (sizes then bind nkb).
Prediction Cost(const MachineModel& machine, const onf::Onf& onf, const Bindings& sizes,
                Dtype dtype, int threads, int64_t bh, const TileCost* kernel) {
  UserCheck(!machine.caches.empty(), "machine description: no cache levels");
  const int eb = DtypeBytes(dtype);
  const double heads = static_cast<double>(bh);

  Prediction p;
  const int64_t trip = OuterTrip(onf, sizes);
  const int64_t tasks = bh * trip;
  p.threads_used = static_cast<int>(std::min<int64_t>(threads, tasks));
  // Threads per head when there are fewer heads than threads.
  const int64_t split = bh >= p.threads_used ? 1 : std::min<int64_t>(trip, (p.threads_used + bh - 1) / bh);

  const OpCounts ops = CountOps(onf, sizes, eb);
  p.fma = ops.fma * heads;
  p.other_flops = ops.other_flops * heads;
  p.exps = ops.exps * heads;

  const double fma_rate = machine.FmaFlops(dtype) / 2 * p.threads_used;  // ops/s
  const double exp_rate = machine.ExpRate(dtype) * p.threads_used;
  UserCheck(fma_rate > 0 && exp_rate > 0, "machine description: no FMA or exp rate for ",
            DtypeName(dtype));
  // Whole tasks per thread: the busiest thread runs ceil(tasks / threads) of them.
  const double imbalance = static_cast<double>((tasks + p.threads_used - 1) / p.threads_used) *
                           p.threads_used / static_cast<double>(tasks);
  p.compute_s = ((p.fma + p.other_flops) / fma_rate + p.exps / exp_rate) * imbalance;
  if (kernel != nullptr) {
    UserCheck(kernel->per_tile_s > 0 && kernel->per_block_s >= 0 && kernel->per_call_s >= 0,
              "kernel tile cost: per_tile_s must be positive, per_block_s and per_call_s "
              "non-negative");
    p.compute_s = kernel->per_call_s +
                  static_cast<double>((tasks + p.threads_used - 1) / p.threads_used) *
                      (kernel->per_block_s + static_cast<double>(sizes.at("nkb")) * kernel->per_tile_s);
  }
  p.energy_j = p.flops() * machine.FlopEnergy(dtype) + p.exps * machine.exp.joules;

  // Registers <- L1: every reference.
  LevelCost reg;
  reg.level = "registers";
  reg.source = machine.caches.front().name;
  for (const auto& [array, bytes] : ops.loaded_bytes) reg.per_array[array].loaded = bytes * heads;
  for (const auto& [array, bytes] : ops.stored_bytes) reg.per_array[array].stored = bytes * heads;
  for (const auto& [array, bytes] : reg.per_array) {
    reg.loaded += bytes.loaded;
    reg.stored += bytes.stored;
  }
  reg.bandwidth = Bandwidth(machine.caches.front().read_bw_1t, machine.caches.front().read_bw_all,
                            p.threads_used);
  p.levels.push_back(reg);

  for (size_t i = 0; i < machine.caches.size(); ++i) {
    const CacheLevel& c = machine.caches[i];
    LevelCost lc;
    lc.level = c.name;
    lc.capacity = c.bytes;
    const bool last = i + 1 == machine.caches.size();
    lc.source = last ? "DRAM" : machine.caches[i + 1].name;
    CacheSpec spec{c.bytes, c.line_bytes, eb, c.shared ? 1 : split, c.ways};
    for (const auto& [array, bytes] : Traffic(onf, sizes, spec)) {
      ArrayBytes scaled{bytes.loaded * heads, bytes.stored * heads};
      lc.per_array[array] = scaled;
      lc.loaded += scaled.loaded;
      lc.stored += scaled.stored;
    }
    lc.bandwidth = last ? Bandwidth(machine.dram_bw_1t, machine.dram_bw_all, p.threads_used)
                        : Bandwidth(machine.caches[i + 1].read_bw_1t,
                                    machine.caches[i + 1].read_bw_all, p.threads_used);
    p.levels.push_back(lc);
  }
  p.time_no_overlap_s = p.compute_s;
  p.bound = "compute";
  for (LevelCost& lc : p.levels) {
    UserCheck(lc.bandwidth > 0, "machine description: no bandwidth for the source of ", lc.level);
    lc.seconds = lc.bytes() / lc.bandwidth;
    lc.joules = lc.bytes() * ByteEnergy(machine, lc.source);
    // The register level is the ONF's scalar loads; code generators and micro-kernels tile
    // registers (one load feeds many FMAs), so it is reported, not priced.
    if (lc.level == "registers") continue;
    p.energy_j += lc.joules;
    // A measured tile cost was timed with its data in L2: it contains the L1 <- L2 traffic.
    if (kernel != nullptr && lc.level == machine.caches.front().name) continue;
    p.time_no_overlap_s += lc.seconds;
    if (lc.seconds > p.memory_s) {
      p.memory_s = lc.seconds;
      if (p.memory_s > p.compute_s) p.bound = lc.level + "<-" + lc.source;
    }
  }
  p.time_s = std::max(p.compute_s, p.memory_s);
  return p;
}

}  // namespace

void CheckProblem(const Problem& p) {
  UserCheck(p.n > 0, "--n: must be positive, got ", p.n);
  UserCheck(p.m > 0, "--m: must be positive, got ", p.m);
  UserCheck(p.dk > 0, "--dk: must be positive, got ", p.dk);
  UserCheck(p.dv > 0, "--dv: must be positive, got ", p.dv);
  UserCheck(p.batch > 0, "--b: must be positive, got ", p.batch);
  UserCheck(p.heads > 0, "--h: must be positive, got ", p.heads);
  UserCheck(p.threads > 0, "--threads: must be positive, got ", p.threads);
  // Every array of every form (the naive form's n x m scores the largest with q, k, v, out),
  // all heads, within 2^62 bytes: past that the model's offsets wrap (footprint.cc refuses it
  // too, for any spec, but without the flags' names).
  const int64_t limit = int64_t{1} << 62;
  const int64_t rows[] = {p.n, p.m}, cols[] = {p.dk, p.dv, p.m};
  for (int64_t r : rows) {
    for (int64_t c : cols) {
      int64_t bytes = 0;
      const bool fits = !__builtin_mul_overflow(r, c, &bytes) && !__builtin_mul_overflow(bytes, p.batch, &bytes) &&
                        !__builtin_mul_overflow(bytes, p.heads, &bytes) &&
                        !__builtin_mul_overflow(bytes, int64_t{DtypeBytes(p.dtype)}, &bytes) && bytes <= limit;
      UserCheck(fits, "--n ", p.n, " --m ", p.m, " --dk ", p.dk, " --dv ", p.dv, " --b ", p.batch, " --h ", p.heads,
                ": the arrays of this problem would hold more than 2^62 bytes, past what any machine addresses; "
                "give smaller sizes");
    }
  }
}

Prediction Predict(const MachineModel& machine, const Problem& problem, Form form, int64_t bq,
                   int64_t bk, const TileCost* kernel, int64_t bc) {
  CheckProblem(problem);
  const Bindings sizes =
      AttentionSizes(form, problem.n, problem.m, problem.dk, problem.dv, bq, bk, bc);
  const bool lifted = form == Form::kLifted || form == Form::kLiftedChunks;
  Prediction p = Cost(machine, AttentionOnf(form), sizes, problem.dtype, problem.threads,
                      problem.batch * problem.heads, lifted ? kernel : nullptr);
  p.form = form;
  p.bq = lifted ? bq : 0;
  p.bk = lifted ? bk : 0;
  p.bc = form == Form::kLiftedChunks ? bc : 0;
  return p;
}

Prediction PredictOnf(const MachineModel& machine, const onf::Onf& onf, const Bindings& sizes,
                      Dtype dtype, int threads, int64_t heads) {
  UserCheck(threads > 0, "--threads: must be positive, got ", threads);
  UserCheck(heads > 0, "heads: must be positive, got ", heads);
  return Cost(machine, onf, sizes, dtype, threads, heads, nullptr);
}

Tiles RecommendTiles(const MachineModel& machine, int64_t n, int64_t m, int64_t dk, int64_t dv,
                     Dtype dtype, int threads, int64_t batch_heads,
                     const std::vector<int64_t>& bq_choices,
                     const std::vector<int64_t>& bk_choices, int64_t chunk) {
  Problem problem{n, m, dk, dv, batch_heads, 1, dtype, threads};
  CheckProblem(problem);
  const auto candidates = [](const std::vector<int64_t>& given, int64_t lo, int64_t hi,
                             int64_t size) {
    std::vector<int64_t> all = given;
    if (all.empty())
      for (int64_t t = lo; t <= hi; t *= 2) all.push_back(t);
    std::sort(all.begin(), all.end());
    std::vector<int64_t> kept;
    for (int64_t t : all) {
      UserCheck(t > 0, "tile candidates must be positive, got ", t);
      // Once one tile covers the axis, larger tiles only add padding.
      if (kept.empty() || kept.back() < size) kept.push_back(t);
    }
    return kept;
  };
  Tiles best;
  double best_energy = 0;
  UserCheck(chunk >= 0, "query chunk must be positive (or 0), got ", chunk);
  for (int64_t bq : candidates(bq_choices, std::max<int64_t>(16, chunk), 512, n)) {
    if (chunk > 0 && bq % chunk != 0) continue;  // a query block is whole chunks
    for (int64_t bk : candidates(bk_choices, 16, 1024, m)) {
      const Prediction p = Predict(machine, problem, LiftedForm(chunk), bq, bk, nullptr, chunk);
      const bool faster = best.bq == 0 || p.time_s < best.time_s * 0.99;
      const bool tie_cheaper = p.time_s <= best.time_s * 1.01 && p.energy_j < best_energy;
      if (faster || tie_cheaper) {
        best = Tiles{bq, bk, p.time_s};
        best_energy = p.energy_j;
      }
    }
  }
  UserCheck(best.bq > 0, "no query tile candidate is a multiple of the chunk ", chunk);
  return best;
}

std::vector<Regime> Regimes(const MachineModel& machine, const Problem& problem, int64_t bq,
                            int64_t bk) {
  CheckProblem(problem);
  const double eb = DtypeBytes(problem.dtype);
  const double n = static_cast<double>(problem.n), m = static_cast<double>(problem.m);
  const double dk = static_cast<double>(problem.dk), dv = static_cast<double>(problem.dv);
  const double d = std::max(dk, dv);
  const Bindings sizes = AttentionSizes(Form::kLifted, problem.n, problem.m, problem.dk,
                                        problem.dv, bq, bk);
  const onf::Onf onf = AttentionOnf(Form::kLifted);
  std::vector<Regime> out;
  for (const CacheLevel& c : machine.caches) {
    Regime r;
    r.level = c.name;
    r.capacity = c.bytes;
    r.kv_bytes = m * (dk + dv) * eb;
    r.kv_fits = r.kv_bytes <= static_cast<double>(c.bytes);
    r.crossover_n = static_cast<int64_t>(std::floor(static_cast<double>(c.bytes) / ((dk + dv) * eb)));
    r.compulsory_bytes = (n * dk + m * dk + m * dv + n * dv) * eb;
    const double words = static_cast<double>(c.bytes) / eb;
    if (r.kv_fits) {
      r.bound_bytes = r.compulsory_bytes;
      r.bound_formula = "compulsory";
    } else if (words >= d * d) {
      r.bound_bytes = std::max(r.compulsory_bytes, n * m * d * d / words * eb);
      r.bound_formula = "n*m*d^2/M";
    } else {
      r.bound_bytes = std::max(r.compulsory_bytes, n * m * d / std::sqrt(words) * eb);
      r.bound_formula = "n*m*d/sqrt(M)";
    }
    double bytes = 0;
    for (const auto& [array, b] : Traffic(onf, sizes, CacheSpec{c.bytes, c.line_bytes,
                                                                 static_cast<int>(eb), 1, c.ways}))
      bytes += b.loaded + b.stored;
    r.model_bytes = bytes;
    out.push_back(r);
  }
  return out;
}

}  // namespace moa::cost
