// moa dnf — affine index expressions: Σ_v c_v·v + c₀ with loop/index variables v and symbolic
// coefficients (Extents). ψ-reduction produces them as indices into inputs (i, s₀−1−i, i+2);
// ONF lowering turns a full index into one flat offset γ(i; ρA) = Σ_j i_j·stride_j of this form.
#pragma once

#include <map>
#include <string>

#include "moa/extent.h"

namespace moa::dnf {

// Values of index variables while a loop nest runs.
using IndexEnv = std::map<std::string, int64_t>;

class Affine {
 public:
  Affine() = default;
  Affine(Extent constant) : offset_(std::move(constant)) {}  // NOLINT: constants convert
  Affine(int64_t constant) : offset_(constant) {}             // NOLINT
  static Affine Var(const std::string& name);

  Affine operator+(const Affine& o) const;
  Affine operator-(const Affine& o) const;
  Affine operator*(const Extent& factor) const;
  bool operator==(const Affine& o) const { return terms_ == o.terms_ && offset_ == o.offset_; }

  bool IsConstant() const { return terms_.empty(); }
  const Extent& offset() const { return offset_; }
  const std::map<std::string, Extent>& terms() const { return terms_; }
  bool Uses(const std::string& var) const { return terms_.count(var) > 0; }
  // This expression with `var` replaced by `value` (dimension lifting: i ↦ io·T + ii).
  Affine Substitute(const std::string& var, const Affine& value) const;

  int64_t Evaluate(const IndexEnv& vars, const Bindings& sizes) const;
  // "i", "m - 1 - i", "i·dk + k", "0"; `ascii` writes '*' for '·'.
  std::string ToString(bool ascii = false) const;

 private:
  std::map<std::string, Extent> terms_;  // coefficient != 0
  Extent offset_;
};

}  // namespace moa::dnf
