// moa onf (internal) — the expression part of DNF → ONF lowering, shared by the plain lowering
// (lower.cc) and the lifted one (src/lift): loads get flat offsets by γ, folds become accumulation
// loops emitted before the statement that uses them.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "onf/onf.h"

namespace moa::onf::internal {

class ExprLowerer {
 public:
  // Names of inputs, sizes, outputs and lets are taken, so fresh names never collide with them.
  ExprLowerer(const std::vector<Buffer>& buffers, const dnf::Dnf& dnf);

  // γ(index; ρ buffer) in the buffer's layout.
  dnf::Affine Gamma(const std::string& buffer, const std::vector<dnf::Affine>& index) const;
  // Rewrites loads to flat offsets and folds to accumulators declared in `pre`; `into` names the
  // accumulator of a fold at the root (a hoisted let accumulates in place).
  dnf::Scalar Lower(const dnf::Scalar& s, std::vector<Stmt>* pre, const std::string& into = "");
  std::string Fresh(const std::string& base);

 private:
  std::map<std::string, Buffer> buffers_;  // copies: callers may grow their buffer list
  std::set<std::string> taken_;
};

}  // namespace moa::onf::internal
