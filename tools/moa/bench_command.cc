// `moa bench`: times the fused and naive attention kernels over a sweep of sizes, dtypes and thread
// counts, measures the machine's FMA peak in the same run, and prints a table (or JSON records)
// of median time, GFLOP/s, fraction of peak and speed-up over the naive path; with --report, the
// cost model's prediction of every point beside it (bench_report.cc).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench.h"
#include "commands.h"
#include "cost/machine_model.h"
#include "peer.h"
#include "strict_numbers.h"
#include "moa/attention.h"
#include "moa/error.h"

namespace moa::cli {

double ElementAt(const unsigned char* bytes, DType dtype, size_t i) {
  if (dtype == DType::kFloat64) {
    double y;
    std::memcpy(&y, bytes + 8 * i, 8);
    return y;
  }
  if (dtype == DType::kFloat32) {
    float y;
    std::memcpy(&y, bytes + 4 * i, 4);
    return y;
  }
  uint16_t y;
  std::memcpy(&y, bytes + 2 * i, 2);
  return FloatFromBFloat16(y);
}

void StoreElement(unsigned char* bytes, DType dtype, size_t i, float x) {
  if (dtype == DType::kFloat64) {
    const double y = x;
    std::memcpy(bytes + 8 * i, &y, 8);
  } else if (dtype == DType::kFloat32) {
    std::memcpy(bytes + 4 * i, &x, 4);
  } else {
    const uint16_t b = BFloat16FromFloat(x);
    std::memcpy(bytes + 2 * i, &b, 2);
  }
}

DType ParseDType(const std::string& s, const char* command) {
  if (s == "float64") return DType::kFloat64;
  if (s == "float32") return DType::kFloat32;
  if (s == "bfloat16") return DType::kBFloat16;
  throw Error(std::string(command) + ": --dtype: expected float64, float32 or bfloat16, got '" +
              s + "'");
}

double Tolerance(DType dtype, int64_t n) {
  const double base = dtype == DType::kFloat64 ? 1e-12 : dtype == DType::kFloat32 ? 1e-5 : 2e-2;
  return 2 * base * std::sqrt(std::max(1.0, static_cast<double>(n) / 1024));
}

double ProcessHighWaterMib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024;  // kB
  }
  return 0;
}

namespace {

struct BenchFlags {
  std::string n = "512,1024,4096,16384";
  std::string d = "64,128";
  std::string dtype = "float32,float64,bfloat16";
  std::string threads = "1,2";
  std::string impl = "fused,naive";
  int64_t heads = 0;  // 0: enough heads for ~4096 query rows per point, at least 1
  int64_t nq = 0;     // queries per head; 0: nq = n (decoding: 1)
  int64_t kv_heads = 0;  // key/value heads, dividing heads (GQA); 0: as many as query heads
  bool causal = false;
  std::string mask = "none";  // none, bool, additive or padding (MakeBenchMask)
  std::string target = "auto";  // the kernels' SIMD target: auto, avx3, avx2 or portable
  bool json = false;
  double min_time = 0.3;
  double naive_max_gib = 2.0;
  int64_t block_q = 0, block_k = 0;  // 0: the kernels' own choice (the cost model's)
  bool report = false;
  std::string machine, plots;
  bool child = false;  // internal: a child of --report measuring one point's memory
};

std::vector<std::string> SplitList(const std::string& text, const char* flag) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (item.empty()) continue;
    // A value listed twice would run (and print) the same points twice.
    UserCheck(std::find(out.begin(), out.end(), item) == out.end(), "moa bench: ", flag, ": '", item,
              "' is listed twice in '", text, "'");
    out.push_back(item);
  }
  UserCheck(!out.empty(), "moa bench: ", flag, ": expected a comma-separated list, got '", text, "'");
  return out;
}

std::vector<int64_t> IntList(const std::string& text, const char* flag) {
  std::vector<int64_t> out;
  for (const std::string& s : SplitList(text, flag)) {
    int64_t v = 0;
    UserCheck(ParseDecimal(s, &v) && v > 0, "moa bench: ", flag,
              ": expected positive integers, got '", s, "'");
    out.push_back(v);
  }
  return out;
}

// Max-norm of (a - b) over max-norm of b, for two outputs of one dtype.
double RelativeDifference(const std::vector<unsigned char>& a, const std::vector<unsigned char>& b,
                          DType dtype) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < b.size() / DTypeSize(dtype); ++i) {
    diff = std::max(diff, std::fabs(ElementAt(a.data(), dtype, i) - ElementAt(b.data(), dtype, i)));
    norm = std::max(norm, std::fabs(ElementAt(b.data(), dtype, i)));
  }
  return norm > 0 ? diff / norm : diff;
}

// Random values in [-1, 1] of one dtype.
std::vector<unsigned char> RandomBytes(DType dtype, int64_t count, std::mt19937* rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<unsigned char> bytes(count * DTypeSize(dtype));
  for (int64_t i = 0; i < count; ++i) StoreElement(bytes.data(), dtype, i, u(*rng));
  return bytes;
}

// The --mask of one point, broadcast over batch and heads (one mask for all, as a padding or
// bias mask usually is): "bool", (n, n) with a tenth of it False at random; "additive", (n, n) in
// q's dtype, uniform in [-1, 1]; "padding", bool over keys only, (1, n), its last n / 16 False.
struct BenchMask {
  std::vector<unsigned char> bytes;
  std::optional<Tensor> view;
};
BenchMask MakeBenchMask(const std::string& kind, DType dtype, int64_t nq, int64_t n,
                        std::mt19937* rng) {
  BenchMask m;
  if (kind == "none") return m;
  const int64_t rows = kind == "padding" ? 1 : nq;
  Tensor t;
  t.dtype = kind == "additive" ? dtype : DType::kBool;
  t.sizes = {1, 1, rows, n};
  t.strides = {rows * n, rows * n, n, 1};
  if (kind == "additive") {
    m.bytes = RandomBytes(dtype, rows * n, rng);
  } else {
    m.bytes.assign(rows * n, 1);
    std::bernoulli_distribution masked(0.1);
    for (int64_t i = 0; i < rows * n; ++i) {
      m.bytes[i] = kind == "padding" ? i % n < n - n / 16 : !masked(*rng);
    }
  }
  t.data = m.bytes.data();
  m.view = t;
  return m;
}

void RunBench(const BenchFlags& flags) {
  const std::vector<int64_t> ns = IntList(flags.n, "--n");
  const std::vector<int64_t> ds = IntList(flags.d, "--d");
  const std::vector<int64_t> thread_counts = IntList(flags.threads, "--threads");
  std::vector<DType> dtypes;
  for (const auto& s : SplitList(flags.dtype, "--dtype")) dtypes.push_back(ParseDType(s, "moa bench"));
  const std::string peer_name = PeerName();
  // Fused first at every point: the other paths' outputs are checked against its output.
  std::vector<std::string> impls = SplitList(flags.impl, "--impl");
  std::stable_partition(impls.begin(), impls.end(), [](const std::string& i) { return i == "fused"; });
  for (const std::string& s : impls) {
    UserCheck(s == "fused" || s == "naive" || (!peer_name.empty() && s == peer_name),
              "moa bench: --impl: expected fused, naive", peer_name.empty() ? "" : " or ",
              peer_name, ", got '", s, "'", s == "onednn" ? " (" + PeerDescription() + ")" : "");
  }
  UserCheck(flags.heads >= 0, "moa bench: --heads: expected 0 (auto) or a positive count, got ",
            flags.heads);
  UserCheck(flags.nq >= 0, "moa bench: --nq: expected 0 (nq = n) or a positive count, got ",
            flags.nq);
  UserCheck(!flags.report || flags.nq == 0,
            "moa bench --report: the cost model prices nq = nk; drop --nq");
  UserCheck(flags.kv_heads >= 0,
            "moa bench: --kv-heads: expected 0 (as many as --heads) or a positive count, got ",
            flags.kv_heads);
  UserCheck(!flags.report || flags.kv_heads == 0,
            "moa bench --report: the cost model prices one key/value head per query head; drop "
            "--kv-heads");
  UserCheck((flags.block_q == 0) == (flags.block_k == 0),
            "moa bench: --block-q and --block-k: give both or neither");
  const ReportOptions report{flags.machine, flags.report && flags.plots.empty()
                                                ? std::string("moa_bench_report")
                                                : flags.plots,
                             flags.min_time};
  UserCheck(flags.report || (flags.machine.empty() && flags.plots.empty()),
            "moa bench: --machine and --plots belong to --report");
  UserCheck(flags.mask == "none" || flags.mask == "bool" || flags.mask == "additive" ||
                flags.mask == "padding",
            "moa bench: --mask: expected none, bool, additive or padding, got '", flags.mask, "'");
  UserCheck(!flags.report || (!flags.causal && flags.mask == "none"),
            "moa bench --report: the cost model prices unmasked attention; drop --causal and --mask");

  // Every point's q, k, v, out (and mask) against this machine's memory, with overflow checks,
  // before the first is measured: sizes too large were std::bad_alloc at their point.
  // A point's query heads (4096 / n by default, so small n still gives the cores work), query
  // rows and key/value heads.
  struct Heads {
    int64_t heads, nq, kv_heads;
  };
  const auto heads_of = [&](int64_t n) {
    const int64_t heads = flags.heads > 0 ? flags.heads : std::max<int64_t>(1, 4096 / n);
    return Heads{heads, flags.nq > 0 ? flags.nq : n, flags.kv_heads > 0 ? flags.kv_heads : heads};
  };
  const int64_t memory = cost::PhysicalMemoryBytes();
  for (int64_t n : ns)
    for (int64_t d : ds)
      for (DType dtype : dtypes) {
        const auto [heads, nq, kv_heads] = heads_of(n);
        const int64_t item = static_cast<int64_t>(DTypeSize(dtype));
        int64_t row = 0, qo = 0, kv = 0, mask = 0, bytes = 0;  // row: 2 rows of d elements
        bool fits = !__builtin_mul_overflow(d, 2 * item, &row) && !__builtin_mul_overflow(heads, nq, &qo) &&
                    !__builtin_mul_overflow(qo, row, &qo) && !__builtin_mul_overflow(kv_heads, n, &kv) &&
                    !__builtin_mul_overflow(kv, row, &kv) && !__builtin_add_overflow(qo, kv, &bytes);
        if (flags.mask != "none") {
          fits = fits && !__builtin_mul_overflow(nq, n, &mask) && !__builtin_mul_overflow(mask, item, &mask) &&
                 !__builtin_add_overflow(bytes, mask, &bytes);
        }
        UserCheck(fits && (memory <= 0 || bytes <= memory), "moa bench: --n ", n, " --d ", d, " (",
                  DTypeName(dtype), ", ", heads, " heads): q, k, v, out", flags.mask != "none" ? " and the mask" : "",
                  " need ", fits ? std::to_string(bytes) + " bytes" : "more than 2^63 bytes",
                  ", more than this machine's memory (", memory, " bytes); give smaller sizes");
      }

  SetAttentionKernelTarget(flags.target);
  std::cerr << "moa bench: kernels on SIMD target " << AttentionKernelTarget()
            << "; bfloat16 GEMMs on " << Bf16GemmPath() << "; unfused peer: " << PeerDescription()
            << "\n";
  const size_t total = ns.size() * ds.size() * dtypes.size() * thread_counts.size() * impls.size();
  size_t done = 0;
  std::vector<Record> records;
  bool disagree = false;
  uint32_t seed = 1;
  for (int64_t n : ns)
    for (int64_t d : ds)
      for (DType dtype : dtypes) {
        const auto [heads, nq, kv_heads] = heads_of(n);
        UserCheck(heads % kv_heads == 0, "moa bench: --kv-heads: expected a divisor of the ", heads,
                  " query heads, got ", kv_heads);
        const BenchTensors t(dtype, heads, kv_heads, nq, n, d, seed++);
        std::mt19937 mask_rng(seed);
        const BenchMask mask = MakeBenchMask(flags.mask, dtype, nq, n, &mask_rng);
        // Causal (top-left) with nq <= n: query i sees i + 1 keys; nq = n gives n (n + 1) / 2,
        // counted as half.
        const double pairs = flags.causal && nq < n ? nq * (nq + 1) / 2.0
                                                    : nq * n * (flags.causal ? 0.5 : 1.0);
        const double flops = 4.0 * pairs * d * heads;
        // Key/value rows the queries see: under the top-left causal mask the last of nq < n
        // queries sees nq keys, and the rest of K and V is never read.
        const int64_t kv_rows = flags.causal ? std::min(nq, n) : n;
        for (int64_t threads : thread_counts) {
          std::vector<unsigned char> fused_out;  // this point's fused output, once timed
          for (const std::string& impl : impls) {
            Record r;
            r.impl = impl;
            r.dtype = DTypeName(dtype);
            r.n = n, r.nq = nq, r.d = d, r.heads = heads, r.kv_heads = kv_heads;
            r.threads = static_cast<int>(threads);
            const bool peer = impl == peer_name;
            if (!peer) {
              const AttentionBlocks chosen = ChosenBlocks(dtype, heads, nq, n, d, d);
              r.block_q = flags.block_q > 0 ? flags.block_q : chosen.block_q;
              r.block_k = flags.block_k > 0 ? flags.block_k : chosen.block_k;
            }
            ++done;
            // The naive path materialises S for one head at a time, the peer for all at once.
            const double s_gib = static_cast<double>(peer ? heads : 1) * nq * n *
                                 (dtype == DType::kFloat64 ? 8 : 4) / (1 << 30);
            std::ostringstream why;
            if (impl != "fused" && s_gib > flags.naive_max_gib) {
              why << "S matrix " << std::setprecision(3) << s_gib << " GiB > --naive-max-gib";
            } else if (peer && !PeerUnsupported(dtype).empty()) {
              why << PeerUnsupported(dtype);
            } else if (peer && (flags.causal || mask.view)) {
              why << "the peer runs unmasked attention only";
            } else if (peer && kv_heads != heads) {
              why << "the peer runs one key/value head per query head only";
            }
            if (!why.str().empty()) {
              r.skipped = true;
              r.why = why.str();
              std::cerr << "[" << done << "/" << total << "] " << impl << " " << r.dtype
                        << " n=" << n << " d=" << d << " threads=" << threads << ": skipped ("
                        << r.why << ")\n";
              records.push_back(r);
              continue;
            }
            AttentionOptions options;
            options.is_causal = flags.causal;
            options.mask = mask.view;
            options.num_threads = r.threads;
            options.impl = impl == "naive" ? AttentionImpl::kNaive : AttentionImpl::kFused;
            options.block_q = flags.block_q;
            options.block_k = flags.block_k;
            std::unique_ptr<PeerRun> peer_run;
            if (peer) peer_run = std::make_unique<PeerRun>(t, dtype, heads, nq, n, d, r.threads);
            const auto run = [&] {
              if (peer_run) {
                (*peer_run)();
              } else {
                Attention(t.q, t.k, t.v, t.o, options);
              }
            };
            // The peak of the unit the dtype's GEMMs use (best of three in 0.05 s) and, with
            // --report, the kernel's tile cost are measured in probes interleaved with the
            // point's own runs (probe, runs, probe, runs, ..., probe; medians of each): this
            // host's speed drifts by tens of percent within a minute, and a peak or a tile cost
            // taken at another moment made "% of peak" and the prediction ratios of two different
            // machines. Predicted points take 6 rounds: on a 36-point sweep run 8 times in
            // alternation, 6 rounds put 28-36 points (mean 32) within 25%, 3 rounds 28-33
            // (mean 30).
            const bool calibrate = flags.report && impl == "fused";
            const int rounds = calibrate ? 6 : 3;
            std::vector<double> times, peaks;
            std::vector<cost::TileCost> probes;
            const auto probe = [&] {
              if (!flags.child) peaks.push_back(MeasurePeakGflops(dtype, r.threads, 0.05));
              if (calibrate) {
                probes.push_back(MeasureTileCost(dtype, d, r.block_q, r.block_k, r.threads,
                                                 std::min(flags.min_time, 0.1)));
              }
            };
            run();  // warm-up
            for (int round = 0; round < rounds; ++round) {
              probe();
              // At least one run per round and three in all.
              const size_t min_runs =
                  round + 1 < rounds || times.size() >= 2 ? 1 : 3 - times.size();
              AppendRunSeconds(run, flags.min_time / rounds, min_runs, &times);
            }
            probe();
            r.median_s = Median(times);
            r.reps = static_cast<int>(times.size());
            r.gflops = flops / r.median_s / 1e9;
            r.kv_gbps = 2.0 * kv_heads * kv_rows * d * DTypeSize(dtype) / r.median_s / 1e9;
            if (!peaks.empty()) r.peak_gflops = Median(peaks);
            r.peak_spread = Spread(peaks);
            if (calibrate) {
              std::vector<double> tile, block, call;
              for (const cost::TileCost& c : probes) {
                tile.push_back(c.per_tile_s);
                block.push_back(c.per_block_s);
                call.push_back(c.per_call_s);
              }
              r.tile = {Median(tile), Median(block), Median(call)};
              r.tile_spread = Spread(tile);
            }
            // Every path's output against the fused kernel's at the same point.
            if (impl == "fused") {
              fused_out = t.ob;
            } else if (!fused_out.empty()) {
              r.diff_vs_fused = RelativeDifference(t.ob, fused_out, dtype);
              disagree = disagree || !(r.diff_vs_fused <= Tolerance(dtype, n));
            }
            std::cerr << "[" << done << "/" << total << "] " << r.impl << " " << r.dtype
                      << " n=" << n << (nq != n ? " nq=" + std::to_string(nq) : "") << " d=" << d
                      << " threads=" << threads;
            if (peer) {
              std::cerr << " (" << peer_run->Kernels() << ")";
            } else {
              std::cerr << " blocks " << r.block_q << "x" << r.block_k;
            }
            std::cerr << ": " << std::defaultfloat << std::setprecision(4) << r.median_s << " s, "
                      << std::fixed << std::setprecision(1) << r.gflops << " GFLOP/s";
            if (r.peak_gflops > 0)
              std::cerr << " (" << 100 * r.gflops / r.peak_gflops << "% of the "
                        << (dtype == DType::kBFloat16 ? Bf16GemmPath() : "FMA") << " peak "
                        << r.peak_gflops << ", median of " << peaks.size() << " probes)";
            if (r.diff_vs_fused >= 0)
              std::cerr << ", differs from fused by " << std::scientific << std::setprecision(1)
                        << r.diff_vs_fused << std::fixed;
            std::cerr << " (process peak RSS so far " << ProcessHighWaterMib() << " MiB)\n";
            records.push_back(r);
          }
          fused_out.clear();
        }
      }
  // Speed-ups over the naive row of the same point (1 for naive itself), and of fused over the
  // fastest unfused row (naive or the peer).
  const auto same_point = [](const Record& a, const Record& b) {
    return !a.skipped && !b.skipped && a.dtype == b.dtype && a.n == b.n && a.nq == b.nq &&
           a.d == b.d && a.threads == b.threads;
  };
  for (Record& r : records) {
    double best_unfused = 0;
    for (const Record& other : records) {
      if (!same_point(r, other)) continue;
      if (other.impl == "naive") r.speedup = other.median_s / r.median_s;
      if (other.impl != "fused" && (best_unfused == 0 || other.median_s < best_unfused))
        best_unfused = other.median_s;
    }
    if (r.impl == "fused" && best_unfused > 0) r.speedup_unfused = best_unfused / r.median_s;
  }
  if (flags.report) PredictAndMeasureMemory(records, report);

  if (flags.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Record& r : records) {
      if (r.skipped) continue;
      nlohmann::json j = {{"impl", r.impl},       {"dtype", r.dtype},
                          {"n", r.n},             {"nq", r.nq},
                          {"d", r.d},             {"kv_gb_per_s", r.kv_gbps},
                          {"threads", r.threads}, {"median_s", r.median_s},
                          {"gflops", r.gflops},   {"peak_gflops", r.peak_gflops},
                          {"heads", r.heads},     {"kv_heads", r.kv_heads},
                          {"batch", 1},
                          {"causal", flags.causal}, {"mask", flags.mask},
                          {"reps", r.reps},
                          {"block_q", r.block_q}, {"block_k", r.block_k},
                          {"target", AttentionKernelTarget()},
                          {"bf16_gemm", Bf16GemmPath()}};
      if (r.peak_gflops > 0) j["fraction_of_peak"] = r.gflops / r.peak_gflops;
      if (r.peak_spread > 0) j["peak_spread"] = r.peak_spread;
      if (flags.child) j["process_hwm_mib"] = ProcessHighWaterMib();
      if (r.speedup > 0) j["speedup_vs_naive"] = r.speedup;
      if (r.speedup_unfused > 0) j["speedup_vs_best_unfused"] = r.speedup_unfused;
      if (r.diff_vs_fused >= 0) j["difference_from_fused"] = r.diff_vs_fused;
      if (flags.report) {
        j["predicted_s"] = r.predicted_s;
        j["predicted_ideal_s"] = r.predicted_ideal_s;
        if (r.tile_spread > 0) j["tile_spread"] = r.tile_spread;
        if (r.peak_rss_mib != 0) {
          j["peak_rss_mib"] = r.peak_rss_mib;
          j["inputs_mib"] = r.inputs_mib;
        }
      }
      out.push_back(j);
    }
    std::cout << out.dump(2) << "\n";
    if (flags.report && !WritePlots(records, report))
      throw Error("moa bench --report: the plots could not be made (see above)");
    if (disagree) throw Error("moa bench: an unfused path's output differs from fused's (above)");
    return;
  }
  std::cout << "moa bench: batch 1, heads = max(1, 4096/n) unless --heads, "
            << (flags.causal ? "causal (flops halved)" : "")
            << (flags.mask == "none" ? (flags.causal ? "" : "no mask")
                                     : std::string(flags.causal ? ", " : "") + "--mask " +
                                           flags.mask + " (flops counted in full)")
            << ", GFLOP/s = 4*nq*n*d*heads / median (nq = "
            << (flags.nq > 0 ? std::to_string(flags.nq) : std::string("n"))
            << " queries per head); peak = measured in this run (FMA; bfloat16: " << Bf16GemmPath()
            << ")"
            << (flags.nq > 0 ? "; K,V GB/s = bytes of the K and V rows the queries see / median"
                             : "")
            << "\n";
  std::cout << std::left << std::setw(7) << "impl" << std::setw(10) << "dtype" << std::right
            << std::setw(7) << "n" << std::setw(5) << "d" << std::setw(6) << "heads" << std::setw(4)
            << "thr" << std::setw(12) << "median_s" << std::setw(10) << "GFLOP/s" << std::setw(9)
            << "peak" << std::setw(8) << "%peak" << std::setw(10) << "vs_naive" << std::setw(12)
            << "vs_unfused" << std::setw(12) << "diff_fused"
            << (flags.nq > 0 ? "   K,V GB/s" : "") << "\n";
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
              << (r.peak_gflops > 0 ? 100 * r.gflops / r.peak_gflops : 0) << "%";
    const auto ratio = [](double x, int width) {
      if (x > 0) {
        std::cout << std::setw(width - 1) << std::setprecision(2) << x << "x";
      } else {
        std::cout << std::setw(width) << "-";
      }
    };
    ratio(r.speedup, 10);
    ratio(r.speedup_unfused, 12);
    if (r.diff_vs_fused >= 0) {
      std::cout << std::setw(12) << std::scientific << std::setprecision(1) << r.diff_vs_fused
                << std::fixed;
    } else if (flags.nq > 0) {
      std::cout << std::setw(12) << "-";
    }
    if (flags.nq > 0) std::cout << std::setw(11) << std::setprecision(1) << r.kv_gbps;
    std::cout << "\n";
  }
  if (flags.report) {
    PrintReport(records);
    if (!WritePlots(records, report))
      throw Error("moa bench --report: the plots could not be made (see above)");
  }
  if (disagree) throw Error("moa bench: an unfused path's output differs from fused's (above)");
}

}  // namespace

BenchTensors::BenchTensors(DType dtype, int64_t heads, int64_t kv_heads, int64_t nq, int64_t nk,
                           int64_t d, uint32_t seed) {
  std::mt19937 rng(seed);
  qb = RandomBytes(dtype, heads * nq * d, &rng);
  kb = RandomBytes(dtype, kv_heads * nk * d, &rng);
  vb = RandomBytes(dtype, kv_heads * nk * d, &rng);
  ob.resize(heads * nq * d * DTypeSize(dtype));
  q = Tensor::Bhsd(qb.data(), dtype, 1, heads, nq, d);
  k = Tensor::Bhsd(kb.data(), dtype, 1, kv_heads, nk, d);
  v = Tensor::Bhsd(vb.data(), dtype, 1, kv_heads, nk, d);
  o = Tensor::Bhsd(ob.data(), dtype, 1, heads, nq, d);
}

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
  if (*PeerName() != '\0') flags->impl += std::string(",") + PeerName();
  bench->add_option("--impl", flags->impl,
                    std::string("fused,naive") + (*PeerName() != '\0' ? "," : "") + PeerName() +
                        " (the unfused peer: " + PeerDescription() + ")")
      ->capture_default_str();
  bench->add_option("--nq", flags->nq,
                    "queries per head against n keys (0: nq = n; 1: decoding one token); with it "
                    "the table adds the rate at which K and V were read")
      ->capture_default_str();
  bench->add_option("--kv-heads", flags->kv_heads,
                    "key/value heads, a divisor of the heads (grouped-query attention); 0: one "
                    "per query head")
      ->capture_default_str();
  bench->add_option("--heads", flags->heads, "heads per point (0: max(1, 4096/n))")
      ->capture_default_str();
  bench->add_flag("--causal", flags->causal,
                  "causal (top-left) mask; flops and K,V bytes counted for what the mask keeps");
  bench->add_option("--target", flags->target,
                    "the kernels' SIMD target: auto (the best this CPU runs), avx3, avx2 or portable; "
                    "the peak is measured on the same target")
      ->capture_default_str();
  bench->add_option("--mask", flags->mask,
                    "a mask for every point, shared by batch and heads: none; bool (n x n, a tenth "
                    "False at random); additive (n x n in q's dtype); padding (bool over keys, the "
                    "last n/16 False)")
      ->capture_default_str();
  bench->add_option("--min-time", flags->min_time, "seconds of timed runs per point (>= 3 runs)")
      ->capture_default_str();
  bench->add_option("--naive-max-gib", flags->naive_max_gib,
                    "skip the naive path where its S matrix would exceed this many GiB")
      ->capture_default_str();
  bench->add_option("--block-q", flags->block_q,
                    "query rows per task, a multiple of 64 (0: the cost model's choice)")
      ->capture_default_str();
  bench->add_option("--block-k", flags->block_k,
                    "key/value rows per tile, a multiple of 32 (0: the cost model's choice)")
      ->capture_default_str();
  bench->add_flag("--json", flags->json, "print a JSON list of records instead of the table");
  bench->add_flag("--report", flags->report,
                  "add the cost model's predicted time of every point, each point's peak memory, "
                  "and plots");
  bench->add_option("--machine", flags->machine,
                    "--report: machine description from `moa peak --output` (default: measure)");
  bench->add_option("--plots", flags->plots,
                    "--report: directory for report.json and the PNG plots (default "
                    "moa_bench_report)");
  bench->add_flag("--child", flags->child,
                  "internal (--report): no peak; records carry the process's VmHWM")
      ->group("");
  bench->callback([flags] { RunBench(*flags); });
}

}  // namespace moa::cli
