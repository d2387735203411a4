// `moa bench` internals shared by the sweep (bench_command.cc) and its report against the cost
// model (bench_report.cc): one timed point, random inputs, the median timer.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cost/cost.h"
#include "moa/attention.h"

namespace moa::cli {

// One point of the sweep: an implementation on one (dtype, n = nk, nq, d = dk = dv, threads).
struct Record {
  std::string impl, dtype;
  int64_t n = 0, nq = 0, d = 0, heads = 0, kv_heads = 0;  // nq = n unless --nq
  int threads = 0;
  int64_t block_q = 0, block_k = 0;  // the kernel's blocks (fused: tiles; naive: query blocks)
  bool skipped = false;
  std::string why;
  double median_s = 0, gflops = 0, peak_gflops = 0;
  double kv_gbps = 0;  // bytes of K and V over the median: what bounds decoding
  double speedup = 0;           // naive median / this median
  double speedup_unfused = 0;   // fused only: the fastest unfused path's median / this median
  double diff_vs_fused = -1;    // unfused paths: relative max-norm difference from fused's output
  int reps = 0;
  // --report only (0 = not computed).
  double predicted_s = 0;        // fused: the cost model with the kernel's measured tile cost
  double predicted_ideal_s = 0;  // the roofline at the machine's peak rates
  cost::TileCost tile;           // fused: the kernel's tile cost, timed around this point
  double peak_spread = 0;        // Spread of the peak probes around this point
  double tile_spread = 0;        // fused, --report: Spread of the per-tile cost probes
  double peak_rss_mib = 0;       // peak resident memory of a process running only this point
  double inputs_mib = 0;         // q, k, v and o
};

// Element i of a contiguous buffer of float64, float32 or bfloat16 (bits), as a double; and x
// stored there as that dtype.
double ElementAt(const unsigned char* bytes, DType dtype, size_t i);
void StoreElement(unsigned char* bytes, DType dtype, size_t i, float x);
// A --dtype value; `command` ("moa bench") names the command in the error.
DType ParseDType(const std::string& s, const char* command);
// How far another path's output may sit from the fused one's: twice what each is tested to
// against the float64 reference (at n <= 1024), growing as sqrt(n) beyond, as a sum's rounding
// error does.
double Tolerance(DType dtype, int64_t n);
// The process's peak resident memory (VmHWM of /proc/self/status; 0 where unreadable).
double ProcessHighWaterMib();

// Random contiguous inputs of one dtype, values in [-1, 1]: q (1, heads, nq, d), k and v
// (1, kv_heads, nk, d); and the output.
struct BenchTensors {
  std::vector<unsigned char> qb, kb, vb, ob;
  Tensor q, k, v, o;
  BenchTensors(DType dtype, int64_t heads, int64_t kv_heads, int64_t nq, int64_t nk, int64_t d,
               uint32_t seed);
};

// Runs f until at least min_runs runs and min_time seconds (at most 100 runs); appends the
// seconds of each run to `times`.
template <typename F>
void AppendRunSeconds(F&& f, double min_time, size_t min_runs, std::vector<double>* times) {
  using Clock = std::chrono::steady_clock;
  double total = 0;
  for (size_t runs = 0; (runs < min_runs || total < min_time) && runs < 100; ++runs) {
    const auto t0 = Clock::now();
    f();
    const double t = std::chrono::duration<double>(Clock::now() - t0).count();
    times->push_back(t);
    total += t;
  }
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Largest over smallest of repeated measurements of one quantity (1 = steady; 0 when there are
// none): how far the host's speed moved while they were taken.
inline double Spread(const std::vector<double>& v) {
  if (v.empty()) return 0;
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return *lo > 0 ? *hi / *lo : 0;
}

// Runs f once to warm up, then until at least 3 runs and min_time seconds (at most 100 runs);
// returns the median.
template <typename F>
double MedianSeconds(F&& f, double min_time, int* reps) {
  f();
  std::vector<double> times;
  AppendRunSeconds(f, min_time, 3, &times);
  *reps = static_cast<int>(times.size());
  return Median(times);
}

// The fused kernel's cost per key tile, per query block and per call, per thread while `threads`
// threads run at once, K and V in L2: medians of one head of nq = bq queries per thread against 4
// and against 16 key tiles (the difference is 12 tiles) and of 8 such heads per thread against 4
// tiles (7 more blocks), each thread running its own one-thread problem. Timing every thread at
// once prices what they share (a core's other hardware thread, L3, memory), which a one-thread
// probe would miss.
cost::TileCost MeasureTileCost(DType dtype, int64_t d, int64_t bq, int64_t bk, int threads,
                               double min_time);

struct ReportOptions {
  std::string machine;     // a `moa peak --output` file; empty: measure in this run
  std::string plots;       // directory for the JSON and PNG plots; empty: none
  double min_time = 0.3;
};

// Fills predicted_s, predicted_ideal_s (every record), peak_rss_mib and inputs_mib (fused and
// naive at the largest thread count), printing progress to stderr.
void PredictAndMeasureMemory(std::vector<Record>& records, const ReportOptions& options);

// Prints predicted against measured for every point and a verdict against the ±25% target.
void PrintReport(const std::vector<Record>& records);

// With options.plots, writes report.json there and runs the plotting script; false when that
// failed (said on stderr).
bool WritePlots(const std::vector<Record>& records, const ReportOptions& options);

}  // namespace moa::cli
