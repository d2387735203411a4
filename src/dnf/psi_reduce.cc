// ψ-reduction: push a symbolic full index through the expression DAG, one ψ-rule per node kind,
// until only ψ on inputs remains. Reductions of the same node at the same index are shared
// (memoised), which is what lets the hoisting pass find the softmax row max once.
#include <map>
#include <set>

#include "dnf/dnf.h"
#include "expr/evaluate.h"
#include "moa/error.h"

namespace moa::dnf {
namespace {

using expr::Kind;
using expr::Node;
using Index_ = std::vector<Affine>;

std::string IndexText(const Index_& i) {
  std::string s = "<";
  for (size_t j = 0; j < i.size(); ++j) {
    const std::string a = i[j].ToString();
    s += (j ? " " : "") + (a.find(' ') != std::string::npos ? "(" + a + ")" : a);
  }
  return s + ">";
}

// Real specs need a few dozen reductions (attention: 40); a DNF this large could not be printed
// or run usefully either.
constexpr size_t kMaxReductions = 100000;

class Reducer {
 public:
  Reducer(const std::vector<expr::Expr>& inputs, const std::vector<expr::Expr>& outputs,
          std::vector<Step>* steps, std::vector<NonEmpty>* nonempty)
      : steps_(steps), nonempty_(nonempty) {
    // Variable names must not be mistaken for inputs or sizes in the printed DNF.
    for (const expr::Expr& in : inputs) {
      reserved_.insert(in->name);
      for (const Extent& e : in->shape)
        for (const std::string& s : e.Symbols()) reserved_.insert(s);
    }
    int t = 0;
    for (const Node* n : expr::TopologicalOrder(outputs)) {
      if (n->kind == Kind::kInput || n->kind == Kind::kScalar || n->kind == Kind::kSize) continue;
      names_[n] = n->label.empty() ? "t" + std::to_string(++t) : n->label;
    }
  }

  std::string FreshVar(bool bound) {
    static const char* kFree[] = {"i", "j", "a", "c", "e", "f", "g"};
    static const char* kBound[] = {"k", "l", "p", "r", "s", "u", "w", "x", "y"};
    const auto& pool = bound ? std::vector<std::string>(std::begin(kBound), std::end(kBound))
                             : std::vector<std::string>(std::begin(kFree), std::end(kFree));
    for (int round = 0;; ++round) {
      for (const std::string& base : pool) {
        const std::string name = round == 0 ? base : base + std::to_string(round);
        if (!reserved_.count(name) && !used_.count(name)) {
          used_.insert(name);
          return name;
        }
      }
    }
  }

  Scalar Reduce(const Node* e, const Index_& i) {
    const std::string key = IndexText(i);
    auto it = memo_.find({e, key});
    if (it != memo_.end()) {
      Log("share", key + " \xCF\x88 " + Name(e) + " is reduced already: the same scalar is used again");
      return it->second;
    }
    // A node is reduced once per distinct index, and each fold binds a variable of its own, so
    // the indices can double at every level (n lines of `q = q @ q.T`): refused, not run for ever.
    UserCheck(memo_.size() < kMaxReductions, "the spec is too large to derive: its DNF needs more than ",
              kMaxReductions, " \xCF\x88-reductions (an operand reached at an index that doubles with every line?)");
    Scalar s = Apply(e, i);
    memo_[{e, key}] = s;
    return s;
  }

 private:
  std::string Name(const Node* e) const {
    switch (e->kind) {
      case Kind::kInput: return e->name;
      case Kind::kScalar: case Kind::kSize: return expr::Describe(*e, {});
      default: return names_.at(e);
    }
  }

  void Log(const std::string& rule, const std::string& text) { steps_->push_back({rule, text}); }

  // "<i l> ψ t3" for an operand at an index.
  std::string At(const Index_& i, const expr::Expr& x) const {
    return (i.empty() ? std::string("") : IndexText(i) + " \xCF\x88 ") + Name(x.get());
  }

  void LogRule(const std::string& rule, const Node* e, const Index_& i, const std::string& result) {
    std::vector<std::string> operand_names;
    for (const expr::Expr& o : e->operands) operand_names.push_back(Name(o.get()));
    Log(rule, IndexText(i) + " \xCF\x88 (" + expr::Describe(*e, operand_names) + ")  \xE2\x87\x92  " + result);
  }

  Scalar Apply(const Node* e, const Index_& i) {
    const auto& x = e->operands;
    switch (e->kind) {
      case Kind::kInput:
        return Load(e->name, i);
      case Kind::kScalar:
        return Const(e->value);
      case Kind::kSize:
        return SizeValue(e->size);
      case Kind::kIota:
        LogRule("psi-iota", e, i, i[0].ToString());
        return IndexValue(i[0]);
      case Kind::kMap:
        LogRule("psi-map", e, i, moa::Name(e->unary) + "(" + At(i, x[0]) + ")");
        return Unary(e->unary, Reduce(x[0].get(), i));
      case Kind::kBinary: {
        const Index_ ia = x[0]->shape.empty() ? Index_{} : i, ib = x[1]->shape.empty() ? Index_{} : i;
        LogRule("psi-pointwise", e, i, "(" + At(ia, x[0]) + ") " + Symbol(e->binary) + " (" + At(ib, x[1]) + ")");
        return Binary(e->binary, Reduce(x[0].get(), ia), Reduce(x[1].get(), ib));
      }
      case Kind::kWhere: {
        Index_ ix[3];
        for (int k = 0; k < 3; ++k) ix[k] = x[k]->shape.empty() ? Index_{} : i;
        LogRule("psi-where", e, i, "(" + At(ix[0], x[0]) + ") ? (" + At(ix[1], x[1]) + ") : (" + At(ix[2], x[2]) + ")");
        return Select(Reduce(x[0].get(), ix[0]), Reduce(x[1].get(), ix[1]), Reduce(x[2].get(), ix[2]));
      }
      case Kind::kExtend: {
        // Omega with a one-cell frame: leading axes are dropped, extended axes indexed by 0.
        const size_t r = x[0]->shape.size(), d = e->shape.size();
        Index_ j(i.end() - static_cast<std::ptrdiff_t>(r), i.end());
        for (size_t a = 0; a < r; ++a)
          if (x[0]->shape[a] == Extent(1) && !(e->shape[d - r + a] == Extent(1))) j[a] = Affine(0);
        LogRule("psi-extend", e, i, At(j, x[0]));
        return Reduce(x[0].get(), j);
      }
      case Kind::kPermute: {
        Index_ j(i.size());
        for (size_t r = 0; r < e->counts.size(); ++r) j[static_cast<size_t>(e->counts[r])] = i[r];
        LogRule("psi-permute", e, i, At(j, x[0]));
        return Reduce(x[0].get(), j);
      }
      case Kind::kTake: case Kind::kDrop: {
        Index_ j = i;
        for (size_t a = 0; a < e->counts.size(); ++a) {
          const int64_t k = e->counts[a];
          if (e->kind == Kind::kTake && k < 0) j[a] = j[a] + (x[0]->shape[a] + Extent(k));
          if (e->kind == Kind::kDrop && k > 0) j[a] = j[a] + Affine(k);
        }
        LogRule(e->kind == Kind::kTake ? "psi-take" : "psi-drop", e, i, At(j, x[0]));
        return Reduce(x[0].get(), j);
      }
      case Kind::kReverse: {
        Index_ j = i;
        j[0] = Affine(x[0]->shape[0] - Extent(1)) - i[0];
        LogRule("psi-reverse", e, i, At(j, x[0]));
        return Reduce(x[0].get(), j);
      }
      case Kind::kCat: {
        const Extent s0 = x[0]->shape[0];
        Index_ j = i;
        j[0] = i[0] - Affine(s0);
        const Scalar cond = Binary(BinaryOp::kLess, IndexValue(i[0]), SizeValue(s0));
        LogRule("psi-catenate", e, i, i[0].ToString() + " < " + s0.ToString() + " ? " + At(i, x[0]) + " : " + At(j, x[1]));
        return Select(cond, Reduce(x[0].get(), i), Reduce(x[1].get(), j));
      }
      case Kind::kOuter: {
        const auto da = static_cast<std::ptrdiff_t>(x[0]->shape.size());
        const Index_ ia(i.begin(), i.begin() + da), ib(i.begin() + da, i.end());
        LogRule("psi-outer", e, i, "(" + At(ia, x[0]) + ") " + Symbol(e->binary) + " (" + At(ib, x[1]) + ")");
        return Binary(e->binary, Reduce(x[0].get(), ia), Reduce(x[1].get(), ib));
      }
      case Kind::kInner: {
        // frame ++ <a> ++ <b>: A at frame ++ a ++ <k>, B at frame ++ <k> ++ b.
        const auto f = static_cast<std::ptrdiff_t>(e->axis);
        const auto da = static_cast<std::ptrdiff_t>(x[0]->shape.size()) - 1;  // A's index length less k
        const std::string k = FreshVar(true);
        Index_ ia(i.begin(), i.begin() + da);
        ia.push_back(Affine::Var(k));
        Index_ ib(i.begin(), i.begin() + f);
        ib.push_back(Affine::Var(k));
        ib.insert(ib.end(), i.begin() + da, i.end());
        const Extent p = x[0]->shape.back();
        LogRule("psi-inner", e, i, "\xCE\xA3_{" + k + " < " + p.ToString() + "} (" + At(ia, x[0]) + ") \xC2\xB7 (" + At(ib, x[1]) + ")");
        return Fold(BinaryOp::kAdd, k, p,
                    Binary(BinaryOp::kMul, Reduce(x[0].get(), ia), Reduce(x[1].get(), ib)));
      }
      case Kind::kReduce: {
        if (e->empty_is_error && nonempty_seen_.insert(e).second)
          nonempty_->push_back({x[0]->shape[static_cast<size_t>(e->axis)], expr::NonEmptyMessage(*e, *x[0])});
        const auto a = static_cast<std::ptrdiff_t>(e->axis);
        const std::string l = FreshVar(true);
        Index_ j(i.begin(), i.begin() + a);
        j.push_back(Affine::Var(l));
        j.insert(j.end(), i.begin() + a + (e->keepdim ? 1 : 0), i.end());
        const Extent n = x[0]->shape[static_cast<size_t>(a)];
        LogRule("psi-reduce", e, i, moa::Name(e->binary) + "_{" + l + " < " + n.ToString() + "} (" + At(j, x[0]) + ")");
        return Fold(e->binary, l, n, Reduce(x[0].get(), j));
      }
    }
    throw InternalError("psi-reduce: unknown expr kind");
  }

  std::vector<Step>* steps_;
  std::vector<NonEmpty>* nonempty_;
  std::set<const Node*> nonempty_seen_;
  std::set<std::string> reserved_, used_;
  std::map<const Node*, std::string> names_;
  std::map<std::pair<const Node*, std::string>, Scalar> memo_;
};

}  // namespace

Dnf PsiReduce(const std::vector<expr::Expr>& inputs, const std::vector<expr::Expr>& outputs,
              const std::vector<std::string>& output_names) {
  InternalCheck(outputs.size() == output_names.size(), "one name per output");
  Dnf dnf;
  for (const expr::Expr& in : inputs) dnf.inputs.push_back({in->name, in->shape, in->type});
  Reducer reducer(inputs, outputs, &dnf.steps, &dnf.nonempty);
  for (size_t o = 0; o < outputs.size(); ++o) {
    Output out;
    out.name = output_names[o];
    out.shape = outputs[o]->shape;
    Index_ i;
    for (size_t a = 0; a < out.shape.size(); ++a) {
      out.vars.push_back(reducer.FreshVar(false));
      i.push_back(Affine::Var(out.vars.back()));
    }
    dnf.steps.push_back({"start", "reduce " + IndexText(i) + " \xCF\x88 " + out.name + " for the full index of shape " + ToString(out.shape)});
    out.body = reducer.Reduce(outputs[o].get(), i);
    dnf.outputs.push_back(std::move(out));
  }
  return dnf;
}

Dnf Derive(const std::vector<expr::Expr>& inputs, const std::vector<expr::Expr>& outputs,
           const std::vector<std::string>& output_names) {
  return Factor(Hoist(PsiReduce(inputs, outputs, output_names)));
}

}  // namespace moa::dnf
