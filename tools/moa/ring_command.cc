// `moa ring`: ring attention (or, with --split-kv, split-KV attention) over MPI on a generated
// problem, started by mpiexec (`mpiexec -n 4 moa ring --n 16384`). Each rank generates its shards
// of one global problem, the call is timed as a whole (barrier to barrier, median of repeats), and
// in the same run rank 0 times moa::Attention on the whole problem in one process with as many
// threads as the ranks have together, whose output checks every rank's, gathered to rank 0.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench.h"
#include "commands.h"
#include "moa/attention.h"
#include "moa/error.h"
#include "moa/ring_attention.h"
#include "moa/split_kv_attention.h"
#include "ring/agree.h"
#include "ring/shards.h"

namespace moa::cli {

namespace {

using internal::Concat;

struct RingFlags {
  int64_t n = 16384;    // global key rows, and query rows unless --nq
  int64_t nq = 0;       // global query rows; 0: n
  int64_t d = 128;
  int64_t heads = 8;
  int64_t kv_heads = 0;  // 0: as many as heads
  std::string dtype = "float32";
  bool causal = false;
  int threads = 1;  // kernel threads per rank
  double min_time = 1.0;
  bool zigzag = false;
  bool split_kv = false;  // SplitKvAttention: every rank holds all the queries
  bool baseline = true;
  bool json = false;
};

// Element `index` of input `which` (0 q, 1 k, 2 v) in [-1, 1], the same on every rank whatever
// its shard: a hash of the position (splitmix64), not a random stream.
float InputValue(int which, uint64_t index) {
  uint64_t z = index * 3 + static_cast<uint64_t>(which) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<float>(static_cast<double>(z >> 11) * 0x1.0p-53 * 2 - 1);
}

// The rows of `segments` of a (1, heads, total, d) input, in order: contiguous BHSD in `dtype`.
std::vector<unsigned char> Shard(int which, DType dtype, int64_t heads, int64_t total,
                                 const std::vector<internal::Segment>& segments, int64_t d) {
  const int64_t item = DTypeSize(dtype);
  int64_t rows = 0;
  for (const internal::Segment& seg : segments) rows += seg.rows;
  std::vector<unsigned char> bytes(static_cast<size_t>(heads * rows * d * item));
  size_t i = 0;
  for (int64_t h = 0; h < heads; ++h)
    for (const internal::Segment& seg : segments)
      for (int64_t s = seg.global; s < seg.global + seg.rows; ++s)
        for (int64_t e = 0; e < d; ++e) {
          StoreElement(bytes.data(), dtype, i++,
                       InputValue(which, static_cast<uint64_t>((h * total + s) * d + e)));
        }
  return bytes;
}

// A barrier that waits asleep: Open MPI's MPI_Barrier polls, and a rank polling through rank 0's
// one-process run would take a core from it.
void SleepingBarrier(MPI_Comm comm) {
  MPI_Request request;
  MPI_Ibarrier(comm, &request);
  for (int done = 0; MPI_Test(&request, &done, MPI_STATUS_IGNORE), !done;) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

// Times `call` on every rank together: repeats, each from a barrier to a barrier, until at least
// 3 and min_time seconds (rank 0 decides, so that all ranks repeat alike); returns the median.
// `barrier` is MPI_Barrier, or SleepingBarrier where only rank 0 works.
template <typename Call>
double CollectiveMedian(Call&& call, void (*barrier)(MPI_Comm), double min_time, MPI_Comm comm,
                        int* reps) {
  call();  // warm-up: first touches, thread pools
  std::vector<double> times;
  int more = 1;
  while (more) {
    barrier(comm);
    const double t0 = MPI_Wtime();
    call();
    barrier(comm);
    times.push_back(MPI_Wtime() - t0);
    double total = 0;
    for (double t : times) total += t;
    more = (times.size() < 3 || total < min_time) && times.size() < 100;
    MPI_Bcast(&more, 1, MPI_INT, 0, comm);
  }
  *reps = static_cast<int>(times.size());
  return Median(times);
}

void RunRing(const RingFlags& f) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  }
  MPI_Comm comm = MPI_COMM_WORLD;
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  const DType dtype = ParseDType(f.dtype, "moa ring");
  const int64_t nk_total = f.n, nq_total = f.nq > 0 ? f.nq : f.n;
  const int64_t kv_heads = f.kv_heads > 0 ? f.kv_heads : f.heads;
  UserCheck(f.n >= ranks && (f.split_kv || nq_total >= ranks),
            "moa ring: --n", f.split_kv ? "" : " and --nq",
            ": expected at least one row per rank (", ranks, " ranks), got n ", f.n, " and nq ",
            nq_total);
  UserCheck(f.d > 0 && f.heads > 0 && kv_heads > 0 && f.heads % kv_heads == 0,
            "moa ring: --d, --heads, --kv-heads: expected positive counts with --kv-heads dividing "
            "--heads, got d ", f.d, ", heads ", f.heads, ", kv heads ", kv_heads);
  UserCheck(f.threads > 0, "moa ring: --threads: expected a positive count, got ", f.threads);

  // Even shards (the first ranks one row longer), or zigzag ones.
  auto segments = [&](int64_t total, int r) {
    return f.zigzag ? internal::ZigzagSegments(total, ranks, r)
                    : std::vector<internal::Segment>{internal::EvenChunk(total, ranks, r)};
  };
  // The query rows of rank r: its shard, or all of them (split-KV).
  auto query_segments = [&](int r) {
    return f.split_kv ? std::vector<internal::Segment>{{0, 0, nq_total}} : segments(nq_total, r);
  };
  auto rows_of = [](const std::vector<internal::Segment>& segs) {
    int64_t rows = 0;
    for (const internal::Segment& seg : segs) rows += seg.rows;
    return rows;
  };
  const int64_t nq = rows_of(query_segments(rank)), nk = rows_of(segments(nk_total, rank));
  int64_t gathered_rows = 0;  // every rank's query rows, gathered to rank 0 for the check
  for (int r = 0; r < ranks; ++r) gathered_rows += rows_of(query_segments(r));
  const DType out_dtype = dtype == DType::kBFloat16 ? DType::kFloat32 : dtype;
  const int64_t out_item = DTypeSize(out_dtype);
  UserCheck(!(f.zigzag && f.split_kv), "moa ring: --zigzag shards the queries, which --split-kv "
            "gives to every rank whole; choose one");
  UserCheck(f.heads * gathered_rows * f.d * out_item <= 0x7fffffff || !f.baseline,
            "moa ring: the whole output is over 2 GiB, too large to gather for the check; "
            "pass --no-baseline");
  // Memory a rank cannot get fails there alone: every rank learns of it (no rank left waiting).
  std::vector<unsigned char> qb, kb, vb, ob;
  std::string error = internal::ErrorOf([&] {
    qb = Shard(0, dtype, f.heads, nq_total, query_segments(rank), f.d);
    kb = Shard(1, dtype, kv_heads, nk_total, segments(nk_total, rank), f.d);
    vb = Shard(2, dtype, kv_heads, nk_total, segments(nk_total, rank), f.d);
    ob.resize(static_cast<size_t>(f.heads * nq * f.d * out_item));
  });
  internal::AgreeOnErrors(comm,
                          error.empty() ? error : Concat("moa ring: rank ", rank, ": ", error));
  const Tensor q = Tensor::Bhsd(qb.data(), dtype, 1, f.heads, nq, f.d);
  const Tensor k = Tensor::Bhsd(kb.data(), dtype, 1, kv_heads, nk, f.d);
  const Tensor v = Tensor::Bhsd(vb.data(), dtype, 1, kv_heads, nk, f.d);
  const Tensor o = Tensor::Bhsd(ob.data(), out_dtype, 1, f.heads, nq, f.d);
  const RingSharding sharding = f.zigzag ? RingSharding::kZigzag : RingSharding::kContiguous;
  AttentionOptions options;
  options.is_causal = f.causal;
  options.causal_align = CausalAlign::kBottomRight;  // decoding's last queries see every key
  options.num_threads = f.threads;

  const double flops = 4.0 * static_cast<double>(nq_total) * static_cast<double>(nk_total) *
                       static_cast<double>(f.d) * static_cast<double>(f.heads) *
                       (f.causal && nq_total == nk_total ? 0.5 : 1.0);
  if (rank == 0 && !f.json) {
    std::cerr << "moa ring: " << ranks << " ranks x " << f.threads << " thread(s), timing "
              << (f.split_kv ? "split-KV" : "the ring") << std::endl;
  }
  int ring_reps = 0;
  const double ring_s = CollectiveMedian(
      [&] {
        if (f.split_kv) {
          SplitKvAttention(q, k, v, o, options, comm);
        } else {
          RingAttention(q, k, v, o, options, comm, sharding);
        }
      },
      [](MPI_Comm c) { MPI_Barrier(c); }, f.min_time, comm, &ring_reps);
  // Each rank's peak resident memory so far (its shards, the ring's buffers, MPI's own), beside
  // the bytes of its shards of q, k, v and out: the largest rank's, on rank 0.
  double memory[2] = {ProcessHighWaterMib(),
                      static_cast<double>(qb.size() + kb.size() + vb.size() + ob.size()) / 1048576};
  MPI_Allreduce(MPI_IN_PLACE, memory, 2, MPI_DOUBLE, MPI_MAX, comm);

  // The ring's output on rank 0: per head, each rank's rows in rank order (split-KV: every
  // rank's whole output, so that each is checked).
  std::vector<int> counts(ranks), displs(ranks);
  for (int r = 0, at = 0; r < ranks; ++r) {
    counts[r] = static_cast<int>(rows_of(query_segments(r)) * f.d * out_item);
    displs[r] = at;
    at += counts[r];
  }
  const int64_t head_bytes = gathered_rows * f.d * out_item;

  double single_s = 0, difference = -1;
  int single_reps = 0;
  if (f.baseline) {
    std::vector<unsigned char> gathered;
    if (rank == 0) gathered.resize(static_cast<size_t>(f.heads * head_bytes));
    for (int64_t h = 0; h < f.heads; ++h) {  // one head at a time: heads are the outer dim
      MPI_Gatherv(ob.data() + h * nq * f.d * out_item, counts[rank], MPI_BYTE,
                  rank == 0 ? gathered.data() + h * head_bytes : nullptr,
                  counts.data(), displs.data(), MPI_BYTE, 0, comm);
    }
    std::vector<unsigned char> qa, ka, va, oa;
    Tensor q_all, k_all, v_all, o_all;
    AttentionOptions whole = options;
    whole.num_threads = ranks * f.threads;
    error = internal::ErrorOf([&] {
      if (rank != 0) return;
      std::cerr << (f.json ? "" : "moa ring: timing one process on the whole problem\n");
      const internal::Segment all_q{0, 0, nq_total}, all_k{0, 0, nk_total};
      qa = Shard(0, dtype, f.heads, nq_total, {all_q}, f.d);
      ka = Shard(1, dtype, kv_heads, nk_total, {all_k}, f.d);
      va = Shard(2, dtype, kv_heads, nk_total, {all_k}, f.d);
      oa.resize(static_cast<size_t>(f.heads * nq_total * f.d * out_item));
      q_all = Tensor::Bhsd(qa.data(), dtype, 1, f.heads, nq_total, f.d);
      k_all = Tensor::Bhsd(ka.data(), dtype, 1, kv_heads, nk_total, f.d);
      v_all = Tensor::Bhsd(va.data(), dtype, 1, kv_heads, nk_total, f.d);
      o_all = Tensor::Bhsd(oa.data(), out_dtype, 1, f.heads, nq_total, f.d);
      Attention(q_all, k_all, v_all, o_all, whole);  // fails here, if at all, not while timed
    });
    internal::AgreeOnErrors(comm, error.empty() ? error : "moa ring: one process: " + error);
    // The other ranks wait asleep: the one process has all the cores.
    single_s = CollectiveMedian(
        [&] {
          if (rank == 0) Attention(q_all, k_all, v_all, o_all, whole);
        },
        SleepingBarrier, f.min_time, comm, &single_reps);
    if (rank == 0) {
      // Rank r's local row i of head h against the global row its segments give it.
      double diff = 0, norm = 0;
      for (int64_t h = 0; h < f.heads; ++h)
        for (int r = 0; r < ranks; ++r)
          for (const internal::Segment& seg : query_segments(r))
            for (int64_t i = 0; i < seg.rows * f.d; ++i) {
              const size_t ring_at = static_cast<size_t>(
                  (h * head_bytes + displs[r]) / out_item + seg.local * f.d + i);
              const size_t one_at = static_cast<size_t>((h * nq_total + seg.global) * f.d + i);
              const double want = ElementAt(oa.data(), out_dtype, one_at);
              const double got = ElementAt(gathered.data(), out_dtype, ring_at);
              diff = std::max(diff, std::fabs(got - want));
              norm = std::max(norm, std::fabs(want));
            }
      difference = norm > 0 ? diff / norm : diff;
    }
  }
  if (rank != 0) return;

  const char* name = f.split_kv ? "split-KV" : "ring";
  const double tolerance = Tolerance(dtype, nk_total);
  if (f.json) {
    nlohmann::json records = nlohmann::json::array();
    auto record = [&](const char* impl, int processes, double s, int reps) {
      records.push_back({{"impl", impl}, {"dtype", f.dtype}, {"n", nk_total}, {"nq", nq_total},
                         {"d", f.d}, {"heads", f.heads}, {"kv_heads", kv_heads},
                         {"causal", f.causal}, {"ranks", processes},
                         {"threads", processes == 1 ? ranks * f.threads : f.threads},
                         {"sharding", f.zigzag ? "zigzag" : "contiguous"}, {"median_s", s},
                         {"gflops", flops / s / 1e9}, {"reps", reps}});
    };
    record(f.split_kv ? "split_kv" : "ring", ranks, ring_s, ring_reps);
    records.back()["peak_rss_mib"] = memory[0];  // the largest rank's, after the ring's runs
    records.back()["shards_mib"] = memory[1];
    if (f.baseline) {
      record("fused", 1, single_s, single_reps);
      records.back()["ring_difference"] = difference;
    }
    std::cout << records.dump(2) << "\n";
  } else {
    std::cout << "moa ring: " << f.dtype << ", heads " << f.heads << " (kv " << kv_heads
              << "), nq " << nq_total << ", nk " << nk_total << ", d " << f.d
              << (f.causal ? ", causal (bottom-right)" : "") << "\n";
    std::cout << std::left << std::setw(34) << "path" << std::right << std::setw(12) << "median_s"
              << std::setw(10) << "GFLOP/s" << std::setw(8) << "reps" << "\n";
    auto row = [&](const std::string& path, double s, int reps) {
      std::cout << std::left << std::setw(34) << path << std::right << std::setw(12)
                << std::setprecision(4) << s << std::setw(10) << std::fixed
                << std::setprecision(1) << flops / s / 1e9 << std::defaultfloat << std::setw(8)
                << reps << "\n";
    };
    row(std::string(f.split_kv ? "split-KV, " : "ring, ") + std::to_string(ranks) + " ranks x " +
            std::to_string(f.threads) + " thread(s)",
        ring_s, ring_reps);
    std::cout << std::fixed << std::setprecision(1) << name
              << " memory, largest rank: peak resident " << memory[0]
              << " MiB, its shards of q, k, v, out " << memory[1] << " MiB\n"
              << std::defaultfloat;
    if (f.baseline) {
      row("fused, 1 process x " + std::to_string(ranks * f.threads) + " thread(s)", single_s,
          single_reps);
      std::cout << name << " / one process time: " << std::setprecision(3) << ring_s / single_s
                << "\n" << name << " output vs one process: relative max-norm difference "
                << difference
                << (difference <= tolerance ? " (within " : " (OVER ") << tolerance
                << ")\n";
    }
  }
  UserCheck(!f.baseline || difference <= tolerance, "moa ring: the ", name,
            " output differs from one process's by ", difference, ", over the tolerance ",
            tolerance);
}

}  // namespace

void AddRing(CLI::App& app) {
  auto f = std::make_shared<RingFlags>();
  CLI::App* cmd = app.add_subcommand(
      "ring", "ring attention over MPI on a generated problem; start with mpiexec -n RANKS");
  cmd->add_option("--n", f->n, "global key rows (and query rows unless --nq)")
      ->capture_default_str();
  cmd->add_option("--nq", f->nq, "global query rows (default: --n)");
  cmd->add_option("--d", f->d, "head dim")->capture_default_str();
  cmd->add_option("--heads", f->heads, "query heads")->capture_default_str();
  cmd->add_option("--kv-heads", f->kv_heads, "key/value heads (default: --heads)");
  cmd->add_option("--dtype", f->dtype, "float64, float32 or bfloat16")->capture_default_str();
  cmd->add_flag("--causal", f->causal, "causal, bottom-right (top-left when nq = n)");
  cmd->add_flag("--zigzag", f->zigzag,
                "zigzag shards (chunks r and 2P-1-r of 2P): causal work shared evenly");
  cmd->add_flag("--split-kv", f->split_kv,
                "split-KV instead of the ring: every rank holds all the queries, the keys are "
                "spread (decoding; try --nq 1)");
  cmd->add_option("--threads", f->threads, "kernel threads per rank")->capture_default_str();
  cmd->add_option("--min-time", f->min_time, "seconds of repeats per path")->capture_default_str();
  cmd->add_flag("!--no-baseline", f->baseline,
                "skip the one-process run on rank 0 (its timing and the check of the output)");
  cmd->add_flag("--json", f->json, "print JSON records instead of the table");
  cmd->callback([f] {
    try {
      RunRing(*f);
    } catch (...) {
      int initialized = 0;
      MPI_Initialized(&initialized);
      if (initialized) MPI_Finalize();  // every rank reports the error itself; none aborts
      throw;
    }
    MPI_Finalize();
  });
}

}  // namespace moa::cli
