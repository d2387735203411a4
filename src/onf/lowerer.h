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
  // A subexpression `s` uses more than once is lowered once: a fold into one loop, anything of
  // more than a few nodes into one `Let` (a named temporary, as the DNF printer names it).
  dnf::Scalar Lower(const dnf::Scalar& s, std::vector<Stmt>* pre, const std::string& into = "");
  std::string Fresh(const std::string& base);

 private:
  dnf::Scalar LowerNode(const dnf::Scalar& s, std::vector<Stmt>* pre, const std::string& into);
  void CountUses(const dnf::Scalar& s);

  std::map<std::string, Buffer> buffers_;  // copies: callers may grow their buffer list
  std::set<std::string> taken_;
  // For one top-level Lower call: uses of each node, its size as a tree (saturating), and what
  // each node lowered to, per loop scope (a value bound inside a fold's loop is not visible after
  // the loop, so each fold's body opens a scope that closes with it).
  std::map<const dnf::SNode*, size_t> uses_, size_;
  std::vector<std::map<const dnf::SNode*, dnf::Scalar>> scopes_;
};

}  // namespace moa::onf::internal
