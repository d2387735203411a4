// moa — attention across MPI ranks (stage: ring, where every rank's rows sit).
// In: each rank's q, k, v, out and options, the communicator, and how the ranks hold the
// sequences. Out: the placement every rank agrees on (each rank's query and key segments, the
// global lengths), after every check of every rank's arguments; or the same moa::Error on every
// rank. Shared by RingAttention (queries sharded) and SplitKvAttention (queries replicated).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "moa/attention.h"
#include "moa/ring_attention.h"
#include "ring/shards.h"

namespace moa::internal {

// A duplicate of the caller's communicator, freed (collectively) with this object: messages and
// collectives on it cannot match the caller's own, which may be in flight on the original
// (a ring's receive once took a message the caller had sent with the same tag).
class DuplicateComm {
 public:
  DuplicateComm() = default;
  explicit DuplicateComm(MPI_Comm original) { MPI_Comm_dup(original, &comm_); }
  DuplicateComm(DuplicateComm&& other) noexcept : comm_(other.comm_) {
    other.comm_ = MPI_COMM_NULL;
  }
  DuplicateComm& operator=(DuplicateComm&& other) noexcept {
    std::swap(comm_, other.comm_);
    return *this;
  }
  ~DuplicateComm() {
    if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }
  MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

struct Placement {
  DuplicateComm own;               // what comm is
  MPI_Comm comm = MPI_COMM_NULL;  // every message and collective of the call
  int rank = 0, size = 1;
  std::string who;  // "moa::ring_attention (rank r of P): "
  // Each rank's query and key rows as runs of global rows (shards.h), and its key row count.
  std::vector<std::vector<Segment>> q_segments, k_segments;
  std::vector<int64_t> nk;
  int64_t nq_total = 0, nk_total = 0;
  // Query i sees key j only where j <= i + causal_offset (global rows; with options.is_causal).
  int64_t causal_offset = 0;
};

enum class Queries {
  kSharded,     // each rank holds its own query rows (RingAttention), as `sharding` says
  kReplicated,  // every rank holds all the query rows (SplitKvAttention); keys contiguous
};

// Collective. `entry` names the function in messages ("moa::ring_attention").
Placement PlaceCollectively(const char* entry, const Tensor& q, const Tensor& k, const Tensor& v,
                            const Tensor& out, const AttentionOptions& options, MPI_Comm comm,
                            RingSharding sharding, Queries queries);

// The options of one block: queries qs against keys ks (segments of global rows) under the
// caller's options: the mask's rows and columns of the block, and the causal guard moved to the
// block's own indices. False where causality hides the whole block (nothing to compute).
bool BlockOptions(const Placement& place, const AttentionOptions& options, const Segment& qs,
                  const Segment& ks, AttentionOptions* block, std::optional<int64_t>* offset);

}  // namespace moa::internal
