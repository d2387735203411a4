// Tests of moa::RingAttention on however many ranks mpiexec starts (ctest: 1, 2 and 3). Every
// rank builds the same global problem from one seed, passes its shards (views into the global
// tensors) and checks its rows against the float64 reference of the whole problem
// (kernels/attention_test_util.h). Checks between collective calls are EXPECTs, never ASSERTs, so
// that a failure on one rank cannot leave the others waiting.
#include "moa/ring_attention.h"
#include "moa/split_kv_attention.h"

#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention_test_util.h"
#include "moa/error.h"
#include "ring/rows.h"
#include "ring/shards.h"

namespace moa {
namespace {

using testing_util::HostTensor;
using testing_util::Layout;
using testing_util::MakeTensor;

int Rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int Ranks() {
  int p = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &p);
  return p;
}

enum class Split { kEven, kUneven, kZigzag };
enum class MaskKind { kNone, kBool, kAdditive };

// The global rows of this rank's shard of `total` rows: contiguous, even (the first ranks one
// longer) or uneven (the last rank a single row, rank 0 the most); or zigzag (shards.h).
std::vector<int64_t> ShardRows(int64_t total, Split split) {
  const int64_t p = Ranks(), rank = Rank();
  std::vector<int64_t> rows;
  if (split == Split::kZigzag) {
    for (const internal::Segment& s : internal::ZigzagSegments(total, static_cast<int>(p), rank)) {
      for (int64_t g = s.global; g < s.global + s.rows; ++g) rows.push_back(g);
    }
    return rows;
  }
  std::vector<int64_t> n(p);
  for (int64_t r = 0; r < p; ++r) n[r] = internal::EvenChunk(total, p, r).rows;
  if (split == Split::kUneven && p > 1) {
    const int64_t spare = n[p - 1] - 1;
    n[p - 1] = 1;
    n[0] += spare;
  }
  int64_t begin = 0;
  for (int64_t r = 0; r < rank; ++r) begin += n[r];
  for (int64_t g = begin; g < begin + n[rank]; ++g) rows.push_back(g);
  return rows;
}

// The given rows of dimension `dim` of a tensor: a view into it where they are consecutive,
// else a copy in the same layout.
HostTensor Rows(const HostTensor& t, int dim, const std::vector<int64_t>& rows, Layout layout) {
  const bool consecutive = rows.back() - rows.front() + 1 == static_cast<int64_t>(rows.size());
  if (consecutive) {
    HostTensor view;
    view.view = t.view;
    view.view.data = static_cast<unsigned char*>(t.view.data) +
                     rows.front() * t.view.strides[dim] * DTypeSize(t.view.dtype);
    view.view.sizes[dim] = static_cast<int64_t>(rows.size());
    return view;
  }
  std::vector<int64_t> sizes(t.view.sizes.begin(), t.view.sizes.begin() + t.view.rank);
  sizes[dim] = static_cast<int64_t>(rows.size());
  HostTensor copy = MakeTensor(t.view.dtype, sizes, t.view.rank == 4 ? layout : Layout::kBhsd);
  std::vector<int64_t> idx(4, 0), from(4, 0);
  auto size = [&](int d) { return d < t.view.rank ? sizes[d] : 1; };
  for (idx[0] = 0; idx[0] < size(0); ++idx[0])
    for (idx[1] = 0; idx[1] < size(1); ++idx[1])
      for (idx[2] = 0; idx[2] < size(2); ++idx[2])
        for (idx[3] = 0; idx[3] < size(3); ++idx[3]) {
          from = idx;
          from[dim] = rows[idx[dim]];
          copy.Set(idx.data(), t.Get(from.data()));
        }
  return copy;
}

struct RingCase {
  DType dtype = DType::kFloat32;
  DType out_dtype = DType::kFloat32;
  int64_t batch = 1, hq = 2, hkv = 1, nq = 29, nk = 29, dk = 16, dv = 12;
  Split q_split = Split::kEven, k_split = Split::kEven;
  Layout layout = Layout::kBhsd;
  bool causal = false, bottom_right = false;
  MaskKind mask = MaskKind::kNone;
  std::vector<int64_t> mask_sizes;  // over (batch, hq, NQ, NK); empty: full
  bool lse = true;
  std::optional<double> scale;
  bool nan_query = false;  // a NaN in global query row 0 of head 0
  bool split_kv = false;   // SplitKvAttention: every rank holds all the queries
  int threads = 1;
};

std::string Describe(const RingCase& c) {
  return std::string(DTypeName(c.dtype)) + "->" + DTypeName(c.out_dtype) + " nq " +
         std::to_string(c.nq) + " nk " + std::to_string(c.nk) + (c.causal ? " causal" : "") +
         (c.bottom_right ? " bottom-right" : "") + (c.q_split == Split::kZigzag ? " zigzag" : "") +
         (c.split_kv ? " split-KV" : "") + " ranks " + std::to_string(Ranks());
}

double Tolerance(DType d) {
  return d == DType::kFloat64 ? 1e-12 : d == DType::kFloat32 ? 1e-5 : 2e-2;
}

// Runs one case on every rank and checks this rank's rows.
void CheckRing(const RingCase& c, unsigned seed = 11) {
  SCOPED_TRACE(Describe(c));
  std::mt19937 rng(seed);
  HostTensor q = MakeTensor(c.dtype, {c.batch, c.hq, c.nq, c.dk}, c.layout);
  HostTensor k = MakeTensor(c.dtype, {c.batch, c.hkv, c.nk, c.dk}, c.layout);
  HostTensor v = MakeTensor(c.dtype, {c.batch, c.hkv, c.nk, c.dv}, c.layout);
  testing_util::FillRandom(&q, &rng, -1.5, 1.5);
  testing_util::FillRandom(&k, &rng, -1.5, 1.5);
  testing_util::FillRandom(&v, &rng, -1, 1);
  if (c.nan_query) q.Set(std::vector<int64_t>{0, 0, 0, 3}.data(), NAN);
  HostTensor mask;
  if (c.mask != MaskKind::kNone) {
    const std::vector<int64_t> sizes =
        c.mask_sizes.empty() ? std::vector<int64_t>{c.batch, c.hq, c.nq, c.nk} : c.mask_sizes;
    mask = MakeTensor(c.mask == MaskKind::kBool ? DType::kBool
                      : c.dtype == DType::kBFloat16 ? DType::kFloat32 : c.dtype,
                      sizes, Layout::kBhsd);
    std::uniform_real_distribution<double> u(0, 1);
    const int r = mask.view.rank;
    std::vector<int64_t> idx(4, 0);
    auto size = [&](int d) { return d < r ? mask.view.sizes[d] : 1; };
    for (idx[0] = 0; idx[0] < size(0); ++idx[0])
      for (idx[1] = 0; idx[1] < size(1); ++idx[1])
        for (idx[2] = 0; idx[2] < size(2); ++idx[2])
          for (idx[3] = 0; idx[3] < size(3); ++idx[3]) {
            const double x = u(rng);
            // Bool: 70% attend; additive: -inf on 20%; query rows 1, 4, 7, ... fully masked.
            double value = c.mask == MaskKind::kBool ? x < 0.7 : x < 0.2 ? -INFINITY : 4 * x - 2;
            if (r >= 2 && size(r - 2) > 1 && idx[r - 2] % 3 == 1) {
              value = c.mask == MaskKind::kBool ? 0 : -INFINITY;
            }
            mask.Set(idx.data(), value);
          }
  }

  std::vector<int64_t> q_rows = ShardRows(c.nq, c.q_split);
  if (c.split_kv) {
    q_rows.resize(static_cast<size_t>(c.nq));
    for (int64_t i = 0; i < c.nq; ++i) q_rows[i] = i;
  }
  const std::vector<int64_t> k_rows = ShardRows(c.nk, c.k_split);
  const int64_t nq = static_cast<int64_t>(q_rows.size());
  HostTensor out = MakeTensor(c.out_dtype, {c.batch, c.hq, nq, c.dv}, c.layout);
  const DType lse_dtype = c.dtype == DType::kFloat64 ? DType::kFloat64 : DType::kFloat32;
  HostTensor lse = MakeTensor(lse_dtype, {c.batch, c.hq, nq}, Layout::kBhsd);
  AttentionOptions o;
  o.is_causal = c.causal;
  o.causal_align = c.bottom_right ? CausalAlign::kBottomRight : CausalAlign::kTopLeft;
  o.scale = c.scale;
  o.num_threads = c.threads;
  if (c.lse) o.lse = lse.view;
  HostTensor mask_rows;  // this rank's query rows of the mask, where it has a row per query
  if (c.mask != MaskKind::kNone) {
    const int r = mask.view.rank;
    o.mask = mask.view;
    if (r >= 2 && mask.view.sizes[r - 2] == c.nq) {
      mask_rows = Rows(mask, r - 2, q_rows, Layout::kBhsd);
      o.mask = mask_rows.view;
    }
  }
  const HostTensor q_shard = Rows(q, 2, q_rows, c.layout), k_shard = Rows(k, 2, k_rows, c.layout);
  const HostTensor v_shard = Rows(v, 2, k_rows, c.layout);
  const RingSharding sharding =
      c.q_split == Split::kZigzag ? RingSharding::kZigzag : RingSharding::kContiguous;
  if (c.split_kv) {
    SplitKvAttention(q_shard.view, k_shard.view, v_shard.view, out.view, o, MPI_COMM_WORLD);
  } else {
    RingAttention(q_shard.view, k_shard.view, v_shard.view, out.view, o, MPI_COMM_WORLD,
                  sharding);
  }

  const double scale = c.scale ? *c.scale : 1.0 / std::sqrt(static_cast<double>(c.dk));
  const testing_util::Reference ref = testing_util::ReferenceAttention(
      q, k, v, c.mask != MaskKind::kNone ? &mask : nullptr, c.causal, c.bottom_right, scale);
  double ref_norm = 0, diff = 0, lse_diff = 0;
  for (double x : ref.out) ref_norm = std::max(ref_norm, std::isnan(x) ? 0.0 : std::fabs(x));
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.hq; ++h)
      for (int64_t i = 0; i < nq; ++i) {
        const int64_t row = (b * c.hq + h) * c.nq + q_rows[i];
        for (int64_t e = 0; e < c.dv; ++e) {
          const double want = ref.out[row * c.dv + e], got = out.Get4(b, h, i, e);
          if (std::isnan(want) || std::isnan(got)) {
            EXPECT_TRUE(std::isnan(want) && std::isnan(got))
                << "row " << q_rows[i] << " col " << e << ": got " << got << ", want " << want;
          } else {
            diff = std::max(diff, std::fabs(got - want));
          }
        }
        if (!c.lse) continue;
        const int64_t at[3] = {b, h, i};
        const double want = ref.lse[row], got = lse.Get(at);
        if (std::isinf(want) || std::isnan(want) || std::isinf(got) || std::isnan(got)) {
          EXPECT_TRUE(want == got || (std::isnan(want) && std::isnan(got)))
              << "lse row " << q_rows[i] << ": got " << got << ", want " << want;
        } else {
          lse_diff = std::max(lse_diff, std::fabs(got - want) / std::max(1.0, std::fabs(want)));
        }
      }
  EXPECT_LE(ref_norm > 0 ? diff / ref_norm : diff, Tolerance(c.dtype)) << "output";
  EXPECT_LE(lse_diff, Tolerance(c.dtype)) << "lse";
}

const std::pair<DType, DType> kTypes[] = {{DType::kFloat64, DType::kFloat64},
                                          {DType::kFloat32, DType::kFloat32},
                                          {DType::kBFloat16, DType::kBFloat16},
                                          {DType::kBFloat16, DType::kFloat32}};

TEST(RingAttentionTest, EveryDtypeAndLayout) {
  for (auto [in, out] : kTypes)
    for (Layout layout : {Layout::kBhsd, Layout::kBshd, Layout::kStrided}) {
      RingCase c;
      c.dtype = in, c.out_dtype = out, c.layout = layout;
      c.batch = 2;
      CheckRing(c);
    }
}

TEST(RingAttentionTest, CausalBothAlignmentsAndUnevenShards) {
  for (auto [in, out] : kTypes)
    for (bool bottom_right : {false, true})
      for (auto [nq, nk] : {std::pair<int64_t, int64_t>{29, 29}, {13, 40}, {40, 13}})
        for (Split split : {Split::kEven, Split::kUneven}) {
          RingCase c;
          c.dtype = in, c.out_dtype = out;
          c.nq = nq, c.nk = nk;
          c.causal = true, c.bottom_right = bottom_right;
          c.q_split = split;
          c.k_split = split == Split::kEven ? Split::kUneven : Split::kEven;
          CheckRing(c);
        }
}

TEST(RingAttentionTest, MasksWithEveryBroadcast) {
  for (auto [in, out] : kTypes)
    for (MaskKind kind : {MaskKind::kBool, MaskKind::kAdditive})
      for (std::vector<int64_t> sizes : {std::vector<int64_t>{}, {23, 31}, {1, 31}, {23, 1},
                                         {1, 2, 1, 31}, {2, 23, 31}}) {
        RingCase c;
        c.dtype = in, c.out_dtype = out;
        c.nq = 23, c.nk = 31;
        c.hq = 2;
        c.mask = kind;
        c.mask_sizes = sizes;
        c.causal = sizes.size() == 2;  // the mask and the causal limit together
        c.k_split = Split::kUneven;
        CheckRing(c);
      }
}

// Zigzag shards (two chunks per rank, in a copy), with causality both ways and masks.
TEST(RingAttentionTest, ZigzagShards) {
  for (auto [in, out] : kTypes)
    for (auto [nq, nk] : {std::pair<int64_t, int64_t>{29, 29}, {13, 40}, {40, 13}})
      for (int variant = 0; variant < 4; ++variant) {
        RingCase c;
        c.dtype = in, c.out_dtype = out;
        c.nq = nq, c.nk = nk;
        c.q_split = c.k_split = Split::kZigzag;
        c.causal = variant > 0;
        c.bottom_right = variant == 2;
        c.mask = variant == 3 ? MaskKind::kAdditive : MaskKind::kNone;
        c.layout = variant == 3 ? Layout::kBshd : Layout::kBhsd;
        CheckRing(c);
      }
}

// One query row per rank against many keys: the few-query path on every rank, GQA heads grouped.
TEST(RingAttentionTest, DecodingWithGqa) {
  for (auto [in, out] : kTypes)
    for (bool causal : {false, true}) {
      RingCase c;
      c.dtype = in, c.out_dtype = out;
      c.hq = 4, c.hkv = 2;
      c.nq = Ranks(), c.nk = 150;
      c.dk = 32, c.dv = 24;
      c.causal = causal, c.bottom_right = true;
      c.scale = 0.2;
      CheckRing(c);
    }
}

// Shards longer than the kernels' tiles, on two threads per rank.
TEST(RingAttentionTest, LargerThanATile) {
  for (DType dtype : {DType::kFloat64, DType::kFloat32, DType::kBFloat16})
    for (bool causal : {false, true}) {
      RingCase c;
      c.dtype = c.out_dtype = dtype;
      c.nq = 301, c.nk = 397, c.dk = 64, c.dv = 64;
      c.causal = causal;
      c.threads = 2;
      CheckRing(c);
    }
}

// Every rank holds the queries, the keys are spread: decoding against a sharded KV cache.
TEST(RingAttentionTest, SplitKvForEveryOption) {
  for (auto [in, out] : kTypes)
    for (int64_t nq : {1, 3, 17})
      for (int variant = 0; variant < 5; ++variant) {
        RingCase c;
        c.dtype = in, c.out_dtype = out;
        c.split_kv = true;
        c.hq = 4, c.hkv = 2;
        c.nq = nq, c.nk = 100;
        c.dk = 24, c.dv = 20;
        c.k_split = Split::kUneven;
        c.causal = variant == 1 || variant == 2 || variant == 4;
        c.bottom_right = variant != 2;
        c.mask = variant >= 3 ? MaskKind::kBool : MaskKind::kNone;
        c.layout = variant == 3 ? Layout::kStrided : Layout::kBhsd;
        CheckRing(c);
      }
}

TEST(RingAttentionTest, NanQueryGivesItsRowNan) {
  for (auto [in, out] : kTypes)
    for (bool split_kv : {false, true}) {
      RingCase c;
      c.dtype = in, c.out_dtype = out;
      c.nan_query = true;
      c.causal = true;
      c.split_kv = split_kv;
      CheckRing(c);
    }
}

// The message of the moa::Error a collective call threw, "" if none; checks that every rank threw
// or none did.
std::string ErrorOnEveryRank(const std::function<void()>& call) {
  std::string message;
  try {
    call();
  } catch (const Error& e) {
    message = e.what();
  }
  const int threw = message.empty() ? 0 : 1;
  int total = 0;
  MPI_Allreduce(&threw, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_TRUE(total == 0 || total == Ranks()) << total << " of " << Ranks() << " ranks threw";
  return message;
}

// The ring's messages and collectives run on a duplicate of the caller's communicator: a message
// the caller has in flight on it, with the tag the ring's first message uses, is neither taken
// by the ring nor spoilt.
TEST(RingAttentionTest, CallersMessagesInFlightAreLeftAlone) {
  const int ranks = Ranks(), rank = Rank();
  std::vector<double> sent(16, 3.5), received(16, 0);
  MPI_Request request = MPI_REQUEST_NULL;
  if (ranks > 1 && rank == 0) {
    MPI_Isend(sent.data(), 16, MPI_DOUBLE, 1, 0, MPI_COMM_WORLD, &request);
  }
  RingCase c;
  c.dtype = c.out_dtype = DType::kFloat64;
  CheckRing(c);
  if (ranks > 1 && rank == 1) {
    MPI_Recv(received.data(), 16, MPI_DOUBLE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    EXPECT_EQ(received, sent);
  }
  MPI_Wait(&request, MPI_STATUS_IGNORE);
}

TEST(RingAttentionTest, BadArgumentsOnOneRankFailEveryRank) {
  const int last = Ranks() - 1;
  const bool on_last = Rank() == last;
  HostTensor q = MakeTensor(DType::kFloat32, {1, 2, 5, 8}, Layout::kBhsd);
  HostTensor k = MakeTensor(DType::kFloat32, {1, 2, 6, 8}, Layout::kBhsd);
  HostTensor v = MakeTensor(DType::kFloat32, {1, 2, 6, 4}, Layout::kBhsd);
  HostTensor out = MakeTensor(DType::kFloat32, {1, 2, 5, 4}, Layout::kBhsd);
  HostTensor wide_q = MakeTensor(DType::kFloat32, {1, 2, 5, 16}, Layout::kBhsd);
  HostTensor short_out = MakeTensor(DType::kFloat32, {1, 2, 4, 4}, Layout::kBhsd);
  std::mt19937 rng(1);
  for (HostTensor* t : {&q, &k, &v, &wide_q}) testing_util::FillRandom(t, &rng, -1, 1);
  const std::string last_rank = "rank " + std::to_string(last) + " of " + std::to_string(Ranks());

  // A local mistake: out one row short on the last rank.
  std::string message = ErrorOnEveryRank([&] {
    RingAttention(q.view, k.view, v.view, on_last ? short_out.view : out.view, {}, MPI_COMM_WORLD);
  });
  EXPECT_NE(message.find(last_rank), std::string::npos) << message;
  EXPECT_NE(message.find("argument 'out': expected sizes (1, 2, 5, 4)"), std::string::npos)
      << message;

  // Shards that disagree: another head dim on the last rank (on one rank, its k disagrees).
  message = ErrorOnEveryRank([&] {
    HostTensor wide_k = MakeTensor(DType::kFloat32, {1, 2, 6, 16}, Layout::kBhsd);
    testing_util::FillRandom(&wide_k, &rng, -1, 1);
    RingAttention(on_last ? wide_q.view : q.view, on_last ? wide_k.view : k.view, v.view,
                  out.view, {}, MPI_COMM_WORLD);
  });
  if (Ranks() > 1) {
    EXPECT_NE(message.find("same dim of 'q' on every rank, got 16 on rank " +
                           std::to_string(last)),
              std::string::npos)
        << message;
  } else {
    EXPECT_TRUE(message.empty()) << message;  // one rank: nothing to disagree with; runs
  }

  // A mask over this rank's keys only, where the ring needs all of them.
  if (Ranks() > 1) {
    HostTensor mask = MakeTensor(DType::kBool, {5, 6}, Layout::kBhsd);
    AttentionOptions o;
    o.mask = mask.view;
    message = ErrorOnEveryRank(
        [&] { RingAttention(q.view, k.view, v.view, out.view, o, MPI_COMM_WORLD); });
    EXPECT_NE(message.find("argument 'mask'"), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(6 * Ranks())), std::string::npos) << message;
  }

  // A bad option on the last rank, found by the checks before the ring turns.
  message = ErrorOnEveryRank([&] {
    AttentionOptions o;
    if (on_last) o.num_threads = -1;
    RingAttention(q.view, k.view, v.view, out.view, o, MPI_COMM_WORLD);
  });
  EXPECT_NE(message.find(last_rank), std::string::npos) << message;
  EXPECT_NE(message.find("num_threads"), std::string::npos) << message;

  // Zigzag sharding with shards of other lengths (the chunks of 11 rows differ from an even split).
  if (Ranks() > 1) {
    HostTensor q11 = MakeTensor(DType::kFloat32, {1, 2, 11, 8}, Layout::kBhsd);
    testing_util::FillRandom(&q11, &rng, -1, 1);
    const std::vector<int64_t> rows = ShardRows(11, Split::kEven);
    const HostTensor q_even = Rows(q11, 2, rows, Layout::kBhsd);
    HostTensor out_even =
        MakeTensor(DType::kFloat32, {1, 2, q_even.view.sizes[2], 4}, Layout::kBhsd);
    message = ErrorOnEveryRank([&] {
      RingAttention(q_even.view, k.view, v.view, out_even.view, {}, MPI_COMM_WORLD,
                    RingSharding::kZigzag);
    });
    EXPECT_NE(message.find("expected zigzag shards of"), std::string::npos) << message;
  }

  // K and V viewed with stride 0 as longer than any memory: an error where their buffers are
  // sized (an allocation refused, or sizes past 64 bits), never a short buffer. One rank computes
  // on the views as they are: nothing to size.
  if (Ranks() > 1) {
    Tensor endless_k = k.view, endless_v = v.view;
    for (Tensor* t : {&endless_k, &endless_v}) {
      t->sizes[2] = int64_t{1} << 55;
      t->strides = {0, 0, 0, 1};
    }
    message = ErrorOnEveryRank([&] {
      RingAttention(q.view, endless_k, endless_v, out.view, {}, MPI_COMM_WORLD);
    });
    EXPECT_NE(message.find("out of memory"), std::string::npos) << message;
  }

  // A bad option on a rank that computes nothing: bottom-right causality hides every key from
  // rank 0's queries (4 query rows and 1 key row per rank), so only the checks up front see it.
  {
    using internal::Slice;
    const Tensor k1 = Slice(k.view, 2, 0, 1), v1 = Slice(v.view, 2, 0, 1);
    message = ErrorOnEveryRank([&] {
      AttentionOptions o;
      o.is_causal = true;
      o.causal_align = CausalAlign::kBottomRight;
      if (Rank() == 0) o.block_q = 7, o.block_k = 32;
      RingAttention(Slice(q.view, 2, 0, 4), k1, v1, Slice(out.view, 2, 0, 4), o, MPI_COMM_WORLD);
    });
    EXPECT_NE(message.find("argument 'block_q'"), std::string::npos) << message;
  }

  // Split-KV with query rows that differ: the last rank one short.
  if (Ranks() > 1) {
    HostTensor q4 = MakeTensor(DType::kFloat32, {1, 2, 4, 8}, Layout::kBhsd);
    HostTensor out4 = MakeTensor(DType::kFloat32, {1, 2, 4, 4}, Layout::kBhsd);
    testing_util::FillRandom(&q4, &rng, -1, 1);
    message = ErrorOnEveryRank([&] {
      SplitKvAttention(on_last ? q4.view : q.view, k.view, v.view,
                       on_last ? out4.view : out.view, {}, MPI_COMM_WORLD);
    });
    EXPECT_NE(message.find("moa::split_kv_attention: expected the same seq of 'q' on every rank"),
              std::string::npos)
        << message;
  }

  // An intercommunicator (even ranks against odd ones): refused on every rank, before any call on
  // it, whose ranks and collectives would mean the other group.
  if (Ranks() > 1) {
    MPI_Comm half = MPI_COMM_NULL, inter = MPI_COMM_NULL;
    MPI_Comm_split(MPI_COMM_WORLD, Rank() % 2, Rank(), &half);
    MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, Rank() % 2 == 0 ? 1 : 0, 7, &inter);
    message = ErrorOnEveryRank([&] { RingAttention(q.view, k.view, v.view, out.view, {}, inter); });
    EXPECT_NE(message.find("expected an intracommunicator"), std::string::npos) << message;
    MPI_Comm_free(&inter);
    MPI_Comm_free(&half);
  }

  // No communicator (a local check: no collective call).
  try {
    RingAttention(q.view, k.view, v.view, out.view, {}, MPI_COMM_NULL);
    ADD_FAILURE() << "no error for MPI_COMM_NULL";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("argument 'comm'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace moa
