// Hoisting: a fold whose free index variables are a strict prefix of the output's is the same
// for every value of the remaining ones, so it is bound once at that level as a named scalar.
// Without it, softmax inlined into Σ would recompute the row max for every output element.
#include <map>
#include <set>

#include "dnf/dnf.h"

namespace moa::dnf {
namespace {

std::string LetBase(BinaryOp op) {
  switch (op) {
    case BinaryOp::kMax: return "M";  // the row max m(i) of the paper
    case BinaryOp::kAdd: return "Z";  // the normaliser z(i)
    case BinaryOp::kMin: return "N";
    default: return "R";
  }
}

}  // namespace

Dnf Hoist(Dnf dnf) {
  std::set<std::string> reserved;
  for (const InputInfo& in : dnf.inputs) {
    reserved.insert(in.name);
    for (const Extent& e : in.shape)
      for (const std::string& s : e.Symbols()) reserved.insert(s);
  }
  for (Output& out : dnf.outputs) {
    reserved.insert(out.name);
    for (const std::string& v : out.vars) reserved.insert(v);
  }
  auto fresh = [&](const std::string& base) {
    for (int k = 0;; ++k) {
      const std::string name = k == 0 ? base : base + std::to_string(k + 1);
      if (reserved.insert(name).second) return name;
    }
  };

  for (Output& out : dnf.outputs) {
    std::map<std::string, size_t> position;
    for (size_t a = 0; a < out.vars.size(); ++a) position[out.vars[a]] = a;
    RewriteMemo memo;  // a shared fold is hoisted once
    // Every node asked about stays alive (in `memo` or in a let) while this output is hoisted,
    // so the free variables of each are computed once: linear, not once per fold.
    FreeVarsMemo free_vars;
    auto hoist = [&](Scalar result) -> Scalar {
      if (result->kind == SKind::kFold) {
        size_t level = 0;
        bool only_output_vars = true;
        for (const std::string& v : FreeVars(result, &free_vars)) {
          auto p = position.find(v);
          if (p == position.end()) {
            only_output_vars = false;
          } else {
            level = std::max(level, p->second + 1);
          }
        }
        if (only_output_vars && level < out.vars.size()) {
          const std::string name = fresh(LetBase(result->binary));
          std::vector<Affine> args;
          for (size_t a = 0; a < level; ++a) args.push_back(Affine::Var(out.vars[a]));
          out.lets.push_back({name, level, result});
          const Scalar ref = Ref(name, args);
          dnf.steps.push_back({"hoist", ToString(ref) + " = " + ToString(result) +
                                            "  (free indices a strict prefix of " +
                                            std::to_string(out.vars.size()) + "; bound once per " +
                                            (level ? "level " + std::to_string(level) : std::string("call")) + ")"});
          result = ref;
        }
      }
      return result;
    };
    out.body = RewriteBottomUp(out.body, hoist, &memo);
  }
  return dnf;
}

}  // namespace moa::dnf
