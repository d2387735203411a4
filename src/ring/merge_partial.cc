// moa — ring attention (stage: ring, the monoid on partial results). See merge_partial.h.
#include "ring/merge_partial.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace moa::internal {

template <typename A>
void MergePartial(int64_t rows, int64_t dv, A* o, A* lse, const A* o_b, const A* lse_b) {
  const A minus_inf = -std::numeric_limits<A>::infinity();
  for (int64_t r = 0; r < rows; ++r) {
    A* row = o + r * dv;
    const A* row_b = o_b + r * dv;
    const A l = lse[r], l_b = lse_b[r];
    if (l_b == minus_inf) continue;  // the identity: the block showed this row no key
    if (l == minus_inf) {
      for (int64_t e = 0; e < dv; ++e) row[e] = row_b[e];
      lse[r] = l_b;
      continue;
    }
    // Scaled by the larger lse, one weight is 1 and the other at most 1: neither overflows.
    const A top = std::isnan(l) || std::isnan(l_b) ? std::numeric_limits<A>::quiet_NaN()
                                                    : std::max(l, l_b);
    const A w = std::exp(l - top), w_b = std::exp(l_b - top);
    const A sum = w + w_b;
    const A c = w / sum, c_b = w_b / sum;
    for (int64_t e = 0; e < dv; ++e) row[e] = c * row[e] + c_b * row_b[e];
    lse[r] = top + std::log(sum);
  }
}

template void MergePartial<float>(int64_t, int64_t, float*, float*, const float*, const float*);
template void MergePartial<double>(int64_t, int64_t, double*, double*, const double*,
                                   const double*);

}  // namespace moa::internal
