#include "moa/extent.h"

#include <algorithm>
#include <sstream>

#include "moa/error.h"

namespace moa {

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
      term *= it->second;
    }
    total += term;
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
    c += coefficient;
    if (c == 0) sum.terms_.erase(monomial);
  }
  return sum;
}

Extent Extent::operator-(const Extent& other) const { return *this + other * Extent(-1); }

Extent Extent::operator*(const Extent& other) const {
  Extent product;
  for (const auto& [ma, ca] : terms_) {
    for (const auto& [mb, cb] : other.terms_) {
      std::vector<std::string> m = ma;
      m.insert(m.end(), mb.begin(), mb.end());
      std::sort(m.begin(), m.end());
      int64_t& c = product.terms_[m];
      c += ca * cb;
      if (c == 0) product.terms_.erase(m);
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
    int64_t c = coefficient;
    if (!first) {
      os << (c < 0 ? " - " : " + ");
      c = c < 0 ? -c : c;
    } else if (c < 0 && !monomial.empty()) {
      os << "-";
      c = -c;
    }
    first = false;
    bool wrote = false;
    if (monomial.empty() || c != 1) {
      os << c;
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
