// `moa cost`: the cost model's prediction for attention — naive (S and P materialised) vs the
// three-pass DNF vs the lifted one-pass form — bytes per memory level, flops, time, energy and
// speed-up, the recommended tiles, and the two data-movement regimes per cache level.
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "commands.h"
#include "cost/cost.h"
#include "cost/machine_model.h"
#include "moa/error.h"
#include "spec_args.h"

namespace moa::cli {
namespace {

struct CostFlags {
  SpecArgs spec;                  // a spec other than the built-in attention forms
  std::vector<std::string> sets;  // its sizes
  std::string lift;               // and its lifted form's tiles
  int64_t n = 4096, m = 0, dk = 128, dv = 0, b = 1, h = 1;
  std::string dtype = "float32";
  int threads = 0;
  std::string machine;
  bool measure = false;
  int64_t bq = 0, bk = 0;
  int64_t chunk = 0;
  bool json = false;
};

// "1.23 GB", "456 MB" (decimal units, as bandwidths are quoted).
std::string Bytes(double b) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.3g %s", b, units[u]);
  return buf;
}

std::string Num(double x, const char* fmt = "%.3g") {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, x);
  return buf;
}

nlohmann::json PredictionJson(const cost::Prediction& p) {
  nlohmann::json levels = nlohmann::json::array();
  for (const cost::LevelCost& l : p.levels) {
    nlohmann::json arrays = nlohmann::json::object();
    for (const auto& [name, b] : l.per_array)
      arrays[name] = {{"loaded", b.loaded}, {"stored", b.stored}};
    levels.push_back({{"level", l.level},
                      {"source", l.source},
                      {"capacity", l.capacity},
                      {"loaded_bytes", l.loaded},
                      {"stored_bytes", l.stored},
                      {"bandwidth", l.bandwidth},
                      {"seconds", l.seconds},
                      {"joules", l.joules},
                      {"arrays", arrays}});
  }
  nlohmann::json j = {{"form", cost::FormName(p.form)},
                      {"threads_used", p.threads_used},
                      {"flops", p.flops()},
                      {"fma", p.fma},
                      {"other_flops", p.other_flops},
                      {"exps", p.exps},
                      {"levels", levels},
                      {"compute_s", p.compute_s},
                      {"memory_s", p.memory_s},
                      {"bound", p.bound},
                      {"time_s", p.time_s},
                      {"time_no_overlap_s", p.time_no_overlap_s},
                      {"energy_j", p.energy_j}};
  if (p.form == cost::Form::kLifted || p.form == cost::Form::kLiftedChunks) {
    j["bq"] = p.bq;
    j["bk"] = p.bk;
  }
  if (p.form == cost::Form::kLiftedChunks) j["bc"] = p.bc;
  return j;
}

// The table of forms: bytes into each level, flops, exps, time, bound, energy, speed-up over the
// first row.
void PrintForms(const std::vector<std::pair<std::string, cost::Prediction>>& rows) {
  std::cout << "bytes moved into each level (from the next slower one); registers = all loads "
               "and stores issued\n";
  std::cout << std::left << std::setw(22) << "form";
  for (const cost::LevelCost& l : rows.front().second.levels)
    std::cout << std::right << std::setw(11) << (l.level == "registers" ? "reg<-L1" : l.level + "<-" + l.source);
  std::cout << std::setw(10) << "GFLOP" << std::setw(9) << "Gexp" << std::setw(11) << "time_s"
            << std::setw(11) << "no-ovl_s" << std::setw(14) << "bound" << std::setw(10)
            << "energy_J" << std::setw(9) << "speedup" << "\n";
  for (const auto& [name, p] : rows) {
    std::cout << std::left << std::setw(22) << name << std::right;
    for (const cost::LevelCost& l : p.levels) std::cout << std::setw(11) << Bytes(l.bytes());
    std::cout << std::setw(10) << Num(p.flops() / 1e9) << std::setw(9) << Num(p.exps / 1e9)
              << std::setw(11) << Num(p.time_s) << std::setw(11) << Num(p.time_no_overlap_s)
              << std::setw(14) << p.bound << std::setw(10) << Num(p.energy_j) << std::setw(9)
              << Num(rows.front().second.time_s / p.time_s, "%.2fx") << "\n";
  }
}

cost::MachineModel ChooseMachine(const CostFlags& f, int threads) {
  if (!f.machine.empty()) return cost::LoadMachine(f.machine);
  if (f.measure) {
    std::cerr << "moa cost: measuring this machine (moa peak; a few seconds)...\n";
    return cost::MeasureMachine(threads);
  }
  return cost::DefaultMachine();
}

void PrintMachine(const cost::MachineModel& machine) {
  std::cout << "machine: " << machine.cpu
            << (machine.measured ? " (measured)" : "  ** UNMEASURED default description: "
                                                  "run `moa peak --output m.json`, pass --machine m.json **")
            << "\n\n";
}

// Any spec: its DNF as onf::Lower emits it and, with --lift, its one-pass lifted form from
// src/lift (tails costed as padded tiles), at the sizes --set gives.
void RunSpecCost(const CostFlags& f, int threads) {
  std::optional<lift::Tiles> tiles;
  if (!f.lift.empty()) tiles = ParseTiles(f.lift);
  const driver::Derivation d = driver::Derive(f.spec.Load(), {}, tiles);
  const Bindings given = ParseSets(f.sets);
  Bindings sizes;
  std::string missing;
  for (const std::string& name : d.spec.sizes) {
    const auto it = given.find(name);
    if (it == given.end()) {
      missing += (missing.empty() ? "" : ",") + name + "=...";
    } else {
      sizes[name] = it->second;
    }
  }
  UserCheck(missing.empty(), "sizes without a value: give them with --set ", missing);
  for (const auto& [name, value] : given)
    UserCheck(sizes.count(name) > 0, "--set ", name, "=", value, ": the spec has no size '", name, "'");
  const cost::Dtype dtype = cost::ParseDtype(f.dtype);
  const cost::MachineModel machine = ChooseMachine(f, threads);
  std::vector<std::pair<std::string, cost::Prediction>> rows;
  rows.emplace_back("DNF (ONF)", cost::PredictOnf(machine, d.onf, sizes, dtype, threads, f.b * f.h));
  if (tiles) {
    rows.emplace_back("lifted " + std::to_string(tiles->query) + "x" + std::to_string(tiles->key) +
                          (tiles->splits > 1 ? "x" + std::to_string(tiles->splits) + " split" : ""),
                      cost::PredictOnf(machine, d.lifted, sizes, dtype, threads, f.b * f.h));
  }
  if (f.json) {
    nlohmann::json forms = nlohmann::json::array();
    for (const auto& [name, p] : rows) {
      nlohmann::json j = PredictionJson(p);
      j["form"] = name;
      forms.push_back(j);
    }
    nlohmann::json out;
    out["spec"] = d.spec.function;
    out["sizes"] = sizes;
    out["dtype"] = cost::DtypeName(dtype);
    out["threads"] = threads;
    out["heads"] = f.b * f.h;
    out["machine_measured"] = machine.measured;
    out["forms"] = forms;
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "spec " << d.spec.function << " (" << d.spec.file << ") at";
  for (const auto& [name, value] : sizes) std::cout << " " << name << "=" << value;
  std::cout << ", " << cost::DtypeName(dtype) << ", " << f.b * f.h << " head(s), " << threads
            << " thread(s)\n";
  PrintMachine(machine);
  PrintForms(rows);
}

void RunCost(const CostFlags& f) {
  // 0 means "the default" for these; a negative value is a mistake, not a request for it.
  UserCheck(f.m >= 0, "--m: must be positive (or omitted: n), got ", f.m);
  UserCheck(f.dv >= 0, "--dv: must be positive (or omitted: dk), got ", f.dv);
  UserCheck(f.threads >= 0, "--threads: must be positive (or omitted: the usable cores), got ", f.threads);
  cost::Problem problem;
  problem.n = f.n;
  problem.m = f.m > 0 ? f.m : f.n;
  problem.dk = f.dk;
  problem.dv = f.dv > 0 ? f.dv : f.dk;
  problem.batch = f.b;
  problem.heads = f.h;
  problem.dtype = cost::ParseDtype(f.dtype);
  problem.threads = f.threads > 0 ? f.threads : cost::UsableCores();
  if (!f.spec.path.empty() || !f.spec.builtin.empty()) {
    UserCheck(f.bq == 0 && f.bk == 0, "--bq and --bk: for a spec, give its tiles with --lift BQ,BK");
    UserCheck(f.b > 0 && f.h > 0, "--b and --h: must be positive");
    UserCheck(problem.threads > 0, "--threads: must be positive, got ", problem.threads);
    RunSpecCost(f, problem.threads);
    return;
  }
  UserCheck(f.sets.empty() && f.lift.empty(),
            "--set and --lift: give a spec (a file or --builtin NAME) to cost; without one, moa "
            "cost compares the attention forms at --n, --m, --dk, --dv");
  cost::CheckProblem(problem);
  UserCheck((f.bq == 0) == (f.bk == 0), "--bq and --bk: give both tile sizes or neither");
  const cost::MachineModel machine = ChooseMachine(f, problem.threads);

  UserCheck(f.chunk >= 0, "--chunk: must be positive (or 0: the lifted ONF), got ", f.chunk);
  cost::Tiles tiles = cost::RecommendTiles(machine, problem.n, problem.m, problem.dk, problem.dv,
                                           problem.dtype, problem.threads,
                                           problem.batch * problem.heads, {}, {}, f.chunk);
  const int64_t bq = f.bq > 0 ? f.bq : tiles.bq, bk = f.bk > 0 ? f.bk : tiles.bk;
  const cost::Prediction preds[3] = {
      cost::Predict(machine, problem, cost::Form::kNaive),
      cost::Predict(machine, problem, cost::Form::kDnf),
      cost::Predict(machine, problem, cost::LiftedForm(f.chunk), bq, bk, nullptr, f.chunk)};
  const std::vector<cost::Regime> regimes = cost::Regimes(machine, problem, bq, bk);

  if (f.json) {
    nlohmann::json forms = nlohmann::json::array();
    for (const cost::Prediction& p : preds) {
      nlohmann::json j = PredictionJson(p);
      j["speedup_vs_naive"] = preds[0].time_s / p.time_s;
      forms.push_back(j);
    }
    nlohmann::json regs = nlohmann::json::array();
    for (const cost::Regime& r : regimes)
      regs.push_back({{"level", r.level},
                      {"capacity", r.capacity},
                      {"kv_bytes", r.kv_bytes},
                      {"kv_fits", r.kv_fits},
                      {"crossover_n", r.crossover_n},
                      {"compulsory_bytes", r.compulsory_bytes},
                      {"bound_bytes", r.bound_bytes},
                      {"bound_formula", r.bound_formula},
                      {"model_bytes", r.model_bytes}});
    const nlohmann::json out = {
        {"problem",
         {{"n", problem.n}, {"m", problem.m}, {"dk", problem.dk}, {"dv", problem.dv},
          {"b", problem.batch}, {"h", problem.heads}, {"dtype", cost::DtypeName(problem.dtype)},
          {"threads", problem.threads}}},
        {"machine_measured", machine.measured},
        {"machine", cost::ToJson(machine)},
        {"recommended_tiles", {{"bq", tiles.bq}, {"bk", tiles.bk}, {"time_s", tiles.time_s}}},
        {"forms", forms},
        {"regimes", regs}};
    std::cout << out.dump(2) << "\n";
    return;
  }

  std::cout << "attention n=" << problem.n << " m=" << problem.m << " dk=" << problem.dk
            << " dv=" << problem.dv << " b=" << problem.batch << " h=" << problem.heads << " "
            << cost::DtypeName(problem.dtype) << ", " << problem.threads << " thread(s)\n";
  PrintMachine(machine);
  std::vector<std::pair<std::string, cost::Prediction>> rows;
  for (const cost::Prediction& p : preds) {
    std::string name = cost::FormName(p.form);
    if (p.form == cost::Form::kLifted)
      name += " " + std::to_string(p.bq) + "x" + std::to_string(p.bk);
    if (p.form == cost::Form::kLiftedChunks)
      name = "lifted " + std::to_string(p.bq) + "x" + std::to_string(p.bk) + "/" +
             std::to_string(p.bc) + " kernel";
    rows.emplace_back(name, p);
  }
  PrintForms(rows);
  std::cout << "\nrecommended tiles (min predicted time, lifted form): Bq=" << tiles.bq
            << " Bk=" << tiles.bk << "\n\n";
  std::cout << "data-movement regimes of the fused form, one head (Dao et al. 2022 Thm 2 / Prop 3; "
               "Saha & Ye 2024):\n";
  std::cout << std::left << std::setw(6) << "level" << std::right << std::setw(11) << "capacity"
            << std::setw(11) << "K+V" << std::setw(9) << "fits" << std::setw(13) << "crossover_n"
            << std::setw(13) << "compulsory" << std::setw(14) << "Theta-bound" << std::setw(16)
            << "formula" << std::setw(13) << "model" << "\n";
  for (const cost::Regime& r : regimes) {
    std::cout << std::left << std::setw(6) << r.level << std::right << std::setw(11)
              << Bytes(static_cast<double>(r.capacity)) << std::setw(11) << Bytes(r.kv_bytes)
              << std::setw(9) << (r.kv_fits ? "yes" : "no") << std::setw(13) << r.crossover_n
              << std::setw(13) << Bytes(r.compulsory_bytes) << std::setw(14) << Bytes(r.bound_bytes)
              << std::setw(16) << r.bound_formula << std::setw(13) << Bytes(r.model_bytes) << "\n";
  }
  std::cout << "  K and V fit (n <= crossover_n, m = n): traffic O(n(dk+dv)) = compulsory; beyond, "
               "Theta(n m d^2/M) (M >= d^2 words) or Theta(n m d/sqrt M) (M < d^2): constants "
               "not given by the theorems (shown with constant 1)\n";
}

}  // namespace

void AddCost(CLI::App& app) {
  auto f = std::make_shared<CostFlags>();
  CLI::App* cmd = app.add_subcommand(
      "cost", "Predicted data movement, time and energy: naive vs three-pass DNF vs lifted "
              "attention, or any spec's ONF");
  f->spec.AddTo(cmd);
  cmd->add_option("--set", f->sets, "a spec's sizes, e.g. --set n=1024,d=64");
  cmd->add_option("--lift", f->lift, "a spec's lifted form too, with tiles BQ,BK (and S key ranges: BQ,BK,S)");
  cmd->add_option("--n", f->n, "query length")->capture_default_str();
  cmd->add_option("--m", f->m, "key/value length (default: n)");
  cmd->add_option("--dk", f->dk, "query/key head dim")->capture_default_str();
  cmd->add_option("--dv", f->dv, "value head dim (default: dk)");
  cmd->add_option("--b", f->b, "batch")->capture_default_str();
  cmd->add_option("--h", f->h, "heads")->capture_default_str();
  cmd->add_option("--dtype", f->dtype, "float64, float32 or bfloat16")->capture_default_str();
  cmd->add_option("--threads", f->threads, "threads (default: the cores this process may run on)");
  cmd->add_option("--machine", f->machine, "machine description from `moa peak --output FILE`");
  cmd->add_flag("--measure", f->measure, "measure this machine now (~5 s) instead of the default");
  cmd->add_option("--chunk", f->chunk,
                  "cost the lifted form in the fused kernels' order, chunks of CHUNK queries "
                  "per key tile (theirs on AVX-512: 32 float64, 64 float32, bfloat16 32 on AMX "
                  "and 64 on AVX512-BF16); 0: the lifted ONF");
  cmd->add_option("--bq", f->bq, "query tile of the lifted form (default: recommended)");
  cmd->add_option("--bk", f->bk, "key/value tile of the lifted form (default: recommended)");
  cmd->add_flag("--json", f->json, "print JSON");
  cmd->callback([f] { RunCost(*f); });
}

}  // namespace moa::cli
