// moa — ring attention over MPI (stage: ring, public API).
// In: each rank's shard of q, k and v along the sequence, and AttentionOptions as for
// moa::Attention. Out: each rank's rows of the attention output over the whole sequence, and
// optionally their log-sum-exp. Built when CMake finds MPI (Debian: libopenmpi-dev); link the
// target moa_ring.
#pragma once

#include <mpi.h>

#include "moa/attention.h"

namespace moa {

// How the ranks' shards tile the global sequences (queries and keys alike).
enum class RingSharding {
  // Rank r holds one run of rows, the ranks in order; shards may differ in length.
  kContiguous,
  // The sequences cut into 2P chunks whose lengths differ by at most one (the first ones longer);
  // rank r holds chunk r followed by chunk 2P-1-r. Under a causal mask every rank then does the
  // same work, where contiguous shards give the last rank 2P-1 times the first's. Needs at least
  // 2P query rows and 2P key rows.
  kZigzag,
};

// Sequence-parallel attention across the ranks of `comm` (ring attention: Liu, Zaharia and
// Abbeel, arXiv 2310.01889). Collective: every rank of comm calls it, with its shard.
//
// The global sequences are the shards put together as `sharding` says. Contiguous: rank r's q
// (B, Hq, nq_r, dk) holds global query rows nq_0 + ... + nq_{r-1} onwards, and its
// k (B, Hkv, nk_r, dk) and v (B, Hkv, nk_r, dv) global key rows nk_0 + ... + nk_{r-1} onwards;
// shards may differ in length (each at least 1 row). Zigzag: each shard holds its two chunks, in
// order. Batch, heads, head dims, dtypes, options and the sharding must be the same on every
// rank. out (and options.lse) receive this rank's query rows of the attention over all NQ
// queries and NK keys: what moa::Attention gives on the whole sequences, up to rounding (the
// partial results are added in another order). Options as moa::Attention, with global
// positions: is_causal compares global query and key indices (bottom-right: NK - NQ);
// options.mask holds this rank's query rows (in its local order) over all NK keys,
// broadcastable to (B, Hq, nq_r, NK); num_threads, impl, block_q, block_k and kv_splits apply
// to each rank's local computations.
//
// The K and V shards travel round the ring: at step s, rank r computes attention of its queries
// over the keys of rank r - s (mod P) while it sends those keys to rank r + 1 and receives the
// next from rank r - 1. Each step's output and log-sum-exp are merged into the running ones by the
// online-softmax monoid (merge_partial.h); blocks that causality hides entirely are skipped.
// Memory per rank besides the caller's tensors: with more than one rank, two K,V buffers the
// size of the largest shard (this rank's own is copied into one: sends need contiguous bytes);
// and two outputs of this rank's rows in the accumulator type (float64 for float64, else
// float32) with their LSE.
//
// MPI must be initialised; the kernels' threads never call MPI, so MPI_THREAD_FUNNELED suffices.
// Throws moa::Error on every rank when the arguments on any rank are invalid or disagree, naming
// the rank and the argument, so that no rank is left waiting in the ring.
void RingAttention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                   const AttentionOptions& options, MPI_Comm comm,
                   RingSharding sharding = RingSharding::kContiguous);

}  // namespace moa
