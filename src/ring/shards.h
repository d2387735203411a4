// moa — ring attention (stage: ring, where each rank's rows sit in the global sequence).
// In: the shard lengths of every rank, or the global length, and the sharding. Out: each rank's
// shard as runs of consecutive global rows (segments).
//
// Contiguous shards are one segment each, the ranks in order. Zigzag shards (the sequence cut into
// 2P chunks, rank r holding chunks r and 2P-1-r) are two: under a causal mask a rank's early
// chunk sees few keys and its late chunk many, so every rank has the same work where contiguous
// shards give the last rank 2P-1 times the first's.
#pragma once

#include <cstdint>
#include <vector>

namespace moa::internal {

// Global rows [global, global + rows) are the shard's local rows [local, local + rows).
struct Segment {
  int64_t global = 0, local = 0, rows = 0;
};

// Rank `rank`'s one segment when the ranks hold lengths[0], lengths[1], ... rows in order.
std::vector<Segment> ContiguousSegments(const std::vector<int64_t>& lengths, int rank);

// Chunk c of `total` rows cut into `chunks` chunks whose lengths differ by at most one, the first
// ones longer: its first global row and length.
Segment EvenChunk(int64_t total, int64_t chunks, int64_t c);

// Rank `rank`'s two segments (chunks rank and 2 ranks - 1 - rank of 2 ranks chunks) of `total`
// rows, total >= 2 ranks.
std::vector<Segment> ZigzagSegments(int64_t total, int ranks, int rank);

}  // namespace moa::internal
