// Tests of ClassifyCausalBlock against the causal guard evaluated key by key.
#include "ring/causal_block.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace moa::internal {
namespace {

TEST(CausalBlockTest, AgreesWithTheGuardKeyByKey) {
  int64_t kinds[3] = {0, 0, 0};
  for (int64_t q_begin : {0, 1, 5, 17})
    for (int64_t nq : {1, 2, 7})
      for (int64_t k_begin : {0, 3, 9, 20})
        for (int64_t nk : {1, 4, 11})
          for (int64_t global_offset : {-9, -1, 0, 2, 13}) {
            const CausalBlock block = ClassifyCausalBlock(q_begin, nq, k_begin, nk, global_offset);
            ++kinds[block.kind];
            int64_t seen = 0;
            for (int64_t i = 0; i < nq; ++i)
              for (int64_t j = 0; j < nk; ++j) {
                const bool sees = k_begin + j <= q_begin + i + global_offset;
                seen += sees;
                if (block.kind == CausalBlock::kCut) {
                  EXPECT_EQ(sees, j <= i + block.offset)
                      << q_begin << " " << nq << " " << k_begin << " " << nk << " "
                      << global_offset;
                }
              }
            const int64_t want_seen = block.kind == CausalBlock::kHidden ? 0
                                      : block.kind == CausalBlock::kShown ? nq * nk
                                                                          : -1;
            if (want_seen >= 0) {
              EXPECT_EQ(seen, want_seen);
            } else {
              EXPECT_TRUE(seen > 0 && seen < nq * nk);
            }
          }
  for (int64_t count : kinds) EXPECT_GT(count, 0);  // every kind was met
}

TEST(CausalBlockTest, ExtremePositionsDoNotOverflow) {
  const int64_t big = int64_t{1} << 62;
  EXPECT_EQ(ClassifyCausalBlock(big, 1, 0, 1, big).kind, CausalBlock::kShown);
  EXPECT_EQ(ClassifyCausalBlock(0, 1, big, 1, -big).kind, CausalBlock::kHidden);
  const CausalBlock cut = ClassifyCausalBlock(big - 4, 8, big, 8, 0);
  EXPECT_EQ(cut.kind, CausalBlock::kCut);
  EXPECT_EQ(cut.offset, -4);
}

}  // namespace
}  // namespace moa::internal
