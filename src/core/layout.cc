#include "moa/layout.h"

#include "moa/error.h"

namespace moa {

std::string ToString(Layout layout) {
  return layout == Layout::kRowMajor ? "row-major" : "column-major";
}

Index Strides(const Index& s, Layout layout) {
  const size_t d = s.size();
  Index stride(d, 1);
  if (layout == Layout::kRowMajor) {
    for (size_t j = d; j-- > 1;) stride[j - 1] = stride[j] * s[j];
  } else {
    for (size_t j = 1; j < d; ++j) stride[j] = stride[j - 1] * s[j - 1];
  }
  return stride;
}

int64_t Gamma(const Index& i, const Index& s, Layout layout) {
  UserCheck(i.size() == s.size(), "gamma needs a full index: index ", ToString(i), " has ",
            i.size(), " entries but shape ", ToString(s), " has ", s.size(), " axes");
  const Index stride = Strides(s, layout);
  int64_t x = 0;
  for (size_t j = 0; j < s.size(); ++j) {
    UserCheck(0 <= i[j] && i[j] < s[j], "gamma: index ", ToString(i), " is out of bounds for shape ",
              ToString(s), " (axis ", j, " needs 0 <= i < ", s[j], ")");
    x += i[j] * stride[j];
  }
  return x;
}

Index GammaInverse(int64_t x, const Index& s, Layout layout) {
  const int64_t total = Product(s);
  UserCheck(0 <= x && x < total, "gamma inverse: offset ", x, " is out of bounds for shape ",
            ToString(s), " (needs 0 <= x < ", total, ")");
  Index i(s.size(), 0);
  // Peel the fastest-varying axis first: the last one in row-major, the first in column-major.
  for (size_t n = 0; n < s.size(); ++n) {
    const size_t j = layout == Layout::kRowMajor ? s.size() - 1 - n : n;
    i[j] = x % s[j];
    x /= s[j];
  }
  return i;
}

}  // namespace moa
