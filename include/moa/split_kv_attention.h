// moa — split-KV attention over MPI (stage: ring, public API).
// In: the same queries on every rank, each rank's shard of k and v along the sequence, and
// AttentionOptions as for moa::Attention. Out: the whole attention output (and log-sum-exp) on
// every rank. Built with moa_ring (include/moa/ring_attention.h), where CMake finds MPI.
#pragma once

#include <mpi.h>

#include "moa/attention.h"

namespace moa {

// Attention of queries every rank holds over keys and values spread across the ranks of `comm`:
// decoding against a KV cache too long for one machine (flash-decoding's split-KV, with the
// splits on ranks). Collective: every rank of comm calls it.
//
// q (B, Hq, NQ, dk), out (B, Hq, NQ, dv) and options.lse are whole on every rank, and q must be
// the same on every rank (it is not compared). Rank r's k (B, Hkv, nk_r, dk) and v
// (B, Hkv, nk_r, dv) hold global key rows nk_0 + ... + nk_{r-1} onwards; shards may differ in
// length (each at least 1 row). Options as moa::Attention over the NK keys of all ranks:
// is_causal by global position (bottom-right: NK - NQ, decoding's usual alignment), a mask over
// (B, Hq, NQ, NK) or broadcastable to it. Batch, heads, head dims, NQ, dtypes and options must
// be the same on every rank.
//
// Each rank computes its keys' partial (o, lse) with the kernels; one reduction whose operation
// is the online-softmax monoid (merge_partial.h) combines them in rank order, and a broadcast
// gives every rank the same result, bit for bit. Memory per rank besides the caller's tensors:
// two (B, Hq, NQ, dv + 1) buffers in the accumulator type. Throws moa::Error on every rank when
// the arguments on any rank are invalid or disagree, naming the rank and the argument.
void SplitKvAttention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                      const AttentionOptions& options, MPI_Comm comm);

}  // namespace moa
