#include "moa/shape.h"

#include <sstream>

#include "moa/error.h"

namespace moa {

Shape ToShape(const Index& concrete) { return Shape(concrete.begin(), concrete.end()); }

Index Evaluate(const Shape& shape, const Bindings& bindings) {
  Index out;
  out.reserve(shape.size());
  for (const Extent& e : shape) out.push_back(e.Evaluate(bindings));
  return out;
}

bool IsConcrete(const Shape& shape) {
  for (const Extent& e : shape)
    if (!e.IsConstant()) return false;
  return true;
}

Extent Size(const Shape& shape) {
  Extent p = 1;
  for (const Extent& e : shape) p = p * e;
  return p;
}

int64_t Product(const Index& v) {
  // An empty axis anywhere makes π v = 0, whatever the order of the others (a Fortran-order .npy
  // of shape (0, 3, 5e7, …) reversed overflowed before reaching the 0: fuzz/npy_fuzz.cc).
  for (int64_t x : v)
    if (x == 0) return 0;
  int64_t p = 1;
  for (int64_t x : v)
    if (__builtin_mul_overflow(p, x, &p)) throw Error("the shape " + ToString(v) + " has more elements than 64-bit counts hold");
  return p;
}

namespace {
template <typename V>
V TakeImpl(int64_t k, const V& v) {
  const int64_t n = static_cast<int64_t>(v.size());
  const int64_t m = k < 0 ? -k : k;
  UserCheck(m <= n, "take of ", k, " from a vector of length ", n, " needs |k| <= ", n);
  return k >= 0 ? V(v.begin(), v.begin() + m) : V(v.end() - m, v.end());
}
template <typename V>
V DropImpl(int64_t k, const V& v) {
  const int64_t n = static_cast<int64_t>(v.size());
  const int64_t m = k < 0 ? -k : k;
  UserCheck(m <= n, "drop of ", k, " from a vector of length ", n, " needs |k| <= ", n);
  return k >= 0 ? V(v.begin() + m, v.end()) : V(v.begin(), v.end() - m);
}
template <typename V>
V CatImpl(const V& a, const V& b) {
  V out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}
}  // namespace

Index TakeVec(int64_t k, const Index& v) { return TakeImpl(k, v); }
Index DropVec(int64_t k, const Index& v) { return DropImpl(k, v); }
Shape TakeVec(int64_t k, const Shape& v) { return TakeImpl(k, v); }
Shape DropVec(int64_t k, const Shape& v) { return DropImpl(k, v); }
Index CatVec(const Index& a, const Index& b) { return CatImpl(a, b); }
Shape CatVec(const Shape& a, const Shape& b) { return CatImpl(a, b); }

Index Iota(int64_t n) {
  UserCheck(n >= 0, "iota needs n >= 0, got ", n);
  Index v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

std::string ToString(const Index& v) {
  std::ostringstream os;
  os << '<';
  for (size_t j = 0; j < v.size(); ++j) os << (j ? " " : "") << v[j];
  os << '>';
  return os.str();
}

std::string ToString(const Shape& s, bool ascii) {
  std::ostringstream os;
  os << '<';
  for (size_t j = 0; j < s.size(); ++j) {
    std::string e = s[j].ToString(ascii);
    if (e.find(' ') != std::string::npos) e = "(" + e + ")";
    os << (j ? " " : "") << e;
  }
  os << '>';
  return os.str();
}

}  // namespace moa
