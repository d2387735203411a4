// moa onf (tests only) — how the compiler's tests compare two float64 results: the max-norm of
// the difference over the max-norm of the reference. Where the reference is not finite (a fully
// masked row gives −∞ scores and 0/0 = NaN), the result must be the same non-finite value, or the
// error is +∞: a NaN never slips through a comparison.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace moa {

inline double MaxRelativeError(const std::vector<double>& got, const std::vector<double>& want) {
  constexpr double kMismatch = std::numeric_limits<double>::infinity();
  if (got.size() != want.size()) return kMismatch;
  double diff = 0, scale = 0;
  for (size_t k = 0; k < want.size(); ++k) {
    const double g = got[k], w = want[k];
    if (!std::isfinite(w)) {
      if (std::isnan(w) ? !std::isnan(g) : g != w) return kMismatch;
      continue;
    }
    if (!std::isfinite(g)) return kMismatch;
    diff = std::max(diff, std::fabs(g - w));
    scale = std::max(scale, std::fabs(w));
  }
  return scale > 0 ? diff / scale : diff;
}

}  // namespace moa
