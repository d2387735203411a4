// moa core — symbolic extents. An extent (one entry of a shape ρ) is a polynomial with integer
// coefficients over named sizes such as n, dk, b: the sizes that shape rules produce from named
// inputs are sums (catenation), differences (take/drop) and products (τ, reshape) of them.
// Polynomials are kept in a canonical form, so two extents are equal exactly when their
// canonical forms are, which is what conformance checks on symbolic shapes need.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace moa {

// Values for named sizes, e.g. {{"n", 128}, {"dk", 64}}.
using Bindings = std::map<std::string, int64_t>;

class Extent {
 public:
  Extent() = default;                        // 0
  Extent(int64_t constant);                  // NOLINT: constants convert implicitly
  static Extent Symbol(const std::string& name);

  bool IsConstant() const;
  // The constant value; throws moa::InternalError when the extent is symbolic.
  int64_t Constant() const;
  std::optional<int64_t> TryConstant() const;
  // The value under `bindings`; throws moa::Error naming the first unbound size.
  int64_t Evaluate(const Bindings& bindings) const;
  // Names of the sizes the extent depends on, sorted.
  std::vector<std::string> Symbols() const;

  Extent operator+(const Extent& other) const;
  Extent operator-(const Extent& other) const;
  Extent operator*(const Extent& other) const;
  bool operator==(const Extent& other) const { return terms_ == other.terms_; }
  bool operator!=(const Extent& other) const { return !(*this == other); }

  // "n", "2·n", "n·dk", "n + 4", "b·h·n·dk"; `ascii` writes '*' for '·'.
  std::string ToString(bool ascii = false) const;

 private:
  // monomial (sorted multiset of size names; empty = the constant term) -> coefficient != 0
  std::map<std::vector<std::string>, int64_t> terms_;
};

}  // namespace moa
