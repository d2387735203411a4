#include "spec/lower.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "expr/torch_ops.h"
#include "spec/context.h"

namespace moa::spec::internal {
namespace {

using K = Value::Kind;

// Modules a spec may import; the names inside them are checked where they are used.
const std::set<std::string> kModules = {"torch", "torch.nn", "torch.nn.functional", "math",
                                        "jaxtyping", "typing", "__future__"};

// Attributes of modules that are constants rather than functions.
std::optional<Value> ModuleConstant(const std::string& path) {
  const double inf = std::numeric_limits<double>::infinity();
  if (path == "math.inf" || path == "torch.inf") return Value::Number(inf, false);
  if (path == "math.pi" || path == "torch.pi") return Value::Number(M_PI, false);
  if (path == "math.e" || path == "torch.e") return Value::Number(M_E, false);
  static const std::set<std::string> kDtypes = {"torch.bool", "torch.float", "torch.float32", "torch.float64",
                                                "torch.double", "torch.float16", "torch.bfloat16", "torch.half"};
  if (kDtypes.count(path)) return Value::Dtype(path);
  return std::nullopt;
}

class Lowerer {
 public:
  Lowerer(const std::string& source, const std::string& file) : cx_(file) {
    spec_.file = file;
    spec_.source = source;
  }

  Spec Run(const Module& m) {
    for (const Import& im : m.imports) BindImport(im);
    const Function& f = m.function;
    spec_.function = f.name;
    for (const Argument& a : f.args) BindArgument(a);
    for (const Stmt& s : f.body) {
      // Each construct re-throws the expr layer's errors at its own place; this is the backstop
      // that keeps any that slip through pointing at the statement.
      cx_.Guard(s.loc, [&] {
        if (s.kind == StmtKind::kAssign) {
          Assign(s);
        } else {
          Return(s, f);
        }
      });
    }
    return std::move(spec_);
  }

 private:
  void BindImport(const Import& im) {
    const std::string module = im.target.substr(0, im.target.rfind('.'));
    const bool whole = kModules.count(im.target) > 0;
    if (!whole && !kModules.count(module)) {
      const std::string top = im.target.substr(0, im.target.find('.'));
      cx_.Fail(im.loc, "unsupported module '" + (kModules.count(top) ? im.target : top) +
                           "': a spec may import torch, torch.nn.functional, math, jaxtyping and typing");
    }
    if (std::optional<Value> c = ModuleConstant(im.target)) {
      env_[im.alias] = *c;
    } else {
      env_[im.alias] = Value::Ref(im.target, im.alias);
    }
  }

  // --- annotations -------------------------------------------------------------------------

  std::string RefPath(const AstPtr& e) {
    if (e->kind != AstKind::kName && e->kind != AstKind::kAttribute) return "";
    const Value v = Eval(e);
    return v.kind == K::kRef ? v.path : "";
  }

  Shape ParseShape(const Ast& s) {
    Shape shape;
    std::istringstream words(s.text);
    std::string w;
    while (words >> w) {
      bool digits = true, name = !std::isdigit(static_cast<unsigned char>(w[0]));
      for (char c : w) {
        digits = digits && std::isdigit(static_cast<unsigned char>(c));
        name = name && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
      }
      if (digits) {
        if (w.size() > 12) cx_.Fail(s.loc, "dimension '" + w + "' in a shape annotation is too large");
        shape.push_back(Extent(std::stoll(w)));
      } else if (name) {
        shape.push_back(Extent::Symbol(w));
        if (std::find(spec_.sizes.begin(), spec_.sizes.end(), w) == spec_.sizes.end()) spec_.sizes.push_back(w);
      } else {
        cx_.Fail(s.loc, "unsupported dimension '" + w +
                            "' in a shape annotation: use size names and integers, such as \"b h n dk\"");
      }
    }
    return shape;
  }

  // Float[Tensor, "n dk"], Bool[Tensor, "n m"] or "n dk"; nullopt for a plain Tensor.
  std::optional<std::pair<Shape, expr::ElemType>> Annotation(const AstPtr& a, const std::string& whose) {
    const std::string hint = whose + " needs a shape annotation such as Float[Tensor, \"n dk\"]";
    if (a->kind == AstKind::kString) return std::make_pair(ParseShape(*a), expr::ElemType::kReal);
    if (a->kind != AstKind::kSubscript) {
      if (RefPath(a) == "torch.Tensor") return std::nullopt;
      cx_.Fail(a->loc, hint);
    }
    const std::string type = RefPath(a->children[0]);
    expr::ElemType elem;
    if (type == "jaxtyping.Float" || type == "jaxtyping.Float32" || type == "jaxtyping.Float64") {
      elem = expr::ElemType::kReal;
    } else if (type == "jaxtyping.Bool") {
      elem = expr::ElemType::kBool;
    } else if (type.rfind("jaxtyping.", 0) == 0) {
      cx_.Fail(a->children[0]->loc, "unsupported element type '" + type.substr(10) + "': use Float or Bool");
    } else {
      cx_.Fail(a->loc, hint);
    }
    const AstPtr& index = a->children[1];
    if (index->kind != AstKind::kTuple || index->children.size() != 2 ||
        index->children[1]->kind != AstKind::kString)
      cx_.Fail(index->loc, "a jaxtyping annotation reads " + type.substr(10) + "[Tensor, \"n dk\"]");
    if (RefPath(index->children[0]) != "torch.Tensor")
      cx_.Fail(index->children[0]->loc, "the array type of an annotation must be torch's Tensor");
    return std::make_pair(ParseShape(*index->children[1]), elem);
  }

  void BindArgument(const Argument& a) {
    const std::string whose = "argument '" + a.name + "'";
    if (!a.annotation) cx_.Fail(a.loc, whose + " needs a shape annotation such as Float[Tensor, \"n dk\"]");
    const auto ann = Annotation(a.annotation, whose);
    if (!ann) cx_.Fail(a.annotation->loc, whose + " needs a shape annotation such as Float[Tensor, \"n dk\"]");
    Param p{a.name, ann->first, ann->second, a.loc};
    const expr::Expr input = expr::WithSource(expr::Input(a.name, p.shape, p.type), a.loc);
    spec_.params.push_back(std::move(p));
    spec_.inputs.push_back(input);
    env_[a.name] = Value::Tensor(input);
  }

  // --- statements ---------------------------------------------------------------------------

  // Gives an assigned tensor its variable's name and line, for reports.
  static Value Label(Value v, const std::string& name, expr::SourceLoc loc) {
    auto label = [&](expr::Expr e, const std::string& as) {
      if (e->kind == expr::Kind::kInput || !e->label.empty()) return e;
      return expr::WithSource(e, loc, as);
    };
    if (v.kind == K::kTensor) v.tensor = label(v.tensor, name);
    if (v.kind == K::kMaxResult) v.tensor = label(v.tensor, name + ".values");
    if (v.kind == K::kTuple)
      for (size_t i = 0; i < v.items.size(); ++i) v.items[i] = Label(v.items[i], name + "[" + std::to_string(i) + "]", loc);
    return v;
  }

  void Assign(const Stmt& s) {
    Value v = Eval(s.value);
    if (s.targets.size() == 1) {
      env_[s.targets[0].name] = Label(std::move(v), s.targets[0].name, s.targets[0].loc);
      return;
    }
    if (v.kind != K::kTuple)
      cx_.Fail(s.loc, "cannot unpack " + DescribeValue(v) + " into " + std::to_string(s.targets.size()) + " names");
    if (v.items.size() != s.targets.size())
      cx_.Fail(s.loc, "cannot unpack " + std::to_string(v.items.size()) + " values into " +
                          std::to_string(s.targets.size()) + " names");
    for (size_t i = 0; i < v.items.size(); ++i)
      env_[s.targets[i].name] = Label(v.items[i], s.targets[i].name, s.targets[i].loc);
  }

  void Return(const Stmt& s, const Function& f) {
    std::vector<AstPtr> values = s.value->kind == AstKind::kTuple ? s.value->children : std::vector<AstPtr>{s.value};
    for (size_t i = 0; i < values.size(); ++i) {
      const Value v = Eval(values[i]);
      if (v.kind != K::kTensor || v.tensor->shape.empty())
        cx_.Fail(values[i]->start, "a spec returns tensors, got " + DescribeValue(v));
      // An output is a buffer of its own: its name may not be an argument's (`return q` would
      // otherwise name the output `q` and the input buffer would stand for both) or another's.
      auto taken = [&](const std::string& n) {
        if (std::find(spec_.output_names.begin(), spec_.output_names.end(), n) != spec_.output_names.end()) return true;
        return std::any_of(spec_.params.begin(), spec_.params.end(), [&](const Param& p) { return p.name == n; });
      };
      std::string name = values.size() == 1 ? "out" : "out" + std::to_string(i);
      if (values[i]->kind == AstKind::kName && !taken(values[i]->text)) name = values[i]->text;
      for (int k = 0; taken(name); ++k) name = "out" + std::to_string(i) + (k ? "_" + std::to_string(k) : "");
      spec_.outputs.push_back(v.tensor);
      spec_.output_names.push_back(name);
    }
    if (f.returns) CheckReturnAnnotation(f.returns);
  }

  void CheckReturnAnnotation(const AstPtr& a) {
    std::vector<AstPtr> each{a};
    if (a->kind == AstKind::kSubscript) {
      const std::string base = RefPath(a->children[0]);
      if (base == "typing.Tuple" || base == "tuple") {
        const AstPtr& index = a->children[1];
        each = index->kind == AstKind::kTuple ? index->children : std::vector<AstPtr>{index};
      }
    }
    if (each.size() != spec_.outputs.size())
      cx_.Fail(a->loc, "the return annotation names " + std::to_string(each.size()) +
                           (each.size() == 1 ? " value" : " values") + " but '" +
                           spec_.function + "' returns " + std::to_string(spec_.outputs.size()));
    for (size_t i = 0; i < each.size(); ++i) {
      const auto ann = Annotation(each[i], "the return value");
      if (!ann) continue;
      const expr::Expr& out = spec_.outputs[i];
      if (ann->first != out->shape || ann->second != out->type)
        cx_.Fail(each[i]->loc, "the return annotation says " + ToString(ann->first) +
                                   (ann->second == expr::ElemType::kBool ? " bool" : "") + " but '" +
                                   spec_.output_names[i] + "' is " + DescribeValue(Value::Tensor(out)));
    }
  }

  // --- expressions --------------------------------------------------------------------------

  Value Eval(const AstPtr& e) {
    switch (e->kind) {
      case AstKind::kName: return Lookup(*e);
      case AstKind::kNumber: return Value::Number(e->number, e->is_int);
      case AstKind::kString: return Value::String(e->text);
      case AstKind::kAttribute: return Attribute(*e);
      case AstKind::kCall: return Call(*e);
      case AstKind::kSubscript: return Subscript(*e);
      case AstKind::kSlice: cx_.Fail(e->loc, "a slice is only allowed inside [ ]");
      case AstKind::kBinary:
        return BinaryOperator(cx_, e->text, {Eval(e->children[0]), e->children[0]->start},
                              {Eval(e->children[1]), e->children[1]->start}, e->loc);
      case AstKind::kUnary: return Unary(*e);
      case AstKind::kTuple:
      case AstKind::kList: {
        std::vector<Value> items;
        for (const AstPtr& c : e->children) items.push_back(Eval(c));
        return Value::Tuple(std::move(items), e->kind == AstKind::kList);
      }
    }
    throw InternalError("unknown syntax tree node");
  }

  Value Lookup(const Ast& e) {
    if (e.text == "True" || e.text == "False") return Value::Bool(e.text == "True");
    if (e.text == "None") return Value();
    auto it = env_.find(e.text);
    if (it != env_.end()) return it->second;
    if (e.text == "float" || e.text == "tuple") return Value::Ref(e.text, e.text);
    if (kModules.count(e.text)) cx_.Fail(e.loc, "unknown name '" + e.text + "' (missing 'import " + e.text + "'?)");
    if (e.text == "F") cx_.Fail(e.loc, "unknown name 'F' (missing 'import torch.nn.functional as F'?)");
    cx_.Fail(e.loc, "unknown name '" + e.text + "'");
  }

  Value Attribute(const Ast& e) {
    const Value base = Eval(e.children[0]);
    const std::string& name = e.text;
    switch (base.kind) {
      case K::kRef: {
        const std::string path = base.path + "." + name;
        if (std::optional<Value> c = ModuleConstant(path)) return *c;
        return Value::Ref(path, base.display + "." + name);
      }
      case K::kTensor: return TensorAttribute(base.tensor, name, e.loc);
      case K::kMaxResult:
        if (name == "values") return Value::Tensor(base.tensor);
        if (name == "indices") cx_.Fail(e.loc, "unsupported: the indices (argmax) of max");
        break;
      default:
        break;
    }
    cx_.Fail(e.loc, "unsupported attribute '" + name + "' of " + DescribeValue(base));
  }

  Value TensorAttribute(const expr::Expr& x, const std::string& name, expr::SourceLoc loc) {
    const size_t rank = x->shape.size();
    if (name == "T") {
      if (rank != 2)
        cx_.Fail(loc, "'.T' needs a 2-D tensor, got shape " + ToString(x->shape) +
                          ": use .mT or .transpose(-2, -1) to swap the last two dimensions");
      return Value::Tensor(Context::At(expr::torch::Transpose(x, 0, 1), loc));
    }
    if (name == "mT") {
      if (rank < 2) cx_.Fail(loc, "'.mT' needs at least 2 dimensions, got shape " + ToString(x->shape));
      return Value::Tensor(Context::At(expr::torch::Transpose(x, -2, -1), loc));
    }
    if (name == "shape") {
      std::vector<Value> sizes;
      for (const Extent& s : x->shape) sizes.push_back(Value::Size(s));
      return Value::Tuple(std::move(sizes));
    }
    if (name == "ndim") return Value::Number(static_cast<double>(rank), true);
    if (name == "dtype") return Value::Dtype(x->type == expr::ElemType::kBool ? "torch.bool" : "torch.float64");
    if (name == "device") {
      Value d;
      d.kind = K::kDevice;
      return d;
    }
    cx_.Fail(loc, "unsupported tensor attribute '" + name + "'");
  }

  Value Call(const Ast& e) {
    CallArgs args;
    args.loc = e.loc;
    for (size_t i = 1; i < e.children.size(); ++i) args.positional.push_back({Eval(e.children[i]), e.children[i]->start});
    for (const Keyword& k : e.keywords) args.keywords.push_back({k.name, k.loc, {Eval(k.value), k.value->start}});
    const AstPtr& callee = e.children[0];
    if (callee->kind == AstKind::kAttribute) {
      const Value self = Eval(callee->children[0]);
      if (self.kind == K::kTensor || self.kind == K::kOnes)
        return CallMethod(cx_, {self, callee->children[0]->start}, callee->text, args);
      if (self.kind == K::kRef) {
        const std::string path = self.path + "." + callee->text;
        if (ModuleConstant(path)) cx_.Fail(callee->loc, "'" + self.display + "." + callee->text + "' is not a function");
        return CallFunction(cx_, path, self.display + "." + callee->text, args);
      }
      cx_.Fail(callee->loc, "unsupported method '" + callee->text + "' of " + DescribeValue(self));
    }
    if (callee->kind == AstKind::kName) {
      const Value f = Lookup(*callee);
      if (f.kind == K::kRef) return CallFunction(cx_, f.path, callee->text, args);
      cx_.Fail(callee->loc, "'" + callee->text + "' is " + DescribeValue(f) + ", not a function");
    }
    cx_.Fail(e.loc, "unsupported call: call a function of torch or math, or a tensor method");
  }

  Value Subscript(const Ast& e) {
    const Value base = Eval(e.children[0]);
    const AstPtr& index = e.children[1];
    if (base.kind == K::kTensor) return Slice(base.tensor, index, e.loc);
    if (base.kind == K::kTuple || base.kind == K::kMaxResult) {
      if (index->kind == AstKind::kSlice) cx_.Fail(index->loc, "unsupported slice of " + DescribeValue(base));
      const int64_t n = base.kind == K::kTuple ? static_cast<int64_t>(base.items.size()) : 2;
      const int64_t i = cx_.AsInt({Eval(index), index->start}, "an index into " + DescribeValue(base));
      if (i < -n || i >= n)
        cx_.Fail(index->loc, "index " + std::to_string(i) + " is out of range for " + DescribeValue(base) +
                                 " of length " + std::to_string(n));
      const size_t k = static_cast<size_t>(i < 0 ? i + n : i);
      if (base.kind == K::kTuple) return base.items[k];
      if (k == 1) cx_.Fail(index->loc, "unsupported: the indices (argmax) of max");
      return Value::Tensor(base.tensor);
    }
    cx_.Fail(e.loc, "unsupported subscript of " + DescribeValue(base));
  }

  std::optional<int64_t> SliceBound(const AstPtr& b) {
    if (!b) return std::nullopt;
    const Value v = Eval(b);
    if (v.kind == K::kNone) return std::nullopt;
    return cx_.AsInt({v, b->start}, "a slice bound");
  }

  // x[1:], x[:2], x[-1:], x[:-1], x[1:, 2:]: one bound per axis, i.e. a prefix or a suffix, which
  // is exactly MoA's take and drop (negative counts from the end).
  Value Slice(expr::Expr x, const AstPtr& index, expr::SourceLoc loc) {
    std::vector<AstPtr> items = index->kind == AstKind::kTuple ? index->children : std::vector<AstPtr>{index};
    if (items.size() > x->shape.size())
      cx_.Fail(index->loc, "too many indices (" + std::to_string(items.size()) + ") for a tensor of shape " +
                               ToString(x->shape));
    Index drop(items.size(), 0);
    std::vector<std::pair<size_t, int64_t>> takes;
    for (size_t j = 0; j < items.size(); ++j) {
      const AstPtr& s = items[j];
      if (s->kind != AstKind::kSlice)
        cx_.Fail(s->loc, "unsupported tensor index: only slices with one constant bound, such as x[1:] or x[:2]");
      if (s->children[2]) cx_.Fail(s->children[2]->loc, "unsupported slice step");
      const std::optional<int64_t> lo = SliceBound(s->children[0]), hi = SliceBound(s->children[1]);
      if (lo && hi)
        cx_.Fail(s->loc, "unsupported slice with two bounds: slice a prefix (x[:k]) or a suffix (x[k:]) per axis");
      if (lo && *lo >= 0) drop[j] = *lo;                 // x[k:]  = k ▽ x
      if (lo && *lo < 0) takes.push_back({j, *lo});      // x[-k:] = -k △ x
      if (hi && *hi >= 0) takes.push_back({j, *hi});     // x[:k]  = k △ x
      if (hi && *hi < 0) drop[j] = *hi;                  // x[:-k] = -k ▽ x
    }
    return Value::Tensor(cx_.Guard(loc, [&] {
      expr::Expr r = x;
      if (std::any_of(drop.begin(), drop.end(), [](int64_t d) { return d != 0; })) r = expr::Drop(drop, r);
      for (const auto& [axis, k] : takes) {
        // take needs a count for every axis before the sliced one; a symbolic extent has no
        // integer count, so the axis is brought to the front instead.
        if (axis == 0) {
          r = expr::Take({k}, r);
        } else {
          r = expr::torch::Transpose(r, 0, static_cast<int64_t>(axis));
          r = expr::torch::Transpose(expr::Take({k}, r), 0, static_cast<int64_t>(axis));
        }
      }
      return Context::At(r, loc);
    }));
  }

  Value Unary(const Ast& e) {
    const Value v = Eval(e.children[0]);
    const expr::SourceLoc at = e.children[0]->start;
    if (e.text == "+") {
      if (v.kind == K::kTensor || v.kind == K::kNumber || v.kind == K::kSize) return v;
    } else if (e.text == "-") {
      if (v.kind == K::kNumber) return Value::Number(-v.number, v.is_int);
      if (v.kind == K::kTensor || v.kind == K::kSize)
        return Value::Tensor(Context::At(expr::Map(UnaryOp::kNeg, cx_.AsTensor({v, at}, "")), e.loc));
    } else if (v.kind == K::kTensor && v.tensor->type == expr::ElemType::kBool) {  // ~
      return Value::Tensor(Context::At(expr::Map(UnaryOp::kNot, v.tensor), e.loc));
    } else {
      cx_.Fail(e.loc, "'~' needs a bool tensor, got " + DescribeValue(v));
    }
    cx_.Fail(e.loc, "unary '" + e.text + "' needs a tensor, a size or a number, got " + DescribeValue(v));
  }

  Context cx_;
  Spec spec_;
  std::map<std::string, Value> env_;
};

}  // namespace

Spec Lower(const Module& module, const std::string& source, const std::string& file) {
  return Lowerer(source, file).Run(module);
}

}  // namespace moa::spec::internal
