#include "dnf/affine.h"

#include <algorithm>
#include <vector>

#include "moa/error.h"

namespace moa::dnf {

Affine Affine::Var(const std::string& name) {
  Affine a;
  a.terms_[name] = 1;
  return a;
}

Affine Affine::operator+(const Affine& o) const {
  Affine r = *this;
  r.offset_ = r.offset_ + o.offset_;
  for (const auto& [v, c] : o.terms_) {
    Extent sum = r.terms_.count(v) ? r.terms_[v] + c : c;
    if (sum == Extent(0)) {
      r.terms_.erase(v);
    } else {
      r.terms_[v] = sum;
    }
  }
  return r;
}

Affine Affine::operator-(const Affine& o) const { return *this + o * Extent(-1); }

Affine Affine::operator*(const Extent& factor) const {
  Affine r;
  if (factor == Extent(0)) return r;
  r.offset_ = offset_ * factor;
  for (const auto& [v, c] : terms_) r.terms_[v] = c * factor;
  return r;
}

Affine Affine::Substitute(const std::string& var, const Affine& value) const {
  auto it = terms_.find(var);
  if (it == terms_.end()) return *this;
  Affine rest = *this;
  rest.terms_.erase(var);
  return rest + value * it->second;
}

int64_t Affine::Evaluate(const IndexEnv& vars, const Bindings& sizes) const {
  int64_t x = offset_.Evaluate(sizes);
  for (const auto& [v, c] : terms_) {
    auto it = vars.find(v);
    InternalCheck(it != vars.end(), "index variable '", v, "' is not bound");
    x += c.Evaluate(sizes) * it->second;
  }
  return x;
}

std::string Affine::ToString(bool ascii) const {
  const std::string times = ascii ? "*" : "\xC2\xB7";
  std::string ts;  // the variable terms, e.g. "i·dk + k" or "-i"
  // Terms with symbolic coefficients (outer strides) first, as γ writes them: i·dk + k.
  std::vector<std::pair<std::string, Extent>> ordered(terms_.begin(), terms_.end());
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return a.second.Symbols().size() > b.second.Symbols().size();
  });
  for (const auto& [v, c] : ordered) {
    std::string cs = c.ToString(ascii);
    const bool negative = cs[0] == '-' && cs.find(' ') == std::string::npos;
    if (negative) cs = cs.substr(1);
    if (cs.find(' ') != std::string::npos) cs = "(" + cs + ")";
    const std::string t = cs == "1" ? v : v + times + cs;
    ts += ts.empty() ? (negative ? "-" : "") + t : (negative ? " - " : " + ") + t;
  }
  if (offset_ == Extent(0)) return ts.empty() ? "0" : ts;
  const std::string os = offset_.ToString(ascii);
  if (ts.empty()) return os;
  if (ts[0] == '-') return os + " - " + ts.substr(1);  // "m - 1 - i" reads better than "-i + m - 1"
  if (os[0] == '-' && os.find(' ') == std::string::npos) return ts + " - " + os.substr(1);
  if (os[0] == '-') return ts + " + (" + os + ")";
  return ts + " + " + os;
}

}  // namespace moa::dnf
