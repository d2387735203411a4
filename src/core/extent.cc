#include "moa/extent.h"

#include <algorithm>
#include <sstream>

#include "moa/error.h"

namespace moa {
namespace {

// Sizes are int64 and symbolic sizes polynomials in the size names: a spec can square a size in
// every line, so the arithmetic is checked (overflow is an error, not undefined behaviour) and
// the polynomials are bounded far beyond any real shape (b·h·n·dk is degree 4), so that 30 lines
// of `s = s * s` cannot ask for a monomial of 2^30 names.
constexpr size_t kMaxDegree = 32;
constexpr size_t kMaxTerms = 256;

int64_t Add(int64_t a, int64_t b, const Extent& x, const Extent& y) {
  int64_t r;
  UserCheck(!__builtin_add_overflow(a, b, &r), "size arithmetic overflows 64 bits: (", x.ToString(), ") + (",
            y.ToString(), ")");
  return r;
}

int64_t Mul(int64_t a, int64_t b, const Extent& x, const Extent& y) {
  int64_t r;
  UserCheck(!__builtin_mul_overflow(a, b, &r), "size arithmetic overflows 64 bits: (", x.ToString(), ") \xC2\xB7 (",
            y.ToString(), ")");
  return r;
}

}  // namespace

Extent::Extent(int64_t constant) {
  if (constant != 0) terms_[{}] = constant;
}

Extent Extent::Symbol(const std::string& name) {
  UserCheck(!name.empty(), "a symbolic size needs a non-empty name");
  Extent e;
  e.terms_[{name}] = 1;
  return e;
}

bool Extent::IsConstant() const {
  return terms_.empty() || (terms_.size() == 1 && terms_.begin()->first.empty());
}

std::optional<int64_t> Extent::TryConstant() const {
  if (!IsConstant()) return std::nullopt;
  return terms_.empty() ? 0 : terms_.begin()->second;
}

int64_t Extent::Constant() const {
  auto c = TryConstant();
  InternalCheck(c.has_value(), "extent ", ToString(), " is symbolic, not a constant");
  return *c;
}

int64_t Extent::Evaluate(const Bindings& bindings) const {
  int64_t total = 0;
  for (const auto& [monomial, coefficient] : terms_) {
    int64_t term = coefficient;
    for (const auto& name : monomial) {
      auto it = bindings.find(name);
      UserCheck(it != bindings.end(), "size '", name, "' has no value (in extent ", ToString(),
                "); give it one, e.g. --set ", name, "=8");
      UserCheck(!__builtin_mul_overflow(term, it->second, &term), "extent ", ToString(),
                " overflows 64 bits with these sizes");
    }
    UserCheck(!__builtin_add_overflow(total, term, &total), "extent ", ToString(), " overflows 64 bits with these sizes");
  }
  return total;
}

std::vector<std::string> Extent::Symbols() const {
  std::vector<std::string> names;
  for (const auto& [monomial, coefficient] : terms_)
    names.insert(names.end(), monomial.begin(), monomial.end());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

Extent Extent::operator+(const Extent& other) const {
  Extent sum = *this;
  for (const auto& [monomial, coefficient] : other.terms_) {
    int64_t& c = sum.terms_[monomial];
    c = Add(c, coefficient, *this, other);
    if (c == 0) sum.terms_.erase(monomial);
  }
  UserCheck(sum.terms_.size() <= kMaxTerms, "size expression has more than ", kMaxTerms, " terms");
  return sum;
}

Extent Extent::operator-(const Extent& other) const { return *this + other * Extent(-1); }

Extent Extent::operator*(const Extent& other) const {
  Extent product;
  for (const auto& [ma, ca] : terms_) {
    for (const auto& [mb, cb] : other.terms_) {
      UserCheck(ma.size() + mb.size() <= kMaxDegree, "size expression of degree more than ", kMaxDegree, ": (",
                ToString(), ") \xC2\xB7 (", other.ToString(), ")");
      std::vector<std::string> m = ma;
      m.insert(m.end(), mb.begin(), mb.end());
      std::sort(m.begin(), m.end());
      int64_t& c = product.terms_[m];
      c = Add(c, Mul(ca, cb, *this, other), *this, other);
      if (c == 0) product.terms_.erase(m);
      UserCheck(product.terms_.size() <= kMaxTerms, "size expression has more than ", kMaxTerms, " terms");
    }
  }
  return product;
}

std::string Extent::ToString(bool ascii) const {
  if (terms_.empty()) return "0";
  const char* times = ascii ? "*" : "\xC2\xB7";  // '·'
  // Higher-degree terms first, the constant last: "n·dk + n + 4".
  std::vector<std::pair<std::vector<std::string>, int64_t>> ordered(terms_.begin(), terms_.end());
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return a.first.size() > b.first.size();
  });
  std::ostringstream os;
  bool first = true;
  for (const auto& [monomial, coefficient] : ordered) {
    // The magnitude as unsigned: −INT64_MIN does not fit an int64.
    const uint64_t magnitude = coefficient < 0 ? 0 - static_cast<uint64_t>(coefficient) : static_cast<uint64_t>(coefficient);
    if (!first) {
      os << (coefficient < 0 ? " - " : " + ");
    } else if (coefficient < 0) {
      os << "-";
    }
    first = false;
    bool wrote = false;
    if (monomial.empty() || magnitude != 1) {
      os << magnitude;
      wrote = true;
    }
    for (const auto& name : monomial) {
      if (wrote) os << times;
      os << name;
      wrote = true;
    }
  }
  return os.str();
}

}  // namespace moa
