// Lowering DNF → ONF. Loads get flat offsets by γ; folds become accumulation loops placed just
// before the statement that uses them, inside the loops that bind their free variables.
#include <algorithm>
#include <functional>
#include <set>

#include "moa/error.h"
#include "onf/lowerer.h"
#include "onf/onf.h"

namespace moa::onf {

using dnf::Affine;
using dnf::Scalar;
using dnf::SKind;

Stmt Loop(const std::string& var, Extent extent, std::vector<Stmt> body, int64_t divisor) {
  Stmt s{StmtKind::kLoop, var, std::move(extent), nullptr, BinaryOp::kAdd, {}, std::move(body)};
  s.divisor = divisor;
  return s;
}
Stmt Let(const std::string& name, Scalar value) {
  return Stmt{StmtKind::kLet, name, {}, std::move(value), BinaryOp::kAdd, {}, {}};
}
Stmt Accum(const std::string& name, BinaryOp op, Scalar value) {
  return Stmt{StmtKind::kAccum, name, {}, std::move(value), op, {}, {}};
}
Stmt Store(const std::string& buffer, Affine offset, Scalar value) {
  return Stmt{StmtKind::kStore, buffer, {}, std::move(value), BinaryOp::kAdd, std::move(offset), {}};
}
Stmt Guard(Scalar condition, std::vector<Stmt> body) {
  return Stmt{StmtKind::kGuard, "", {}, std::move(condition), BinaryOp::kAdd, {}, std::move(body)};
}

namespace internal {

ExprLowerer::ExprLowerer(const std::vector<Buffer>& buffers, const dnf::Dnf& dnf) {
  for (const Buffer& b : buffers) {
    buffers_[b.name] = b;
    taken_.insert(b.name);
  }
  for (const dnf::InputInfo& in : dnf.inputs)
    for (const Extent& e : in.shape)
      for (const std::string& s : e.Symbols()) taken_.insert(s);
  for (const dnf::Output& out : dnf.outputs)
    for (const dnf::Let& let : out.lets) taken_.insert(let.name);
}

Affine ExprLowerer::Gamma(const std::string& name, const std::vector<Affine>& index) const {
  const Buffer& b = buffers_.at(name);
  const std::vector<Extent> stride = SymbolicStrides(b.shape, b.layout);
  InternalCheck(index.size() == stride.size(), "index rank of ", name);
  Affine offset;
  for (size_t j = 0; j < index.size(); ++j) offset = offset + index[j] * stride[j];
  return offset;
}

// Shared subexpressions of more than this many nodes (as a tree) get a Let of their own; smaller
// ones are recomputed where they are used, which keeps the ONF of real specs as it reads in the
// DNF. Printed and interpreted as trees, shared subexpressions cost 2^n for n lines of `q = q + q`.
constexpr size_t kInlineLimit = 32;

void ExprLowerer::CountUses(const Scalar& s) {
  auto [it, fresh] = size_.emplace(s.get(), 1);
  if (!fresh) return;
  size_t size = 1;
  for (const Scalar& a : s->args) {
    CountUses(a);
    ++uses_[a.get()];
    size = std::min(size + size_.at(a.get()), size_t{1} << 40);
  }
  size_[s.get()] = size;
}

Scalar ExprLowerer::Lower(const Scalar& s, std::vector<Stmt>* pre, const std::string& into) {
  if (!scopes_.empty()) return LowerNode(s, pre, into);
  // A top-level call: its memo lives as long as the call, since the caller places each call's
  // statements in a loop nest of its own choosing.
  CountUses(s);
  scopes_.emplace_back();
  struct Reset {
    ExprLowerer* self;
    ~Reset() {
      self->scopes_.clear();
      self->uses_.clear();
      self->size_.clear();
    }
  } reset{this};
  return LowerNode(s, pre, into);
}

Scalar ExprLowerer::LowerNode(const Scalar& s, std::vector<Stmt>* pre, const std::string& into) {
  for (auto scope = scopes_.rbegin(); scope != scopes_.rend(); ++scope) {
    auto it = scope->find(s.get());
    if (it != scope->end()) return it->second;
  }
  Scalar result;
  switch (s->kind) {
    case SKind::kLoad:
      result = s->flat ? s : dnf::FlatLoad(s->name, Gamma(s->name, s->index));
      break;
    case SKind::kRef:
      result = dnf::Ref(s->name);
      break;
    case SKind::kFold: {
      const std::string acc = into.empty() ? Fresh("acc") : into;
      pre->push_back(Let(acc, dnf::Const(Identity(s->binary))));
      Stmt loop = Loop(s->name, s->extent);
      scopes_.emplace_back();
      const Scalar body = LowerNode(s->args[0], &loop.body, "");
      scopes_.pop_back();
      loop.body.push_back(Accum(acc, s->binary, body));
      pre->push_back(std::move(loop));
      result = dnf::Ref(acc);
      break;
    }
    default: {
      if (s->args.empty()) return s;
      dnf::SNode copy = *s;
      for (Scalar& a : copy.args) a = LowerNode(a, pre, "");
      result = std::make_shared<const dnf::SNode>(std::move(copy));
      if (s->factored) {  // (Σ_{l<n} x) / c is 0 for n = 0, not 0 / 0 (see dnf::SNode::factored)
        const Scalar empty = dnf::Binary(BinaryOp::kEqual, dnf::SizeValue(s->args[0]->extent), dnf::Const(0));
        result = dnf::Select(empty, dnf::Const(0), result);
      }
      auto u = uses_.find(s.get());
      if (u != uses_.end() && u->second > 1 && size_.at(s.get()) > kInlineLimit) {
        const std::string name = Fresh("t");
        pre->push_back(Let(name, result));
        result = dnf::Ref(name);
      }
    }
  }
  scopes_.back().emplace(s.get(), result);
  return result;
}

std::string ExprLowerer::Fresh(const std::string& base) {
  for (int k = 1;; ++k) {
    const std::string name = k == 1 ? base : base + std::to_string(k);
    if (taken_.insert(name).second) return name;
  }
}

}  // namespace internal

std::vector<Extent> SymbolicStrides(const Shape& shape, Layout layout) {
  const size_t d = shape.size();
  std::vector<Extent> stride(d, Extent(1));
  if (layout == Layout::kRowMajor) {
    for (size_t j = d; j-- > 1;) stride[j - 1] = stride[j] * shape[j];
  } else {
    for (size_t j = 1; j < d; ++j) stride[j] = stride[j - 1] * shape[j - 1];
  }
  return stride;
}

Onf Lower(const dnf::Dnf& dnf, const std::map<std::string, Layout>& layouts) {
  Onf onf;
  onf.nonempty = dnf.nonempty;
  auto layout_of = [&](const std::string& name) {
    auto it = layouts.find(name);
    return it == layouts.end() ? Layout::kRowMajor : it->second;
  };
  for (const dnf::InputInfo& in : dnf.inputs)
    onf.buffers.push_back({in.name, in.shape, layout_of(in.name), Role::kInput});
  for (const dnf::Output& out : dnf.outputs)
    onf.buffers.push_back({out.name, out.shape, layout_of(out.name), Role::kOutput});
  for (const auto& [name, layout] : layouts) {
    bool known = false;
    for (const Buffer& b : onf.buffers) known = known || b.name == name;
    UserCheck(known, "layout given for '", name, "', which is not an input or output of the spec");
  }

  internal::ExprLowerer lower(onf.buffers, dnf);
  for (const dnf::Output& out : dnf.outputs) {
    // Loop level a opens the loop of out.vars[a]; lets of level a are bound just inside it.
    std::function<void(size_t, std::vector<Stmt>*)> level = [&](size_t a, std::vector<Stmt>* into) {
      for (const dnf::Let& let : out.lets) {
        if (let.level != a) continue;
        std::vector<Stmt> pre;
        const dnf::Scalar value = lower.Lower(let.value, &pre, let.name);
        into->insert(into->end(), pre.begin(), pre.end());
        if (let.value->kind != dnf::SKind::kFold) into->push_back(Let(let.name, value));
      }
      if (a == out.vars.size()) {
        std::vector<Affine> index;
        for (const std::string& v : out.vars) index.push_back(Affine::Var(v));
        const dnf::Scalar value = lower.Lower(out.body, into);
        into->push_back(Store(out.name, lower.Gamma(out.name, index), value));
        return;
      }
      Stmt loop = Loop(out.vars[a], out.shape[a]);
      level(a + 1, &loop.body);
      into->push_back(std::move(loop));
    };
    level(0, &onf.body);
  }
  return onf;
}

}  // namespace moa::onf
