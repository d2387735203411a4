#include "spec/context.h"

#include <cmath>
#include <sstream>

#include "expr/torch_ops.h"

namespace moa::spec::internal {

Value Value::Tensor(expr::Expr e) {
  Value v;
  v.kind = Kind::kTensor;
  v.tensor = std::move(e);
  return v;
}
Value Value::Size(Extent e) {
  Value v;
  v.kind = Kind::kSize;
  v.size = std::move(e);
  return v;
}
Value Value::Number(double x, bool is_int) {
  Value v;
  v.kind = Kind::kNumber;
  v.number = x;
  // Integers stay exact only up to 2^53 in a double; beyond that (10 ** 30) they are not usable
  // as dims or counts, and converting them to int64 would overflow.
  v.is_int = is_int && std::fabs(x) <= 9007199254740992.0;
  return v;
}
Value Value::Bool(bool b) {
  Value v;
  v.kind = Kind::kBool;
  v.flag = b;
  return v;
}
Value Value::String(std::string s) {
  Value v;
  v.kind = Kind::kString;
  v.text = std::move(s);
  return v;
}
Value Value::Tuple(std::vector<Value> items, bool is_list) {
  Value v;
  v.kind = Kind::kTuple;
  v.items = std::move(items);
  v.is_list = is_list;
  return v;
}
Value Value::Ref(std::string path, std::string display) {
  Value v;
  v.kind = Kind::kRef;
  v.path = std::move(path);
  v.display = std::move(display);
  return v;
}
Value Value::Dtype(std::string path) {
  Value v;
  v.kind = Kind::kDtype;
  v.path = std::move(path);
  return v;
}

std::string DescribeValue(const Value& v) {
  using K = Value::Kind;
  switch (v.kind) {
    case K::kTensor:
      if (v.tensor->shape.empty()) return "a scalar";
      return std::string(v.tensor->type == expr::ElemType::kBool ? "a bool" : "a float") + " tensor of shape " +
             ToString(v.tensor->shape);
    case K::kSize: return "the size " + v.size.ToString();
    case K::kNumber: {
      std::ostringstream os;
      os << "the number " << v.number;
      return os.str();
    }
    case K::kBool: return v.flag ? "True" : "False";
    case K::kNone: return "None";
    case K::kString: return "a string";
    case K::kTuple: return v.is_list ? "a list" : "a tuple";
    case K::kRef: return "'" + v.display + "'";
    case K::kDtype: return "the dtype " + v.path;
    case K::kDevice: return "a device";
    case K::kOnes: return "torch.ones(...) (only usable through .tril or .triu)";
    case K::kMaxResult: return "the result of max with a dim (take .values)";
  }
  return "a value";
}

expr::Expr Context::At(expr::Expr e, expr::SourceLoc loc) {
  if (e->loc.line > 0 || e->kind == expr::Kind::kInput || !e->label.empty()) return e;
  return expr::WithSource(std::move(e), loc);
}

std::vector<std::optional<Arg>> Context::Bind(const std::string& function, const std::vector<std::string>& names,
                                              size_t required, const CallArgs& args) const {
  std::vector<std::optional<Arg>> bound(names.size());
  const size_t given = args.positional.size() + args.keywords.size();
  auto count = [&] {
    std::string s = required == names.size() ? std::to_string(required)
                                             : std::to_string(required) + " to " + std::to_string(names.size());
    return s + (names.size() == 1 && required == 1 ? " argument" : " arguments");
  };
  if (args.positional.size() > names.size()) {
    Fail(args.positional[names.size()].loc,
         "'" + function + "' takes " + count() + ", got " + std::to_string(given));
  }
  for (size_t i = 0; i < args.positional.size(); ++i) bound[i] = args.positional[i];
  for (const KeywordArg& k : args.keywords) {
    size_t i = 0;
    while (i < names.size() && names[i] != k.name) ++i;
    if (i == names.size()) Fail(k.name_loc, "'" + function + "' got an unexpected keyword argument '" + k.name + "'");
    if (bound[i]) Fail(k.name_loc, "'" + function + "' got argument '" + k.name + "' twice");
    bound[i] = k.arg;
  }
  for (size_t i = 0; i < required; ++i) {
    if (bound[i]) continue;
    if (given < required) Fail(args.loc, "'" + function + "' takes " + count() + ", got " + std::to_string(given));
    Fail(args.loc, "'" + function + "' is missing argument '" + names[i] + "'");
  }
  return bound;
}

expr::Expr Context::AsTensor(const Arg& a, const std::string& what) const {
  switch (a.value.kind) {
    case Value::Kind::kTensor: return a.value.tensor;
    case Value::Kind::kSize: return At(expr::Size(a.value.size), a.loc);
    case Value::Kind::kNumber: return At(expr::Scalar(a.value.number), a.loc);
    default: Fail(a.loc, what + " must be a tensor or a number, got " + DescribeValue(a.value));
  }
}

int64_t Context::AsInt(const Arg& a, const std::string& what) const {
  if (a.value.kind != Value::Kind::kNumber || !a.value.is_int)
    Fail(a.loc, what + " must be an integer constant, got " + DescribeValue(a.value));
  return static_cast<int64_t>(a.value.number);
}

bool Context::AsBool(const Arg& a, const std::string& what) const {
  if (a.value.kind != Value::Kind::kBool) Fail(a.loc, what + " must be True or False, got " + DescribeValue(a.value));
  return a.value.flag;
}

double Context::AsNumber(const Arg& a, const std::string& what) const {
  if (a.value.kind == Value::Kind::kBool) return a.value.flag ? 1 : 0;
  if (a.value.kind != Value::Kind::kNumber)
    Fail(a.loc, what + " must be a number such as float('-inf'), got " + DescribeValue(a.value));
  return a.value.number;
}

Extent Context::AsExtent(const Arg& a, const std::string& what) const {
  if (a.value.kind == Value::Kind::kSize) return a.value.size;
  if (a.value.kind == Value::Kind::kNumber && a.value.is_int && a.value.number >= 0)
    return Extent(static_cast<int64_t>(a.value.number));
  Fail(a.loc, what + " must be a size such as q.size(0) or a non-negative integer, got " + DescribeValue(a.value));
}

std::vector<int64_t> Context::AsInts(const Arg& a, const std::string& what) const {
  if (a.value.kind != Value::Kind::kTuple) return {AsInt(a, what)};
  std::vector<int64_t> out;
  for (const Value& v : a.value.items) out.push_back(AsInt({v, a.loc}, what));
  return out;
}

namespace {

BinaryOp ArithOp(const std::string& op) {
  static const std::pair<const char*, BinaryOp> kOps[] = {
      {"+", BinaryOp::kAdd},        {"-", BinaryOp::kSub},      {"*", BinaryOp::kMul},
      {"/", BinaryOp::kDiv},        {"<", BinaryOp::kLess},     {"<=", BinaryOp::kLessEqual},
      {">", BinaryOp::kGreater},    {">=", BinaryOp::kGreaterEqual}, {"==", BinaryOp::kEqual},
      {"!=", BinaryOp::kNotEqual},  {"&", BinaryOp::kAnd},      {"|", BinaryOp::kOr}};
  for (const auto& [name, b] : kOps)
    if (op == name) return b;
  throw InternalError("no BinaryOp for '" + op + "'");
}

bool IsTensorLike(const Value& v) {
  return v.kind == Value::Kind::kTensor || v.kind == Value::Kind::kSize || v.kind == Value::Kind::kNumber;
}

}  // namespace

Value BinaryOperator(const Context& cx, const std::string& op, const Arg& a, const Arg& b, expr::SourceLoc loc) {
  using K = Value::Kind;
  const Value& x = a.value;
  const Value& y = b.value;
  for (const Arg* side : {&a, &b})
    if (!IsTensorLike(side->value))
      cx.Fail(side->loc, "'" + op + "' needs tensors, sizes or numbers, got " + DescribeValue(side->value));

  if (op == "@") {
    if (x.kind != K::kTensor || y.kind != K::kTensor || x.tensor->shape.size() < 2 || y.tensor->shape.size() < 2)
      cx.Fail(loc, "'@' needs two tensors with at least 2 dimensions, got " + DescribeValue(x) + " and " +
                       DescribeValue(y));
    const Shape& s = x.tensor->shape;
    const Shape& t = y.tensor->shape;
    if (s.back() != t[t.size() - 2])
      cx.Fail(loc, "shapes " + ToString(s) + " and " + ToString(t) + " do not conform for '@': the last extent of the left (" +
                       s.back().ToString() + ") must equal the second-to-last extent of the right (" +
                       t[t.size() - 2].ToString() + ")");
    return Value::Tensor(cx.Guard(loc, [&] { return Context::At(expr::torch::MatMul(x.tensor, y.tensor), loc); }));
  }

  if (op == "**") {
    if (y.kind != K::kNumber) cx.Fail(b.loc, "the exponent of '**' must be a number, got " + DescribeValue(y));
    if (x.kind == K::kNumber) return Value::Number(std::pow(x.number, y.number), x.is_int && y.is_int && y.number >= 0);
    const expr::Expr base = cx.AsTensor(a, "the base of '**'");
    // Only the powers attention needs (x ** 0.5, d ** -0.5) and the trivial ones; a general pow
    // would need a binary op the MoA scalar layer does not have.
    expr::Expr e;
    if (y.number == 0.5) e = expr::Map(UnaryOp::kSqrt, base);
    else if (y.number == -0.5) e = expr::Map(UnaryOp::kRecip, expr::Map(UnaryOp::kSqrt, base));
    else if (y.number == 1) e = base;
    else if (y.number == -1) e = expr::Map(UnaryOp::kRecip, base);
    else if (y.number == 2) e = expr::Binary(BinaryOp::kMul, base, base);
    else {
      std::ostringstream os;
      os << "unsupported exponent " << y.number << " for '**': use 0.5, -0.5, 1, -1 or 2";
      cx.Fail(b.loc, os.str());
    }
    return Value::Tensor(Context::At(e, loc));
  }

  const bool logical = op == "&" || op == "|";
  const bool ordering = op == "<" || op == "<=" || op == ">" || op == ">=" || op == "==" || op == "!=";
  if (logical) {
    for (const Arg* side : {&a, &b})
      if (side->value.kind != K::kTensor || side->value.tensor->type != expr::ElemType::kBool)
        cx.Fail(side->loc, "'" + op + "' needs bool tensors, got " + DescribeValue(side->value));
  }
  if (x.kind != K::kTensor && y.kind != K::kTensor) {
    if (ordering) cx.Fail(loc, "unsupported comparison '" + op + "' of " + DescribeValue(x) + " and " + DescribeValue(y) + ": compare tensors");
    // Folding keeps sizes symbolic: q.size(0) * 2 stays the extent 2·n.
    if (x.kind == K::kNumber && y.kind == K::kNumber) {
      const bool ints = x.is_int && y.is_int && op != "/";
      const double r = op == "+" ? x.number + y.number : op == "-" ? x.number - y.number
                     : op == "*" ? x.number * y.number : x.number / y.number;
      return Value::Number(r, ints);
    }
    const bool integral = (x.kind == K::kSize || x.is_int) && (y.kind == K::kSize || y.is_int);
    if (integral && op != "/") {
      const Extent p = x.kind == K::kSize ? x.size : Extent(static_cast<int64_t>(x.number));
      const Extent q = y.kind == K::kSize ? y.size : Extent(static_cast<int64_t>(y.number));
      return Value::Size(op == "+" ? p + q : op == "-" ? p - q : p * q);
    }
  }
  const expr::Expr l = cx.AsTensor(a, "the left side of '" + op + "'");
  const expr::Expr r = cx.AsTensor(b, "the right side of '" + op + "'");
  return Value::Tensor(cx.Guard(loc, [&] { return Context::At(expr::torch::Arith(ArithOp(op), l, r), loc); }));
}

}  // namespace moa::spec::internal
