// moa spec — the torch and math functions and tensor methods of the subset, each mapped to
// torch_ops (src/expr/torch_ops.h). Functions that are also methods (torch.exp(x) and x.exp())
// share one handler: the function form binds the tensor as its first argument, `input`.
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "expr/torch_ops.h"
#include "spec/context.h"

namespace moa::spec::internal {
namespace {

using K = Value::Kind;
using expr::Expr;

// One call being lowered: the user's name for the function, its tensor and the other arguments.
struct Call {
  const Context& cx;
  std::string display;
  bool method;
  Arg self;  // filled by Bind for the function form
  const CallArgs& args;

  // Binds the non-tensor parameters `names`; the function form also takes `input` first.
  std::vector<std::optional<Arg>> Bind(std::vector<std::string> names, size_t required) {
    if (method) return cx.Bind(display, names, required, args);
    names.insert(names.begin(), "input");
    std::vector<std::optional<Arg>> bound = cx.Bind(display, names, required + 1, args);
    self = *bound[0];
    bound.erase(bound.begin());
    return bound;
  }
  Expr Tensor() const {
    if (self.value.kind != K::kTensor)
      cx.Fail(self.loc, "'" + display + "' needs a tensor, got " + DescribeValue(self.value) +
                            (self.value.kind == K::kSize ? " (math.sqrt and arithmetic take sizes)" : ""));
    return self.value.tensor;
  }
  std::string Of(const std::string& param) const { return "'" + param + "' of '" + display + "'"; }
  Value Done(const std::function<Expr()>& f) const {
    return Value::Tensor(cx.Guard(args.loc, [&] { return Context::At(f(), args.loc); }));
  }
  // The dims of permute and flip: varargs ints, or one tuple/list, or a dims= keyword.
  std::vector<int64_t> Dims(size_t first_positional) const {
    for (const KeywordArg& k : args.keywords)
      if (k.name != "dims") cx.Fail(k.name_loc, "'" + display + "' got an unexpected keyword argument '" + k.name + "'");
    const size_t n = args.positional.size() - first_positional;
    if (!args.keywords.empty()) {
      if (n > 0) cx.Fail(args.keywords[0].name_loc, "'" + display + "' got its dims twice");
      return cx.AsInts(args.keywords[0].arg, Of("dims"));
    }
    if (n == 0) cx.Fail(args.loc, "'" + display + "' needs dims");
    if (n == 1) return cx.AsInts(args.positional[first_positional], Of("dims"));
    std::vector<int64_t> dims;
    for (size_t i = first_positional; i < args.positional.size(); ++i)
      dims.push_back(cx.AsInt(args.positional[i], Of("dims")));
    return dims;
  }
};

Expr ReduceAll(BinaryOp op, Expr x) {
  while (!x->shape.empty()) x = expr::Reduce(op, x, 0, false);
  return x;
}

// torch.tril/triu on a tensor: zero (False) outside the triangle of the last two axes.
Expr Triangle(Call& c, bool lower, Expr x, int64_t diagonal) {
  if (x->shape.size() < 2) c.cx.Fail(c.self.loc, "'" + c.display + "' needs at least 2 dimensions, got shape " + ToString(x->shape));
  const Extent n = x->shape[x->shape.size() - 2], m = x->shape.back();
  // triu(k) keeps j ≥ i + k, the complement of tril(k − 1).
  Expr mask = lower ? expr::torch::TrilMask(n, m, diagonal)
                    : expr::Map(UnaryOp::kNot, expr::torch::TrilMask(n, m, diagonal - 1));
  return expr::torch::Where(mask, x, expr::Scalar(0));
}

Value TensorOp(Call& c, const std::string& op) {
  const Context& cx = c.cx;
  static const std::map<std::string, UnaryOp> kUnary = {
      {"exp", UnaryOp::kExp}, {"log", UnaryOp::kLog}, {"sqrt", UnaryOp::kSqrt}, {"abs", UnaryOp::kAbs},
      {"neg", UnaryOp::kNeg}, {"negative", UnaryOp::kNeg}, {"reciprocal", UnaryOp::kRecip}};
  if (auto u = kUnary.find(op); u != kUnary.end()) {
    c.Bind({}, 0);
    const Expr x = c.Tensor();
    return c.Done([&] { return expr::Map(u->second, x); });
  }
  if (op == "rsqrt") {
    c.Bind({}, 0);
    const Expr x = c.Tensor();
    return c.Done([&] { return expr::Map(UnaryOp::kRecip, expr::Map(UnaryOp::kSqrt, x)); });
  }
  if (op == "transpose") {
    auto a = c.Bind({"dim0", "dim1"}, 2);
    const Expr x = c.Tensor();
    const int64_t d0 = cx.AsInt(*a[0], c.Of("dim0")), d1 = cx.AsInt(*a[1], c.Of("dim1"));
    return c.Done([&] { return expr::torch::Transpose(x, d0, d1); });
  }
  if (op == "permute" || op == "flip") {
    if (!c.method) {
      if (c.args.positional.empty()) cx.Fail(c.args.loc, "'" + c.display + "' needs a tensor and dims");
      c.self = c.args.positional[0];
    }
    const Expr x = c.Tensor();
    const std::vector<int64_t> dims = c.Dims(c.method ? 0 : 1);
    if (op == "permute") return c.Done([&] { return expr::torch::Permute(x, dims); });
    return c.Done([&] {
      // MoA reverses axis 0; another axis is brought to the front and back again.
      const int64_t rank = static_cast<int64_t>(x->shape.size());
      std::set<int64_t> seen;
      Expr r = x;
      for (int64_t d : dims) {
        d = expr::torch::NormalizeDim(d, rank, "flip");
        UserCheck(seen.insert(d).second, "flip: dim ", d, " appears twice");
        r = d == 0 ? expr::Reverse(r)
                   : expr::torch::Transpose(expr::Reverse(expr::torch::Transpose(r, 0, d)), 0, d);
      }
      return r;
    });
  }
  if (op == "softmax") {
    auto a = c.Bind({"dim"}, 1);
    const Expr x = c.Tensor();
    if (a[0]->value.kind == K::kNone)
      cx.Fail(a[0]->loc, "'" + c.display + "' needs an explicit dim (PyTorch's implicit choice is deprecated)");
    const int64_t dim = cx.AsInt(*a[0], c.Of("dim"));
    return c.Done([&] { return expr::torch::Softmax(x, dim); });
  }
  if (op == "amax" || op == "sum" || op == "mean" || op == "max") {
    auto a = c.Bind({"dim", "keepdim"}, op == "amax" ? 1 : 0);
    const Expr x = c.Tensor();
    if (op == "max" && a[0] && a[0]->value.kind == K::kTensor) {  // torch.max(a, b): elementwise
      if (a[1]) cx.Fail(a[1]->loc, "'" + c.display + "' of two tensors takes no keepdim");
      const Expr y = a[0]->value.tensor;
      return c.Done([&] { return expr::torch::Arith(BinaryOp::kMax, x, y); });
    }
    const bool keepdim = a[1] ? cx.AsBool(*a[1], c.Of("keepdim")) : false;
    const bool all = !a[0] || a[0]->value.kind == K::kNone;
    if (all && (op == "max" || op == "amax"))
      cx.Fail(c.args.loc, "'" + c.display + "' over all elements is not supported: give dim");
    if (all && keepdim) cx.Fail(a[1]->loc, "'" + c.display + "' with keepdim needs a dim");
    std::vector<int64_t> dims;
    if (!all) {
      dims = cx.AsInts(*a[0], c.Of("dim"));
      if (dims.size() != 1) cx.Fail(a[0]->loc, "'" + c.display + "' over several dims is not supported: reduce one dim at a time");
    }
    const BinaryOp bop = op == "amax" || op == "max" ? BinaryOp::kMax : BinaryOp::kAdd;
    Value v = c.Done([&] {
      if (all) {
        Expr s = ReduceAll(bop, x);
        return op == "mean" ? expr::Binary(BinaryOp::kDiv, s, expr::Size(Size(x->shape))) : s;
      }
      const int64_t d = expr::torch::NormalizeDim(dims[0], static_cast<int64_t>(x->shape.size()), op);
      Expr s = bop == BinaryOp::kMax ? expr::torch::Amax(x, d, keepdim) : expr::torch::Sum(x, d, keepdim);
      return op == "mean" ? expr::torch::Arith(BinaryOp::kDiv, s, expr::Size(x->shape[static_cast<size_t>(d)])) : s;
    });
    if (op == "max") v.kind = K::kMaxResult;  // (values, indices): the spec must take .values
    return v;
  }
  if (op == "masked_fill") {
    auto a = c.Bind({"mask", "value"}, 2);
    const Expr x = c.Tensor();
    if (a[0]->value.kind != K::kTensor || a[0]->value.tensor->type != expr::ElemType::kBool)
      cx.Fail(a[0]->loc, c.Of("mask") + " must be a bool tensor, got " + DescribeValue(a[0]->value));
    const Expr mask = a[0]->value.tensor;
    const double value = cx.AsNumber(*a[1], c.Of("value"));
    return c.Done([&] { return expr::torch::MaskedFill(x, mask, value); });
  }
  if (op == "matmul") {
    auto a = c.Bind({"other"}, 1);
    return BinaryOperator(cx, "@", c.self, *a[0], c.args.loc);
  }
  if (op == "outer") {  // 1-D only, as torch.outer
    auto a = c.Bind({"vec2"}, 1);
    const Expr x = c.Tensor();
    const Expr y = cx.AsTensor(*a[0], c.Of("vec2"));
    if (x->shape.size() != 1 || y->shape.size() != 1)
      cx.Fail(c.args.loc, "'" + c.display + "' needs two 1-D tensors, got shapes " + ToString(x->shape) + " and " +
                              ToString(y->shape));
    return c.Done([&] { return expr::Outer(BinaryOp::kMul, x, y); });
  }
  if (op == "where" && c.method) {  // x.where(cond, y) = torch.where(cond, x, y)
    auto a = c.Bind({"condition", "other"}, 2);
    const Expr x = c.Tensor();
    const Expr cond = cx.AsTensor(*a[0], c.Of("condition"));
    const Expr y = cx.AsTensor(*a[1], c.Of("other"));
    return c.Done([&] { return expr::torch::Where(cond, x, y); });
  }
  if (op == "tril" || op == "triu") {
    auto a = c.Bind({"diagonal"}, 0);
    const int64_t k = a[0] ? cx.AsInt(*a[0], c.Of("diagonal")) : 0;
    if (c.self.value.kind == K::kOnes) {
      const std::vector<Value>& dims = c.self.value.items;
      if (dims.size() != 2)
        cx.Fail(c.self.loc, "'" + c.display + "' of torch.ones needs 2 dimensions, got " + std::to_string(dims.size()));
      const bool boolean = c.self.value.path == "torch.bool";
      return c.Done([&] {
        Expr mask = op == "tril" ? expr::torch::TrilMask(dims[0].size, dims[1].size, k)
                                 : expr::Map(UnaryOp::kNot, expr::torch::TrilMask(dims[0].size, dims[1].size, k - 1));
        return boolean ? mask : expr::torch::Where(mask, expr::Scalar(1), expr::Scalar(0));
      });
    }
    const Expr x = c.Tensor();
    return c.Done([&] { return Triangle(c, op == "tril", x, k); });
  }
  if (op == "size" && c.method) {
    auto a = c.Bind({"dim"}, 0);
    const Expr x = c.Tensor();
    if (!a[0]) {
      std::vector<Value> sizes;
      for (const Extent& s : x->shape) sizes.push_back(Value::Size(s));
      return Value::Tuple(std::move(sizes));
    }
    const int64_t d = cx.AsInt(*a[0], c.Of("dim"));
    const int64_t nd = cx.Guard(a[0]->loc, [&] { return expr::torch::NormalizeDim(d, static_cast<int64_t>(x->shape.size()), "size"); });
    return Value::Size(x->shape[static_cast<size_t>(nd)]);
  }
  if (op == "dim" && c.method) {
    c.Bind({}, 0);
    return Value::Number(static_cast<double>(c.Tensor()->shape.size()), true);
  }
  cx.Fail(c.args.loc, std::string("unsupported ") + (c.method ? "tensor method '" : "function '") + c.display + "'");
}

// torch.ones(n, m, dtype=torch.bool): kept as its sizes until .tril/.triu turns it into a mask.
Value Ones(const Context& cx, const std::string& display, const CallArgs& args) {
  Value v;
  v.kind = K::kOnes;
  v.path = "torch.float32";
  std::vector<Arg> dims = args.positional;
  if (dims.size() == 1 && dims[0].value.kind == K::kTuple) {
    std::vector<Arg> items;
    for (const Value& i : dims[0].value.items) items.push_back({i, dims[0].loc});
    dims = items;
  }
  if (dims.empty()) cx.Fail(args.loc, "'" + display + "' needs sizes");
  for (const Arg& d : dims) v.items.push_back(Value::Size(cx.AsExtent(d, "a size of '" + display + "'")));
  for (const KeywordArg& k : args.keywords) {
    if (k.name == "dtype") {
      if (k.arg.value.kind != K::kDtype) cx.Fail(k.arg.loc, "'dtype' of '" + display + "' must be a torch dtype, got " + DescribeValue(k.arg.value));
      v.path = k.arg.value.path;
    } else if (k.name != "device") {
      cx.Fail(k.name_loc, "'" + display + "' got an unexpected keyword argument '" + k.name + "'");
    }
  }
  return v;
}

Value Cat(const Context& cx, const std::string& display, const CallArgs& args) {
  auto a = cx.Bind(display, {"tensors", "dim"}, 1, args);
  if (a[0]->value.kind != K::kTuple || a[0]->value.items.empty())
    cx.Fail(a[0]->loc, "'" + display + "' needs a list or tuple of tensors, got " + DescribeValue(a[0]->value));
  std::vector<Expr> parts;
  for (const Value& t : a[0]->value.items) {
    if (t.kind != K::kTensor) cx.Fail(a[0]->loc, "'" + display + "' needs tensors, got " + DescribeValue(t));
    parts.push_back(t.tensor);
  }
  const int64_t dim = a[1] ? cx.AsInt(*a[1], "'dim' of '" + display + "'") : 0;
  return Value::Tensor(cx.Guard(args.loc, [&] {
    const int64_t rank = static_cast<int64_t>(parts[0]->shape.size());
    const int64_t d = expr::torch::NormalizeDim(dim, rank, "cat");
    for (const Expr& p : parts) {
      UserCheck(p->shape.size() == parts[0]->shape.size(), "cat: tensors of shapes ", ToString(parts[0]->shape),
                " and ", ToString(p->shape), " have different ranks");
      UserCheck(p->type == parts[0]->type, "cat: tensors of different element types (bool and float)");
    }
    // MoA catenates along axis 0; another axis is brought to the front and back again.
    auto front = [&](Expr e) { return d == 0 ? e : expr::torch::Transpose(e, 0, d); };
    Expr r = front(parts[0]);
    for (size_t i = 1; i < parts.size(); ++i) r = expr::Cat(r, front(parts[i]));
    return Context::At(front(r), args.loc);
  }));
}

// math.sqrt(q.size(-1)) is the scalar expression sqrt(dk), evaluated once sizes are bound.
Value MathUnary(const Context& cx, const std::string& display, UnaryOp op, const CallArgs& args) {
  auto a = cx.Bind(display, {"x"}, 1, args);
  const Value& x = a[0]->value;
  if (x.kind == K::kNumber) return Value::Number(Apply(op, x.number), false);
  if (x.kind == K::kSize || (x.kind == K::kTensor && x.tensor->shape.empty()))
    return Value::Tensor(Context::At(expr::Map(op, cx.AsTensor(*a[0], "")), args.loc));
  cx.Fail(a[0]->loc, "'" + display + "' needs a number or a size, got " + DescribeValue(x));
}

Value Float(const Context& cx, const CallArgs& args) {
  auto a = cx.Bind("float", {"x"}, 1, args);
  const Value& x = a[0]->value;
  if (x.kind == K::kNumber) return Value::Number(x.number, false);
  if (x.kind == K::kString) {
    std::string s;
    for (char ch : x.text) s += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const double inf = std::numeric_limits<double>::infinity();
    if (s == "inf" || s == "+inf" || s == "infinity") return Value::Number(inf, false);
    if (s == "-inf" || s == "-infinity") return Value::Number(-inf, false);
    if (s == "nan") return Value::Number(std::nan(""), false);
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == s.size() && used > 0) return Value::Number(v, false);
    cx.Fail(a[0]->loc, "float() of '" + x.text + "' is not a number");
  }
  cx.Fail(a[0]->loc, "unsupported float() of " + DescribeValue(x));
}

}  // namespace

Value CallFunction(const Context& cx, const std::string& path, const std::string& display, const CallArgs& args) {
  if (path == "float") return Float(cx, args);
  if (path == "math.sqrt") return MathUnary(cx, display, UnaryOp::kSqrt, args);
  if (path == "math.exp") return MathUnary(cx, display, UnaryOp::kExp, args);
  if (path == "math.log") return MathUnary(cx, display, UnaryOp::kLog, args);
  if (path == "torch.ones") return Ones(cx, display, args);
  if (path == "torch.cat" || path == "torch.concat" || path == "torch.concatenate") return Cat(cx, display, args);
  if (path == "torch.where") {
    auto a = cx.Bind(display, {"condition", "input", "other"}, 3, args);
    const Value& cond = a[0]->value;
    if (cond.kind != K::kTensor || cond.tensor->type != expr::ElemType::kBool)
      cx.Fail(a[0]->loc, "the condition of '" + display + "' must be a bool tensor, got " + DescribeValue(cond));
    const Expr x = cx.AsTensor(*a[1], "'input' of '" + display + "'");
    const Expr y = cx.AsTensor(*a[2], "'other' of '" + display + "'");
    return Value::Tensor(cx.Guard(args.loc, [&] { return Context::At(expr::torch::Where(cond.tensor, x, y), args.loc); }));
  }
  if (path == "torch.maximum" || path == "torch.minimum") {
    auto a = cx.Bind(display, {"input", "other"}, 2, args);
    const Expr x = cx.AsTensor(*a[0], "'input' of '" + display + "'");
    const Expr y = cx.AsTensor(*a[1], "'other' of '" + display + "'");
    const BinaryOp op = path == "torch.maximum" ? BinaryOp::kMax : BinaryOp::kMin;
    return Value::Tensor(cx.Guard(args.loc, [&] { return Context::At(expr::torch::Arith(op, x, y), args.loc); }));
  }
  static const std::set<std::string> kTensorOps = {
      "exp", "log", "sqrt", "abs", "neg", "negative", "reciprocal", "rsqrt", "transpose", "permute", "flip",
      "softmax", "amax", "sum", "mean", "max", "masked_fill", "matmul", "tril", "triu", "outer"};
  std::string op;
  if (path.rfind("torch.nn.functional.", 0) == 0) {
    op = path.substr(20);
    if (op != "softmax") op.clear();  // F.exp and the like do not exist
  } else if (path.rfind("torch.", 0) == 0 && path.find('.', 6) == std::string::npos) {
    op = path.substr(6);
  }
  if (!op.empty() && kTensorOps.count(op)) {
    Call c{cx, display, false, {}, args};
    return TensorOp(c, op);
  }
  cx.Fail(args.loc, "unsupported function '" + display + "'");
}

Value CallMethod(const Context& cx, const Arg& self, const std::string& name, const CallArgs& args) {
  if (self.value.kind == K::kOnes && name != "tril" && name != "triu")
    cx.Fail(args.loc, "torch.ones(...) is only supported as the argument of tril or triu, not '." + name + "'");
  Call c{cx, name, true, self, args};
  return TensorOp(c, name);
}

}  // namespace moa::spec::internal
