#include "dnf/buffers.h"

#include <functional>
#include <map>
#include <set>

#include "moa/error.h"

namespace moa::dnf {

std::string ToString(BufferRole role) {
  switch (role) {
    case BufferRole::kInput: return "input";
    case BufferRole::kOutput: return "output";
    case BufferRole::kScalarTemporary: return "scalar temporary";
    case BufferRole::kAccumulator: return "accumulator";
  }
  throw InternalError("unknown buffer role");
}

BuffersReport NoMaterialisedArrays(const Dnf& dnf) {
  BuffersReport report;
  std::map<std::string, size_t> input_rank;
  for (const InputInfo& in : dnf.inputs) {
    input_rank[in.name] = in.shape.size();
    report.buffers.push_back({in.name, BufferRole::kInput, in.shape, Size(in.shape), "argument of the spec"});
  }
  for (const Output& out : dnf.outputs)
    report.buffers.push_back({out.name, BufferRole::kOutput, out.shape, Size(out.shape), "result of the spec"});

  // Walk every scalar: loads must be full-index ψ on inputs; each fold is one scalar accumulator.
  std::vector<std::string> problems;
  std::set<const SNode*> seen;
  size_t folds = 0;
  std::function<void(const Scalar&)> walk = [&](const Scalar& s) {
    if (!seen.insert(s.get()).second) return;
    if (s->kind == SKind::kLoad) {
      auto it = input_rank.find(s->name);
      if (it == input_rank.end()) {
        problems.push_back("'" + s->name + "' is read but is not an input");
      } else if (s->flat || s->index.size() != it->second) {
        problems.push_back("'" + s->name + "' is read with a partial index (an array-valued ψ)");
      }
    }
    if (s->kind == SKind::kFold) ++folds;
    for (const Scalar& a : s->args) walk(a);
  };
  for (const Output& out : dnf.outputs) {
    for (const Let& let : out.lets) {
      walk(let.value);
      std::string per;
      for (size_t a = 0; a < let.level; ++a) per += (a ? " " : "") + out.vars[a];
      report.buffers.push_back({let.name, BufferRole::kScalarTemporary, {}, 1,
                                "hoisted fold, bound once per <" + per + ">"});
    }
    walk(out.body);
  }
  if (folds > 0)
    report.buffers.push_back({"acc", BufferRole::kAccumulator, {}, 1,
                              std::to_string(folds) + " folds, each accumulating into one scalar"});
  report.minimal = problems.empty();
  if (report.minimal) {
    report.why = "no temporary array: the only buffers are the inputs and the outputs; every "
                 "temporary is a scalar (" + std::to_string(folds) + " fold accumulators, " +
                 std::to_string(report.buffers.size() - dnf.inputs.size() - dnf.outputs.size() - (folds > 0)) +
                 " hoisted scalars)";
  } else {
    report.why = "not minimal: ";
    for (size_t k = 0; k < problems.size(); ++k) report.why += (k ? "; " : "") + problems[k];
  }
  return report;
}

std::vector<Intermediate> NaiveIntermediates(const std::vector<expr::Expr>& outputs) {
  std::vector<Intermediate> list;
  std::map<const expr::Node*, std::string> names;
  std::set<const expr::Node*> results;
  for (const expr::Expr& o : outputs) results.insert(o.get());
  int t = 0;
  for (const expr::Node* n : expr::TopologicalOrder(outputs)) {
    using expr::Kind;
    if (n->kind == Kind::kInput) {
      names[n] = n->name;
      continue;
    }
    if (n->kind == Kind::kScalar || n->kind == Kind::kSize) {
      names[n] = expr::Describe(*n, {});
      continue;
    }
    std::vector<std::string> x;
    for (const expr::Expr& o : n->operands) x.push_back(names.at(o.get()));
    // Numbered as expr::ToString numbers them, so the two listings agree.
    const std::string name = n->label.empty() ? "t" + std::to_string(++t) : n->label;
    names[n] = name;
    if (n->shape.empty()) continue;  // a scalar is no buffer
    if (results.count(n)) continue;  // outputs are not temporaries
    const bool view = n->kind == Kind::kPermute || n->kind == Kind::kExtend ||
                      n->kind == Kind::kTake || n->kind == Kind::kDrop;
    list.push_back({name, expr::Describe(*n, x), n->shape, Size(n->shape), view, n->loc});
  }
  return list;
}

Extent MaterialisedElements(const std::vector<Intermediate>& intermediates) {
  Extent total = 0;
  for (const Intermediate& i : intermediates)
    if (!i.view) total = total + i.elements;
  return total;
}

}  // namespace moa::dnf
