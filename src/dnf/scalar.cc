#include "dnf/scalar.h"

#include <functional>
#include <map>

#include "moa/error.h"

namespace moa::dnf {
namespace {
Scalar Make(SNode n) { return std::make_shared<const SNode>(std::move(n)); }
SNode Of(SKind kind) {
  SNode n;
  n.kind = kind;
  return n;
}
}  // namespace

Scalar Load(const std::string& input, std::vector<Affine> index) {
  SNode n = Of(SKind::kLoad);
  n.name = input;
  n.index = std::move(index);
  return Make(std::move(n));
}

Scalar FlatLoad(const std::string& buffer, Affine offset) {
  SNode n = Of(SKind::kLoad);
  n.name = buffer;
  n.offset = std::move(offset);
  n.flat = true;
  return Make(std::move(n));
}

Scalar Const(double value) {
  SNode n = Of(SKind::kConst);
  n.value = value;
  return Make(std::move(n));
}

Scalar SizeValue(Extent extent) {
  SNode n = Of(SKind::kSize);
  n.extent = std::move(extent);
  return Make(std::move(n));
}

Scalar IndexValue(Affine index) {
  SNode n = Of(SKind::kIndex);
  n.offset = std::move(index);
  return Make(std::move(n));
}

Scalar Unary(UnaryOp op, Scalar a) {
  SNode n = Of(SKind::kUnary);
  n.unary = op;
  n.args = {std::move(a)};
  return Make(std::move(n));
}

Scalar Binary(BinaryOp op, Scalar a, Scalar b) {
  SNode n = Of(SKind::kBinary);
  n.binary = op;
  n.args = {std::move(a), std::move(b)};
  return Make(std::move(n));
}

Scalar Select(Scalar cond, Scalar a, Scalar b) {
  SNode n = Of(SKind::kSelect);
  n.args = {std::move(cond), std::move(a), std::move(b)};
  return Make(std::move(n));
}

Scalar Fold(BinaryOp op, const std::string& var, Extent extent, Scalar body) {
  SNode n = Of(SKind::kFold);
  n.binary = op;
  n.name = var;
  n.extent = std::move(extent);
  n.args = {std::move(body)};
  return Make(std::move(n));
}

Scalar Ref(const std::string& name, std::vector<Affine> level) {
  SNode n = Of(SKind::kRef);
  n.name = name;
  n.index = std::move(level);
  return Make(std::move(n));
}

const std::set<std::string>& FreeVars(const Scalar& x, FreeVarsMemo* memo) {
  // Memoised on node identity: a DAG with shared operands (n lines of `q = q + q`) has 2^n paths
  // but only n nodes.
  auto it = memo->find(x.get());
  if (it != memo->end()) return it->second;
  std::set<std::string> vars;
  auto add = [&](const Affine& a) {
    for (const auto& [v, c] : a.terms()) vars.insert(v);
  };
  switch (x->kind) {
    case SKind::kLoad:
      for (const Affine& a : x->index) add(a);
      add(x->offset);
      break;
    case SKind::kIndex:
      add(x->offset);
      break;
    case SKind::kRef:  // a hoisted scalar depends on the variables of its level
      for (const Affine& a : x->index) add(a);
      break;
    case SKind::kFold:
      vars = FreeVars(x->args[0], memo);
      vars.erase(x->name);
      break;
    default:
      for (const Scalar& a : x->args) {
        const std::set<std::string>& v = FreeVars(a, memo);
        vars.insert(v.begin(), v.end());
      }
  }
  return memo->emplace(x.get(), std::move(vars)).first->second;
}

std::set<std::string> FreeVars(const Scalar& s) {
  FreeVarsMemo memo;
  return FreeVars(s, &memo);
}

Scalar Substitute(const Scalar& s, const std::string& var, const Affine& value) {
  std::map<const SNode*, Scalar> memo;  // shared operands stay shared, each rewritten once
  std::function<Scalar(const Scalar&)> walk = [&](const Scalar& x) -> Scalar {
    if (x->kind == SKind::kFold && x->name == var) return x;  // bound here: not free below
    auto it = memo.find(x.get());
    if (it != memo.end()) return it->second;
    SNode copy = *x;
    for (Affine& a : copy.index) a = a.Substitute(var, value);
    copy.offset = copy.offset.Substitute(var, value);
    for (Scalar& a : copy.args) a = walk(a);
    Scalar result = std::make_shared<const SNode>(std::move(copy));
    memo.emplace(x.get(), result);
    return result;
  };
  return walk(s);
}

Scalar RewriteBottomUp(const Scalar& s, const std::function<Scalar(Scalar)>& rule, RewriteMemo* memo) {
  auto it = memo->find(s.get());
  if (it != memo->end()) return it->second;
  SNode copy = *s;
  for (Scalar& a : copy.args) a = RewriteBottomUp(a, rule, memo);
  Scalar result = rule(std::make_shared<const SNode>(std::move(copy)));
  (*memo)[s.get()] = result;
  return result;
}

std::set<std::string> LoadedInputs(const Scalar& s) {
  std::set<std::string> names;
  std::set<const SNode*> seen;
  std::function<void(const Scalar&)> walk = [&](const Scalar& x) {
    if (!seen.insert(x.get()).second) return;
    if (x->kind == SKind::kLoad) names.insert(x->name);
    for (const Scalar& a : x->args) walk(a);
  };
  walk(s);
  return names;
}

}  // namespace moa::dnf
