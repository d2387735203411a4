// `moa peak`: measures this machine for the cost model — FMA peak per dtype, vector exp rate,
// read bandwidth of each cache level and DRAM for one and all threads — adds the OS cache
// geometry and the cited energy constants, and prints it (or writes the JSON `moa cost
// --machine` reads).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "cost/machine_model.h"
#include "moa/error.h"

namespace moa::cli {
namespace {

struct PeakFlags {
  int threads = 0;
  double seconds = 3.0;
  bool json = false;
  std::string output;
};

std::string Rate(double x, const char* unit) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.1f %s", x / 1e9, unit);
  return buf;
}

void RunPeak(const PeakFlags& f) {
  UserCheck(f.threads >= 0, "--threads: must be positive (or omitted: the usable cores), got ", f.threads);
  const int threads =
      f.threads > 0 ? f.threads : cost::UsableCores();
  UserCheck(f.seconds > 0 && f.seconds <= 60, "--seconds: must be in (0, 60], got ", f.seconds);
  const auto start = std::chrono::steady_clock::now();
  const cost::MachineModel m = cost::MeasureMachine(threads, f.seconds);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!f.output.empty()) {
    cost::SaveMachine(m, f.output);
    std::cerr << "moa peak: wrote " << f.output << "\n";
  }
  if (f.json) {
    std::cout << cost::ToJson(m).dump(2) << "\n";
    return;
  }
  std::cout << "cpu: " << m.cpu << ", " << m.cores << " core(s); measured in " << took
            << " s with " << threads << " thread(s)\n";
  std::cout << "FMA peak per core: float64 " << Rate(m.fma_flops_f64, "GFLOP/s") << ", float32 "
            << Rate(m.fma_flops_f32, "GFLOP/s") << ", bfloat16 "
            << (m.bf16_path.empty() ? std::string("(float32 rate)")
                                    : Rate(m.fma_flops_bf16, "GFLOP/s") + " on " + m.bf16_path)
            << "\n";
  std::cout << "vector exp per core: float32 " << Rate(m.exp_per_s_f32, "G/s") << ", float64 "
            << Rate(m.exp_per_s_f64, "G/s") << "\n";
  for (const cost::CacheLevel& c : m.caches) {
    std::cout << c.name << ": " << (c.bytes >> 10) << " KiB, " << c.ways << "-way, "
              << c.line_bytes << " B lines" << (c.shared ? ", shared" : "") << "; read "
              << Rate(c.read_bw_1t, "GB/s") << " (1 thread), " << Rate(c.read_bw_all, "GB/s")
              << " (" << threads << ")\n";
  }
  std::cout << "DRAM: read " << Rate(m.dram_bw_1t, "GB/s") << " (1 thread), "
            << Rate(m.dram_bw_all, "GB/s") << " (" << threads << ")\n";
  std::cout << "energy (cited, indicative; see --json for sources): flop f64/f32/bf16 "
            << m.flop_f64.joules * 1e12 << "/" << m.flop_f32.joules * 1e12 << "/"
            << m.flop_bf16.joules * 1e12 << " pJ, exp " << m.exp.joules * 1e12
            << " pJ, byte L1/L2/LLC/DRAM " << m.byte_l1.joules * 1e12 << "/"
            << m.byte_l2.joules * 1e12 << "/" << m.byte_llc.joules * 1e12 << "/"
            << m.byte_dram.joules * 1e12 << " pJ\n";
  for (const std::string& n : m.notes) std::cout << "note: " << n << "\n";
}

}  // namespace

void AddPeak(CLI::App& app) {
  auto f = std::make_shared<PeakFlags>();
  CLI::App* cmd = app.add_subcommand(
      "peak", "Measure this machine for the cost model (FMA, exp, bandwidth per level)");
  cmd->add_option("--threads", f->threads, "threads for the all-thread numbers (default: cores)");
  cmd->add_option("--seconds", f->seconds, "measurement budget")->capture_default_str();
  cmd->add_flag("--json", f->json, "print the machine description as JSON");
  cmd->add_option("--output", f->output, "write the machine description to FILE (JSON)");
  cmd->callback([f] { RunPeak(*f); });
}

}  // namespace moa::cli
