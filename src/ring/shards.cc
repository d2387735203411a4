// moa — ring attention (stage: ring, where each rank's rows sit). See shards.h.
#include "ring/shards.h"

namespace moa::internal {

std::vector<Segment> ContiguousSegments(const std::vector<int64_t>& lengths, int rank) {
  int64_t begin = 0;
  for (int r = 0; r < rank; ++r) begin += lengths[r];
  return {Segment{begin, 0, lengths[rank]}};
}

Segment EvenChunk(int64_t total, int64_t chunks, int64_t c) {
  const int64_t base = total / chunks, extra = total % chunks;
  return Segment{c * base + (c < extra ? c : extra), 0, base + (c < extra ? 1 : 0)};
}

std::vector<Segment> ZigzagSegments(int64_t total, int ranks, int rank) {
  Segment early = EvenChunk(total, 2 * int64_t{ranks}, rank);
  Segment late = EvenChunk(total, 2 * int64_t{ranks}, 2 * int64_t{ranks} - 1 - rank);
  late.local = early.rows;
  return {early, late};
}

}  // namespace moa::internal
