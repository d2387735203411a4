// `moa bench --report`: the cost model's predicted time next to every measured point, the peak
// memory of each point in a process of its own, and plots (PNG, through matplotlib).
//
// The fused prediction composes two things: the kernel's measured cost of one key tile against
// one query block, on one thread with everything in cache (timed here, in this run, at the
// blocks the kernel uses), and the cost model's loop structure and memory hierarchy (number of
// tiles per task, tasks per thread, bytes per level over the machine's measured bandwidths; the
// time is the larger of compute and the slowest level). What it tests is whether a large run is
// the sum of its tiles: load balance, cache misses at large n, and thread scaling all show up as
// misses. The roofline at the machine's peak rates ("ideal") is printed beside it; the naive path
// has only that.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <tuple>

#include "bench.h"
#include "cost/cost.h"
#include "cost/machine_model.h"
#include "io/write_file.h"
#include "kernels/attention_problem.h"
#include "moa/error.h"

extern char** environ;

namespace moa::cli {
namespace {

// Where the measured time may sit around the prediction and still count as predicted (issue 6).
constexpr double kTolerance = 0.25;

DType ParseBenchDType(const std::string& s) {
  if (s == "float64") return DType::kFloat64;
  if (s == "bfloat16") return DType::kBFloat16;
  return DType::kFloat32;
}

}  // namespace

cost::TileCost MeasureTileCost(DType dtype, int64_t d, int64_t bq, int64_t bk, int threads,
                               double min_time) {
  // Each of `threads` threads times its own one-thread problem while the others run theirs: the
  // kernel's own threads would add their wake-up and scheduling to problems this small (a
  // thread that starts late leaves both tasks to the other), which a long run amortises.
  const auto run = [&](int64_t heads, int64_t tiles) {
    std::vector<double> seconds(threads);
    std::vector<std::exception_ptr> errors(threads);
    std::vector<std::thread> workers;
    for (int w = 0; w < threads; ++w) {
      workers.emplace_back([&, w] {
        try {
          BenchTensors t(dtype, heads, heads, bq, tiles * bk, d, 7 + w);
          AttentionOptions options;
          options.num_threads = 1;
          options.block_q = bq;
          options.block_k = bk;
          int reps = 0;
          seconds[w] =
              MedianSeconds([&] { Attention(t.q, t.k, t.v, t.o, options); }, min_time, &reps);
        } catch (...) {
          errors[w] = std::current_exception();  // rethrown on the calling thread
        }
      });
    }
    for (std::thread& w : workers) w.join();
    for (const std::exception_ptr& e : errors)
      if (e) std::rethrow_exception(e);
    double mean = 0;
    for (double x : seconds) mean += x / threads;
    return mean;
  };
  const double one = run(1, 4), longer = run(1, 16), eight = run(8, 4);
  cost::TileCost c;
  c.per_tile_s = std::max((longer - one) / 12, longer / 16 * 1e-3);  // noise must not reach 0
  c.per_block_s = std::max(0.0, (eight - one) / 7 - 4 * c.per_tile_s);
  c.per_call_s = std::max(0.0, one - c.per_block_s - 4 * c.per_tile_s);
  return c;
}

namespace {

// Runs `args` (args[0] the program, found on PATH unless it holds a '/') and waits. Its stdout
// goes to `stdout_path` when given, its stderr with it; else both are inherited. Returns the exit
// status, -1 when it did not run or did not exit normally.
int Spawn(const std::vector<std::string>& args, const std::string& stdout_path = "") {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!stdout_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, stdout_path.c_str(), O_WRONLY | O_TRUNC, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// Peak resident memory (MiB) of `moa bench` re-run on one point in a child process: the kernel's
// buffers plus q, k, v, o plus the process itself. The child reports its own high-water mark
// (VmHWM): the rusage of a spawned child starts from its parent's peak (Linux carries maxrss
// across exec). Negative when the child failed.
double ChildPeakRssMib(std::vector<std::string> args) {
  args[0] = "/proc/self/exe";
  std::string path = (std::filesystem::temp_directory_path() / "moa-bench-XXXXXX").string();
  const int fd = mkstemp(path.data());
  if (fd < 0) return -1;
  close(fd);
  double mib = -1;
  if (Spawn(args, path) == 0) {
    try {
      const nlohmann::json out = nlohmann::json::parse(std::ifstream(path));
      mib = out.at(0).at("process_hwm_mib").get<double>();
    } catch (const std::exception&) {
      mib = -1;
    }
  }
  std::remove(path.c_str());
  return mib;
}

// The command line that re-runs record `r` alone (warm-up and 3 timed runs, no peak measured,
// the blocks it ran with).
std::vector<std::string> PointArgs(const Record& r) {
  std::vector<std::string> a = {"moa", "bench", "--n", std::to_string(r.n), "--d",
                                std::to_string(r.d), "--dtype", r.dtype, "--impl", r.impl,
                                "--threads", std::to_string(r.threads), "--heads",
                                std::to_string(r.heads), "--min-time", "0", "--child",
                                "--json"};
  if (r.block_q > 0) {
    for (const std::string& x : {std::string("--block-q"), std::to_string(r.block_q),
                                 std::string("--block-k"), std::to_string(r.block_k)})
      a.push_back(x);
  }
  return a;
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3e", s);
  return buf;
}

}  // namespace

void PredictAndMeasureMemory(std::vector<Record>& records, const ReportOptions& options) {
  int max_threads = 1;
  for (const Record& r : records) max_threads = std::max(max_threads, r.threads);
  cost::MachineModel machine;
  if (!options.machine.empty()) {
    machine = cost::LoadMachine(options.machine);
  } else {
    std::cerr << "moa bench --report: measuring this machine for the cost model (moa peak, "
              << max_threads << " thread(s), ~3 s)\n";
    machine = cost::MeasureMachine(max_threads);
  }

  for (Record& r : records) {
    if (r.skipped) continue;
    const cost::Problem problem{r.n, r.n, r.d, r.d, 1, r.heads, cost::ParseDtype(r.dtype),
                                r.threads};
    if (r.impl != "fused") {  // naive and the peer: the materialising form
      r.predicted_ideal_s = cost::Predict(machine, problem, cost::Form::kNaive).time_s;
      r.predicted_s = r.predicted_ideal_s;
      continue;
    }
    // The loop order the kernel runs: chunk by chunk of queries, for every dtype. The scalar
    // lifted ONF instead reuses a whole K or V tile per query row, which for bfloat16 at bk = 256,
    // d = 128 spills L1 and made the roofline about 27x slower than the kernel.
    const int64_t chunk = internal::FusedLoopChunk(ParseBenchDType(r.dtype));
    const cost::Form form = cost::Form::kLiftedChunks;
    r.predicted_s =
        cost::Predict(machine, problem, form, r.block_q, r.block_k, &r.tile, chunk).time_s;
    r.predicted_ideal_s =
        cost::Predict(machine, problem, form, r.block_q, r.block_k, nullptr, chunk).time_s;
  }

  // Memory: each (impl, dtype, n, d) once, at the largest thread count, in a child process.
  size_t points = 0, done = 0;
  for (const Record& r : records) points += !r.skipped && r.threads == max_threads;
  for (Record& r : records) {
    if (r.skipped || r.threads != max_threads) continue;
    std::cerr << "moa bench --report: [" << ++done << "/" << points << "] peak memory of "
              << r.impl << " " << r.dtype << " n=" << r.n << " d=" << r.d << " in a child process\n";
    r.peak_rss_mib = ChildPeakRssMib(PointArgs(r));
    r.inputs_mib = 4.0 * r.heads * r.n * r.d * DTypeSize(ParseBenchDType(r.dtype)) / (1 << 20);
  }
}

void PrintReport(const std::vector<Record>& records) {
  std::cout << "\npredicted against measured (ratio = measured / predicted; fused: the cost model "
               "with the kernel's measured tile cost; ideal: the roofline at the machine's peak "
               "rates; naive and peer: roofline of the materialising form only)\n";
  std::cout << std::left << std::setw(7) << "impl" << std::setw(10) << "dtype" << std::right
            << std::setw(7) << "n" << std::setw(5) << "d" << std::setw(4) << "thr" << std::setw(10)
            << "blocks" << std::setw(12) << "measured_s" << std::setw(12) << "predicted_s"
            << std::setw(8) << "ratio" << std::setw(12) << "ideal_s" << std::setw(9)
            << "of_ideal" << std::setw(11) << "peak_MiB" << std::setw(10) << "qkvo_MiB" << "\n";
  int fused = 0, within = 0, unsteady_misses = 0;
  std::ostringstream misses;
  misses << std::fixed;
  for (const Record& r : records) {
    if (r.skipped) continue;
    const double ratio = r.median_s / r.predicted_s;
    std::cout << std::left << std::setw(7) << r.impl << std::setw(10) << r.dtype << std::right
              << std::setw(7) << r.n << std::setw(5) << r.d << std::setw(4) << r.threads
              << std::setw(10)
              << (r.block_q > 0 ? std::to_string(r.block_q) + "x" + std::to_string(r.block_k) : "-")
              << std::setw(12) << Seconds(r.median_s) << std::setw(12) << Seconds(r.predicted_s)
              << std::setw(8) << std::fixed << std::setprecision(2) << ratio << std::setw(12)
              << Seconds(r.predicted_ideal_s) << std::setw(8) << std::setprecision(0)
              << 100 * r.predicted_ideal_s / r.median_s << "%";
    if (r.peak_rss_mib != 0) {
      std::cout << std::setw(11) << std::setprecision(1) << r.peak_rss_mib << std::setw(10)
                << r.inputs_mib;
    }
    std::cout << "\n";
    if (r.impl != "fused") continue;
    ++fused;
    if (std::fabs(ratio - 1) <= kTolerance) {
      ++within;
    } else {
      // The prediction rests on the median tile cost: where the probes moved by more than the
      // tolerance, the host's speed moved during the point, and the miss says so.
      const bool unsteady = r.tile_spread > 1 + kTolerance;
      unsteady_misses += unsteady;
      misses << "  " << r.dtype << " n=" << r.n << " d=" << r.d << " threads=" << r.threads
             << ": measured " << std::setprecision(2) << ratio
             << "x the prediction; the tile-cost probes spread " << r.tile_spread
             << "x, the peak probes " << r.peak_spread << "x" << (unsteady ? " (unsteady)" : "")
             << "\n";
    }
  }
  std::cout << "\nfused points within +-" << static_cast<int>(kTolerance * 100)
            << "% of the prediction: " << within << " of " << fused << "\n"
            << misses.str();
  if (fused > within) {
    std::cout << unsteady_misses << " of the " << fused - within
              << " misses came at points whose tile-cost probes spread by more than "
              << static_cast<int>(kTolerance * 100)
              << "% (largest / smallest): the machine's speed moved during them (another load, "
                 "frequency, a shared host)\n";
  }
}

bool WritePlots(const std::vector<Record>& records, const ReportOptions& options) {
  if (options.plots.empty()) return true;
  nlohmann::json out = nlohmann::json::array();
  for (const Record& r : records) {
    if (r.skipped) continue;
    out.push_back({{"impl", r.impl}, {"dtype", r.dtype}, {"n", r.n}, {"d", r.d},
                   {"threads", r.threads}, {"median_s", r.median_s}, {"gflops", r.gflops},
                   {"peak_gflops", r.peak_gflops}, {"predicted_s", r.predicted_s},
                   {"predicted_ideal_s", r.predicted_ideal_s}, {"peak_rss_mib", r.peak_rss_mib},
                   {"inputs_mib", r.inputs_mib}, {"peak_spread", r.peak_spread},
                   {"tile_spread", r.tile_spread}});
  }
  const std::string dir = options.plots;
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    std::cerr << "moa bench --report: --plots: cannot create directory '" << dir
              << "': " << error.message() << "\n";
    return false;
  }
  const std::string json_path = dir + "/report.json";
  io::WriteFile(json_path, out.dump(1) + "\n", "--plots");
  std::cerr << "moa bench --report: wrote " << json_path << "; plotting with matplotlib\n";
  if (Spawn({MOA_PYTHON, MOA_PLOT_SCRIPT, json_path, dir}) != 0) {
    std::cerr << "moa bench --report: plots failed (" << MOA_PYTHON << " " << MOA_PLOT_SCRIPT
              << "); matplotlib comes from Debian's python3-matplotlib (scripts/setup.sh)\n";
    return false;
  }
  return true;
}

}  // namespace moa::cli
