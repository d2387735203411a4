// `moa bench`: times the fused and naive attention kernels over a sweep of sizes, dtypes and thread
// counts, measures the machine's FMA peak in the same run, and prints a table (or JSON records)
// of median time, GFLOP/s, fraction of peak and speed-up over the naive path.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "commands.h"
#include "moa/attention.h"
#include "moa/error.h"

namespace moa::cli {
namespace {

struct BenchFlags {
  std::string n = "512,1024,4096,16384";
  std::string d = "64,128";
  std::string dtype = "float32,float64,bfloat16";
  std::string threads = "1,2";
  std::string impl = "fused,naive";
  int64_t heads = 0;  // 0: enough heads for ~4096 query rows per point, at least 1
  bool causal = false;
  bool json = false;
  double min_time = 0.3;
  double naive_max_gib = 2.0;
};

std::vector<std::string> SplitList(const std::string& text, const char* flag) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
  }
  UserCheck(!out.empty(), "moa bench: ", flag, ": expected a comma-separated list, got '", text, "'");
  return out;
}

std::vector<int64_t> IntList(const std::string& text, const char* flag) {
  std::vector<int64_t> out;
  for (const std::string& s : SplitList(text, flag)) {
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    UserCheck(end && *end == '\0' && v > 0, "moa bench: ", flag,
              ": expected positive integers, got '", s, "'");
    out.push_back(v);
  }
  return out;
}

DType ParseDType(const std::string& s) {
  if (s == "float64") return DType::kFloat64;
  if (s == "float32") return DType::kFloat32;
  if (s == "bfloat16") return DType::kBFloat16;
  throw Error("moa bench: --dtype: expected float64, float32 or bfloat16, got '" + s + "'");
}

AttentionImpl ParseImpl(const std::string& s) {
  if (s == "fused") return AttentionImpl::kFused;
  if (s == "naive") return AttentionImpl::kNaive;
  throw Error("moa bench: --impl: expected fused or naive, got '" + s + "'");
}

// Random inputs in the dtype, contiguous (batch 1, heads, n, d): values in [-1, 1].
std::vector<unsigned char> RandomBytes(DType dtype, int64_t count, std::mt19937* rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<unsigned char> bytes(count * DTypeSize(dtype));
  for (int64_t i = 0; i < count; ++i) {
    const float x = u(*rng);
    if (dtype == DType::kFloat64) {
      const double y = x;
      std::memcpy(bytes.data() + i * 8, &y, 8);
    } else if (dtype == DType::kFloat32) {
      std::memcpy(bytes.data() + i * 4, &x, 4);
    } else {
      const uint16_t b = BFloat16FromFloat(x);
      std::memcpy(bytes.data() + i * 2, &b, 2);
    }
  }
  return bytes;
}

struct Record {
  std::string impl, dtype;
  int64_t n = 0, d = 0, heads = 0;
  int threads = 0;
  bool skipped = false;
  std::string why;
  double median_s = 0, gflops = 0, peak_gflops = 0, speedup = 0;
  int reps = 0;
  double peak_rss_mib = 0;  // the process's peak resident memory so far (monotonic over a sweep)
};

double PeakRssMib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // Linux reports KiB
}

// Runs f once to warm up, then until at least 3 runs and min_time seconds; returns the median.
template <typename F>
double MedianSeconds(F&& f, double min_time, int* reps) {
  using Clock = std::chrono::steady_clock;
  f();
  std::vector<double> times;
  double total = 0;
  while ((times.size() < 3 || total < min_time) && times.size() < 100) {
    const auto t0 = Clock::now();
    f();
    const double t = std::chrono::duration<double>(Clock::now() - t0).count();
    times.push_back(t);
    total += t;
  }
  std::sort(times.begin(), times.end());
  *reps = static_cast<int>(times.size());
  return times[times.size() / 2];
}

void RunBench(const BenchFlags& flags) {
  const std::vector<int64_t> ns = IntList(flags.n, "--n");
  const std::vector<int64_t> ds = IntList(flags.d, "--d");
  const std::vector<int64_t> thread_counts = IntList(flags.threads, "--threads");
  std::vector<DType> dtypes;
  for (const auto& s : SplitList(flags.dtype, "--dtype")) dtypes.push_back(ParseDType(s));
  std::vector<AttentionImpl> impls;
  for (const auto& s : SplitList(flags.impl, "--impl")) impls.push_back(ParseImpl(s));
  UserCheck(flags.heads >= 0, "moa bench: --heads: expected 0 (auto) or a positive count, got ",
            flags.heads);

  std::cerr << "moa bench: kernels on SIMD target " << AttentionKernelTarget()
            << "; bfloat16 GEMMs on " << Bf16GemmPath() << "\n";
  // Peaks measured once per (dtype, threads), in this run, on the unit each dtype's GEMMs use.
  std::map<std::pair<int, int>, double> peaks;
  auto peak = [&](DType dtype, int threads) {
    const std::pair<int, int> key{static_cast<int>(dtype), threads};
    if (!peaks.count(key)) {
      peaks[key] = MeasurePeakGflops(dtype, threads);
      std::cerr << "moa bench: measured " << DTypeName(dtype) << " peak ("
                << (dtype == DType::kBFloat16 ? Bf16GemmPath() : "FMA") << "), " << threads
                << " thread(s): " << std::fixed << std::setprecision(1) << peaks[key]
                << " GFLOP/s\n";
    }
    return peaks[key];
  };

  const size_t total = ns.size() * ds.size() * dtypes.size() * thread_counts.size() * impls.size();
  size_t done = 0;
  std::vector<Record> records;
  std::mt19937 rng(1);
  for (int64_t n : ns)
    for (int64_t d : ds)
      for (DType dtype : dtypes) {
        const int64_t heads = flags.heads > 0 ? flags.heads : std::max<int64_t>(1, 4096 / n);
        const auto qb = RandomBytes(dtype, heads * n * d, &rng);
        const auto kb = RandomBytes(dtype, heads * n * d, &rng);
        const auto vb = RandomBytes(dtype, heads * n * d, &rng);
        std::vector<unsigned char> ob(heads * n * d * DTypeSize(dtype));
        const Tensor q = Tensor::Bhsd(qb.data(), dtype, 1, heads, n, d);
        const Tensor k = Tensor::Bhsd(kb.data(), dtype, 1, heads, n, d);
        const Tensor v = Tensor::Bhsd(vb.data(), dtype, 1, heads, n, d);
        const Tensor o = Tensor::Bhsd(ob.data(), dtype, 1, heads, n, d);
        const double flops = 4.0 * n * n * d * heads * (flags.causal ? 0.5 : 1.0);
        for (int64_t threads : thread_counts)
          for (AttentionImpl impl : impls) {
            Record r;
            r.impl = impl == AttentionImpl::kFused ? "fused" : "naive";
            r.dtype = DTypeName(dtype);
            r.n = n, r.d = d, r.heads = heads, r.threads = static_cast<int>(threads);
            r.peak_gflops = peak(dtype, r.threads);
            ++done;
            const double s_gib = static_cast<double>(n) * n * (dtype == DType::kFloat64 ? 8 : 4) /
                                 (1 << 30);
            if (impl == AttentionImpl::kNaive && s_gib > flags.naive_max_gib) {
              r.skipped = true;
              std::ostringstream why;
              why << "naive S matrix " << std::setprecision(3) << s_gib << " GiB > --naive-max-gib";
              r.why = why.str();
              std::cerr << "[" << done << "/" << total << "] naive " << r.dtype << " n=" << n
                        << " d=" << d << " threads=" << threads << ": skipped (" << r.why << ")\n";
              records.push_back(r);
              continue;
            }
            AttentionOptions options;
            options.is_causal = flags.causal;
            options.num_threads = r.threads;
            options.impl = impl;
            r.median_s = MedianSeconds([&] { Attention(q, k, v, o, options); }, flags.min_time,
                                       &r.reps);
            r.gflops = flops / r.median_s / 1e9;
            r.peak_rss_mib = PeakRssMib();
            std::cerr << "[" << done << "/" << total << "] " << r.impl << " " << r.dtype
                      << " n=" << n << " d=" << d << " threads=" << threads << ": "
                      << std::setprecision(4) << r.median_s << " s, " << std::setprecision(1)
                      << r.gflops << " GFLOP/s, peak RSS " << r.peak_rss_mib << " MiB (q, k, v, o: "
                      << 4.0 * heads * n * d * DTypeSize(dtype) / (1 << 20) << " MiB)\n";
            records.push_back(r);
          }
      }
  // Speed-up of each row over the naive row of the same point (1 for naive itself).
  for (Record& r : records) {
    for (const Record& naive : records) {
      if (naive.impl == "naive" && !naive.skipped && !r.skipped && naive.dtype == r.dtype &&
          naive.n == r.n && naive.d == r.d && naive.threads == r.threads) {
        r.speedup = naive.median_s / r.median_s;
      }
    }
  }

  if (flags.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Record& r : records) {
      if (r.skipped) continue;
      nlohmann::json j = {{"impl", r.impl},       {"dtype", r.dtype},
                          {"n", r.n},             {"d", r.d},
                          {"threads", r.threads}, {"median_s", r.median_s},
                          {"gflops", r.gflops},   {"peak_gflops", r.peak_gflops},
                          {"heads", r.heads},     {"batch", 1},
                          {"causal", flags.causal}, {"reps", r.reps},
                          {"fraction_of_peak", r.gflops / r.peak_gflops},
                          {"target", AttentionKernelTarget()},
                          {"bf16_gemm", Bf16GemmPath()},
                          {"peak_rss_mib", r.peak_rss_mib}};
      if (r.speedup > 0) j["speedup_vs_naive"] = r.speedup;
      out.push_back(j);
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "moa bench: batch 1, heads = max(1, 4096/n) unless --heads, "
            << (flags.causal ? "causal (flops halved)" : "no mask")
            << ", GFLOP/s = 4*n*n*d*heads / median; peak = measured in this run (FMA; bfloat16: "
            << Bf16GemmPath() << ")\n";
  std::cout << std::left << std::setw(7) << "impl" << std::setw(10) << "dtype" << std::right
            << std::setw(7) << "n" << std::setw(5) << "d" << std::setw(6) << "heads" << std::setw(4)
            << "thr" << std::setw(12) << "median_s" << std::setw(10) << "GFLOP/s" << std::setw(9)
            << "peak" << std::setw(8) << "%peak" << std::setw(10) << "vs_naive" << "\n";
  for (const Record& r : records) {
    std::cout << std::left << std::setw(7) << r.impl << std::setw(10) << r.dtype << std::right
              << std::setw(7) << r.n << std::setw(5) << r.d << std::setw(6) << r.heads
              << std::setw(4) << r.threads;
    if (r.skipped) {
      std::cout << "  skipped: " << r.why << "\n";
      continue;
    }
    std::cout << std::setw(12) << std::scientific << std::setprecision(3) << r.median_s
              << std::fixed << std::setw(10) << std::setprecision(1) << r.gflops << std::setw(9)
              << r.peak_gflops << std::setw(7) << std::setprecision(1)
              << 100 * r.gflops / r.peak_gflops << "%";
    if (r.speedup > 0) {
      std::cout << std::setw(9) << std::setprecision(2) << r.speedup << "x";
    } else {
      std::cout << std::setw(10) << "-";
    }
    std::cout << "\n";
  }
}

}  // namespace

void AddBench(CLI::App& app) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* bench = app.add_subcommand(
      "bench", "Time fused vs naive attention over a sweep; measured peak in the same run");
  bench->add_option("--n", flags->n, "sequence lengths nq = nk, comma-separated")
      ->capture_default_str();
  bench->add_option("--d", flags->d, "head dims dk = dv, comma-separated")->capture_default_str();
  bench->add_option("--dtype", flags->dtype, "float64,float32,bfloat16")->capture_default_str();
  bench->add_option("--threads", flags->threads, "thread counts, comma-separated")
      ->capture_default_str();
  bench->add_option("--impl", flags->impl, "fused,naive")->capture_default_str();
  bench->add_option("--heads", flags->heads, "heads per point (0: max(1, 4096/n))")
      ->capture_default_str();
  bench->add_flag("--causal", flags->causal, "causal (top-left) mask; flops counted halved");
  bench->add_option("--min-time", flags->min_time, "seconds of timed runs per point (>= 3 runs)")
      ->capture_default_str();
  bench->add_option("--naive-max-gib", flags->naive_max_gib,
                    "skip the naive path where its S matrix would exceed this many GiB")
      ->capture_default_str();
  bench->add_flag("--json", flags->json, "print a JSON list of records instead of the table");
  bench->callback([flags] { RunBench(*flags); });
}

}  // namespace moa::cli
