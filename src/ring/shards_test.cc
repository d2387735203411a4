// Tests of the shard geometry: every global row in exactly one shard, local rows in order, and
// zigzag shards sharing causal work evenly.
#include "ring/shards.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace moa::internal {
namespace {

// Checks that the ranks' segments cover [0, total) once each, with local rows consecutive.
void ExpectTiling(const std::vector<std::vector<Segment>>& shards, int64_t total) {
  std::vector<int> owners(total, 0);
  for (const auto& shard : shards) {
    int64_t local = 0;
    for (const Segment& s : shard) {
      EXPECT_EQ(s.local, local);
      EXPECT_GE(s.rows, 1);
      local += s.rows;
      for (int64_t g = s.global; g < s.global + s.rows; ++g) ++owners[g];
    }
  }
  for (int64_t g = 0; g < total; ++g) EXPECT_EQ(owners[g], 1) << "row " << g;
}

TEST(ShardsTest, ContiguousShardsFollowTheRanks) {
  const std::vector<int64_t> lengths = {5, 1, 7};
  std::vector<std::vector<Segment>> shards;
  for (int r = 0; r < 3; ++r) shards.push_back(ContiguousSegments(lengths, r));
  EXPECT_EQ(shards[2][0].global, 6);
  ExpectTiling(shards, 13);
}

TEST(ShardsTest, ZigzagShardsTileAndShareCausalWork) {
  for (int ranks : {1, 2, 3, 4, 7})
    for (int64_t total : {2 * int64_t{ranks}, 2 * int64_t{ranks} + 1, int64_t{97}, int64_t{1000}}) {
      std::vector<std::vector<Segment>> shards;
      std::vector<int64_t> work;  // (query, key) pairs a causal mask shows, query rows vs all keys
      for (int r = 0; r < ranks; ++r) {
        shards.push_back(ZigzagSegments(total, ranks, r));
        int64_t pairs = 0;
        for (const Segment& s : shards.back()) {
          for (int64_t g = s.global; g < s.global + s.rows; ++g) pairs += g + 1;
        }
        work.push_back(pairs);
      }
      ExpectTiling(shards, total);
      const auto [lo, hi] = std::minmax_element(work.begin(), work.end());
      // Chunks differ by at most a row, and a row sees at most `total` keys: the ranks' work
      // differs by at most two rows' worth (of total^2 / 2P each; contiguous shards: 2P - 1 times).
      EXPECT_LE(*hi - *lo, 2 * total) << ranks << " ranks, " << total;
    }
}

}  // namespace
}  // namespace moa::internal
