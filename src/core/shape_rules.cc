#include "moa/shape_rules.h"

#include "moa/error.h"

namespace moa::shape_rule {
namespace {

std::string S(const Shape& s) { return ToString(s); }
std::string S(const Index& v) { return ToString(v); }

int64_t Abs(int64_t x) { return x < 0 ? -x : x; }

// Checks |k_j| ≤ s_j where s_j is known; symbolic extents are checked when they get values.
void CheckCounts(const char* op, const Index& k, const Shape& a) {
  UserCheck(static_cast<int64_t>(k.size()) <= Dimension(a), op, ": the count vector ", S(k),
            " has ", k.size(), " entries but A of shape ", S(a), " has only ", a.size(),
            " axes (rule: tau k <= delta A)");
  for (size_t j = 0; j < k.size(); ++j) {
    if (auto s = a[j].TryConstant())
      UserCheck(Abs(k[j]) <= *s, op, ": count ", k[j], " on axis ", j, " exceeds the extent ", *s,
                " of A (shape ", S(a), "; rule: |k_j| <= s_j)");
  }
}

void CheckNotScalar(const char* op, const Shape& a) {
  UserCheck(!a.empty(), op, " needs an array with at least one axis, got a scalar (shape <>)");
}

}  // namespace

Shape Psi(const Index& p, const Shape& a) {
  UserCheck(static_cast<int64_t>(p.size()) <= Dimension(a), "psi: index ", S(p), " has ", p.size(),
            " entries but A of shape ", S(a), " has only ", a.size(),
            " axes (rule: tau i <= delta A)");
  for (size_t j = 0; j < p.size(); ++j) {
    auto s = a[j].TryConstant();
    UserCheck(p[j] >= 0 && (!s || p[j] < *s), "psi: index ", S(p), " is out of bounds for shape ",
              S(a), " (axis ", j, " needs 0 <= i < ", a[j].ToString(), ")");
  }
  return DropVec(static_cast<int64_t>(p.size()), a);
}

Shape Take(const Index& k, const Shape& a) {
  CheckCounts("take", k, a);
  Shape out;
  for (int64_t kj : k) out.push_back(Abs(kj));
  return CatVec(out, DropVec(static_cast<int64_t>(k.size()), a));
}

Shape Drop(const Index& k, const Shape& a) {
  CheckCounts("drop", k, a);
  Shape out;
  for (size_t j = 0; j < k.size(); ++j) out.push_back(a[j] - Abs(k[j]));
  return CatVec(out, DropVec(static_cast<int64_t>(k.size()), a));
}

Shape Reverse(const Shape& a) {
  CheckNotScalar("reverse", a);
  return a;
}

Shape Rotate(const Shape& a) {
  CheckNotScalar("rotate", a);
  return a;
}

Shape Transpose(const Shape& a) { return Shape(a.rbegin(), a.rend()); }

Shape Permute(const Index& p, const Shape& a) {
  UserCheck(p.size() == a.size(), "permute: the permutation ", S(p), " has ", p.size(),
            " entries but A of shape ", S(a), " has ", a.size(), " axes");
  std::vector<bool> seen(p.size(), false);
  for (int64_t r : p) {
    UserCheck(0 <= r && r < Dimension(a) && !seen[static_cast<size_t>(r)], "permute: ", S(p),
              " is not a permutation of iota ", a.size(), " (each axis 0..", a.size() - 1,
              " exactly once)");
    seen[static_cast<size_t>(r)] = true;
  }
  Shape out;
  for (int64_t r : p) out.push_back(a[static_cast<size_t>(r)]);
  return out;
}

Shape Cat(const Shape& a, const Shape& b) {
  CheckNotScalar("catenate", a);
  CheckNotScalar("catenate", b);
  UserCheck(DropVec(1, a) == DropVec(1, b), "catenate needs equal trailing shapes (1 drop rho A = 1 "
            "drop rho B): A has shape ", S(a), ", B has shape ", S(b));
  Shape out = a;
  out[0] = a[0] + b[0];
  return out;
}

Shape Reshape(const Shape& v, const Shape& a) {
  for (const Extent& e : v)
    if (auto c = e.TryConstant()) UserCheck(*c >= 0, "reshape: new shape ", S(v), " has a negative extent");
  UserCheck(Size(v) == Size(a), "reshape needs pi v = tau A: new shape ", S(v), " has ",
            Size(v).ToString(), " elements but A of shape ", S(a), " has ", Size(a).ToString());
  return v;
}

Shape Pointwise(const Shape& a, const Shape& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  UserCheck(a == b, "pointwise operation needs equal shapes or a scalar side (no implicit "
            "broadcast; use omega): A has shape ", S(a), ", B has shape ", S(b));
  return a;
}

Shape Outer(const Shape& a, const Shape& b) { return CatVec(a, b); }

Shape Inner(const Shape& a, const Shape& b) {
  CheckNotScalar("inner product", a);
  CheckNotScalar("inner product", b);
  UserCheck(a.back() == b.front(), "inner product needs the last extent of A (",
            a.back().ToString(), ") to equal the first extent of B (", b.front().ToString(),
            "): A has shape ", S(a), ", B has shape ", S(b));
  return CatVec(DropVec(-1, a), DropVec(1, b));
}

Shape Reduce(const Shape& a) {
  CheckNotScalar("reduce", a);
  return DropVec(1, a);
}

Shape OmegaFrame(int64_t sigma_l, const Shape& l, int64_t sigma_r, const Shape& r) {
  UserCheck(0 <= sigma_l && sigma_l <= Dimension(l), "omega: left cell rank ", sigma_l,
            " must lie in 0..", l.size(), " for an argument of shape ", S(l));
  UserCheck(0 <= sigma_r && sigma_r <= Dimension(r), "omega: right cell rank ", sigma_r,
            " must lie in 0..", r.size(), " for an argument of shape ", S(r));
  const Shape fl = TakeVec(Dimension(l) - sigma_l, l);
  const Shape fr = TakeVec(Dimension(r) - sigma_r, r);
  if (fl == fr) return fl;
  if (Size(fl) == Extent(1)) return fr;
  if (Size(fr) == Extent(1)) return fl;
  throw Error("omega needs equal frames or a one-cell frame: left frame " + S(fl) + " (shape " +
              S(l) + ", cell rank " + std::to_string(sigma_l) + "), right frame " + S(fr) +
              " (shape " + S(r) + ", cell rank " + std::to_string(sigma_r) + ")");
}

}  // namespace moa::shape_rule
