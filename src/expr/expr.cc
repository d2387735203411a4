#include "expr/expr.h"

#include <algorithm>
#include <map>
#include <sstream>
#include <unordered_set>

#include "moa/error.h"
#include "moa/shape_rules.h"

namespace moa::expr {
namespace {

Expr Make(Node node) {
  node.depth = 0;
  for (const Expr& o : node.operands) node.depth = std::max(node.depth, o->depth + 1);
  UserCheck(node.depth <= kMaxDepth, "expression nested deeper than ", kMaxDepth);
  return std::make_shared<const Node>(std::move(node));
}

Node Base(Kind kind, Shape shape, std::vector<Expr> operands, ElemType type = ElemType::kReal) {
  Node n;
  n.kind = kind;
  n.shape = std::move(shape);
  n.operands = std::move(operands);
  n.type = type;
  return n;
}

ElemType ResultType(BinaryOp op) {
  switch (op) {
    case BinaryOp::kLess: case BinaryOp::kLessEqual: case BinaryOp::kGreater:
    case BinaryOp::kGreaterEqual: case BinaryOp::kEqual: case BinaryOp::kNotEqual:
    case BinaryOp::kAnd: case BinaryOp::kOr:
      return ElemType::kBool;
    default:
      return ElemType::kReal;
  }
}

}  // namespace

Expr Input(const std::string& name, Shape shape, ElemType type) {
  UserCheck(!name.empty(), "an input needs a name");
  Node n = Base(Kind::kInput, std::move(shape), {}, type);
  n.name = name;
  return Make(std::move(n));
}

Expr Scalar(double value) {
  Node n = Base(Kind::kScalar, {}, {});
  n.value = value;
  return Make(std::move(n));
}

Expr Size(Extent extent) {
  Node n = Base(Kind::kSize, {}, {});
  n.size = std::move(extent);
  return Make(std::move(n));
}

Expr Iota(Extent n) { return Make(Base(Kind::kIota, {n}, {})); }

Expr Map(UnaryOp op, Expr a) {
  const ElemType type = op == UnaryOp::kNot ? ElemType::kBool : ElemType::kReal;
  Node n = Base(Kind::kMap, a->shape, {a}, type);
  n.unary = op;
  return Make(std::move(n));
}

Expr Binary(BinaryOp op, Expr a, Expr b) {
  Node n = Base(Kind::kBinary, shape_rule::Pointwise(a->shape, b->shape), {a, b}, ResultType(op));
  n.binary = op;
  return Make(std::move(n));
}

Expr Where(Expr cond, Expr a, Expr b) {
  const Shape s = shape_rule::Pointwise(shape_rule::Pointwise(cond->shape, a->shape), b->shape);
  return Make(Base(Kind::kWhere, s, {cond, a, b}, a->type));
}

Expr Extend(Expr a, Shape target) {
  const size_t r = a->shape.size(), d = target.size();
  UserCheck(r <= d, "extend: shape ", moa::ToString(a->shape), " has more axes than the target ",
            moa::ToString(target));
  for (size_t j = 0; j < r; ++j) {
    const Extent& have = a->shape[j];
    const Extent& want = target[d - r + j];
    UserCheck(have == want || have == Extent(1), "extend: axis ", j, " of shape ",
              moa::ToString(a->shape), " is neither 1 nor the target extent ", want.ToString(),
              " (rule: omega with a one-cell frame; shapes align at the last axis)");
  }
  if (a->shape == target) return a;
  return Make(Base(Kind::kExtend, std::move(target), {a}, a->type));
}

Expr Permute(Expr a, Index p) {
  Node n = Base(Kind::kPermute, shape_rule::Permute(p, a->shape), {a}, a->type);
  n.counts = std::move(p);
  return Make(std::move(n));
}

Expr Transpose(Expr a) {
  Index p = moa::Iota(static_cast<int64_t>(a->shape.size()));
  return Permute(std::move(a), Index(p.rbegin(), p.rend()));
}

Expr Take(Index k, Expr a) {
  Node n = Base(Kind::kTake, shape_rule::Take(k, a->shape), {a}, a->type);
  n.counts = std::move(k);
  return Make(std::move(n));
}

Expr Drop(Index k, Expr a) {
  Node n = Base(Kind::kDrop, shape_rule::Drop(k, a->shape), {a}, a->type);
  n.counts = std::move(k);
  return Make(std::move(n));
}

Expr Reverse(Expr a) { return Make(Base(Kind::kReverse, shape_rule::Reverse(a->shape), {a}, a->type)); }

Expr Cat(Expr a, Expr b) {
  return Make(Base(Kind::kCat, shape_rule::Cat(a->shape, b->shape), {a, b}, a->type));
}

Expr Outer(BinaryOp op, Expr a, Expr b) {
  Node n = Base(Kind::kOuter, shape_rule::Outer(a->shape, b->shape), {a, b}, ResultType(op));
  n.binary = op;
  return Make(std::move(n));
}

Expr Inner(Expr a, Expr b, int64_t frame_rank) {
  Shape shape;
  if (frame_rank == 0) {
    shape = shape_rule::Inner(a->shape, b->shape);
  } else {
    UserCheck(Dimension(a->shape) == frame_rank + 2 && Dimension(b->shape) == frame_rank + 2,
              "inner product over a frame of rank ", frame_rank, " needs both arguments of rank ",
              frame_rank + 2, ": A has shape ", moa::ToString(a->shape), ", B has shape ",
              moa::ToString(b->shape));
    const Shape frame = TakeVec(frame_rank, a->shape);
    UserCheck(frame == TakeVec(frame_rank, b->shape), "inner product needs equal frames: A has shape ",
              moa::ToString(a->shape), ", B has shape ", moa::ToString(b->shape), " (frame rank ", frame_rank, ")");
    shape = CatVec(frame, shape_rule::Inner(DropVec(frame_rank, a->shape), DropVec(frame_rank, b->shape)));
  }
  Node n = Base(Kind::kInner, std::move(shape), {a, b});
  n.axis = frame_rank;
  return Make(std::move(n));
}

Expr Reduce(BinaryOp op, Expr a, int64_t axis, bool keepdim) {
  const int64_t d = Dimension(a->shape);
  UserCheck(0 <= axis && axis < d, "reduce along axis ", axis, " needs an axis in 0..", d - 1,
            " for shape ", moa::ToString(a->shape));
  UserCheck(HasIdentity(op), "reduce with '", Name(op), "' is not supported: it has no identity element");
  Shape shape = a->shape;
  if (keepdim) {
    shape[static_cast<size_t>(axis)] = 1;
  } else {
    shape.erase(shape.begin() + axis);
  }
  Node n = Base(Kind::kReduce, std::move(shape), {a}, a->type);
  n.binary = op;
  n.axis = axis;
  n.keepdim = keepdim;
  return Make(std::move(n));
}

Expr WithSource(Expr e, SourceLoc loc, std::string label) {
  Node n = *e;
  n.loc = loc;
  if (!label.empty()) n.label = std::move(label);
  return Make(std::move(n));
}

std::string KindName(Kind kind) {
  switch (kind) {
    case Kind::kInput: return "input";
    case Kind::kScalar: return "scalar";
    case Kind::kSize: return "size";
    case Kind::kIota: return "iota";
    case Kind::kMap: return "map";
    case Kind::kBinary: return "pointwise";
    case Kind::kWhere: return "where";
    case Kind::kExtend: return "extend";
    case Kind::kPermute: return "permute";
    case Kind::kTake: return "take";
    case Kind::kDrop: return "drop";
    case Kind::kReverse: return "reverse";
    case Kind::kCat: return "catenate";
    case Kind::kOuter: return "outer";
    case Kind::kInner: return "inner";
    case Kind::kReduce: return "reduce";
  }
  throw InternalError("unknown expr kind");
}

std::vector<const Node*> TopologicalOrder(const std::vector<Expr>& outputs) {
  std::vector<const Node*> order;
  std::unordered_set<const Node*> seen;
  // Iterative post-order, so deep specs cannot overflow the stack.
  std::vector<std::pair<const Node*, size_t>> stack;
  for (const Expr& out : outputs) {
    if (!seen.insert(out.get()).second) continue;
    stack.push_back({out.get(), 0});
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->operands.size()) {
        const Node* child = node->operands[next++].get();
        if (seen.insert(child).second) stack.push_back({child, 0});
      } else {
        order.push_back(node);
        stack.pop_back();
      }
    }
  }
  return order;
}

std::string Describe(const Node& e, const std::vector<std::string>& x) {
  std::ostringstream os;
  auto num = [](double v) {
    std::ostringstream s;
    s << v;
    return s.str();
  };
  switch (e.kind) {
    case Kind::kInput: return e.name;
    case Kind::kScalar: return num(e.value);
    case Kind::kSize: return e.size.ToString();
    case Kind::kIota: return "\xCE\xB9 " + e.shape[0].ToString();
    case Kind::kMap: return Name(e.unary) + "(" + x[0] + ")";
    case Kind::kBinary:
      return Name(e.binary) == Symbol(e.binary) ? Name(e.binary) + "(" + x[0] + ", " + x[1] + ")"
                                                : x[0] + " " + Symbol(e.binary) + " " + x[1];
    case Kind::kWhere: return "where(" + x[0] + ", " + x[1] + ", " + x[2] + ")";
    case Kind::kExtend: return "extend(" + x[0] + " to " + moa::ToString(e.shape) + ")";
    case Kind::kPermute: {
      bool reversed = true;
      for (size_t r = 0; r < e.counts.size(); ++r)
        reversed = reversed && e.counts[r] == static_cast<int64_t>(e.counts.size() - 1 - r);
      return reversed ? "\xE2\x8D\x89" + x[0] : "permute(" + x[0] + ", " + moa::ToString(e.counts) + ")";
    }
    case Kind::kTake: return moa::ToString(e.counts) + " \xE2\x96\xB3 " + x[0];
    case Kind::kDrop: return moa::ToString(e.counts) + " \xE2\x96\xBD " + x[0];
    case Kind::kReverse: return "\xCE\xA6" + x[0];
    case Kind::kCat: return x[0] + " ++ " + x[1];
    case Kind::kOuter: return x[0] + " \xE2\x80\xA2" + Symbol(e.binary) + " " + x[1];
    case Kind::kInner:
      return x[0] + " +.\xC3\x97 " + x[1] + (e.axis ? " (frame rank " + std::to_string(e.axis) + ")" : "");
    case Kind::kReduce:
      return Symbol(e.binary) + "/ " + x[0] + " (axis " + std::to_string(e.axis) +
             (e.keepdim ? ", kept" : "") + ")";
  }
  throw InternalError("unknown expr kind");
}

std::string ToString(const std::vector<Expr>& outputs) {
  std::map<const Node*, std::string> names;
  std::ostringstream os;
  int t = 0;
  for (const Node* n : TopologicalOrder(outputs)) {
    if (n->kind == Kind::kInput) {
      names[n] = n->name;
      os << n->name << " : " << moa::ToString(n->shape) << (n->type == ElemType::kBool ? " bool" : "")
         << "\n";
      continue;
    }
    if (n->kind == Kind::kScalar || n->kind == Kind::kSize) {
      names[n] = Describe(*n, {});
      continue;
    }
    std::vector<std::string> x;
    for (const Expr& o : n->operands) x.push_back(names.at(o.get()));
    const std::string name = "t" + std::to_string(++t);
    names[n] = name;
    os << name << " = " << Describe(*n, x) << " : " << moa::ToString(n->shape);
    if (!n->label.empty()) os << "   # " << n->label;
    if (n->loc.line > 0) os << (n->label.empty() ? "   # " : ", ") << "line " << n->loc.line;
    os << "\n";
  }
  return os.str();
}

}  // namespace moa::expr
