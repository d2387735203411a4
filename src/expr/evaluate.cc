#include "expr/evaluate.h"

#include "moa/algebra.h"
#include "moa/error.h"
#include "moa/layout.h"

namespace moa::expr {

std::string NonEmptyMessage(const Node& reduce, const Node& operand) {
  const Extent& n = operand.shape[static_cast<size_t>(reduce.axis)];
  return "max over an empty axis (axis " + std::to_string(reduce.axis) + " of extent " + n.ToString() + " = 0" +
         (reduce.loc.line > 0 ? ", line " + std::to_string(reduce.loc.line) : std::string("")) +
         "): PyTorch refuses it too (\"Expected reduction dim to have non-zero size\")";
}

namespace {

class Evaluator {
 public:
  Evaluator(const std::map<std::string, Array>& inputs, const Bindings& sizes)
      : inputs_(inputs), sizes_(sizes) {}

  const Array& Eval(const Node* e) {
    auto it = memo_.find(e);
    if (it != memo_.end()) return it->second;
    return memo_.emplace(e, Compute(e)).first->second;
  }

 private:
  Array Compute(const Node* e) {
    std::vector<const Array*> x;
    for (const Expr& o : e->operands) x.push_back(&Eval(o.get()));
    switch (e->kind) {
      case Kind::kInput: {
        auto it = inputs_.find(e->name);
        UserCheck(it != inputs_.end(), "input '", e->name, "' is missing");
        const Index want = moa::Evaluate(e->shape, sizes_);
        UserCheck(it->second.shape() == want, "input '", e->name, "' has shape ",
                  moa::ToString(it->second.shape()), " but the spec says ", moa::ToString(e->shape),
                  " = ", moa::ToString(want));
        return it->second;
      }
      case Kind::kScalar: return Array::Scalar(e->value);
      case Kind::kSize: return Array::Scalar(static_cast<double>(e->size.Evaluate(sizes_)));
      case Kind::kIota: return Array::Iota({e->shape[0].Evaluate(sizes_)});
      case Kind::kMap: return Map(e->unary, *x[0]);
      case Kind::kBinary: return Pointwise(e->binary, *x[0], *x[1]);
      case Kind::kWhere: {
        const Index shape = moa::Evaluate(e->shape, sizes_);
        Array out = Array::Filled(shape, 0);
        auto at = [](const Array& a, int64_t k) { return a.dimension() == 0 ? a.scalar() : a.data()[static_cast<size_t>(k)]; };
        for (int64_t k = 0; k < out.size(); ++k)
          out.data()[static_cast<size_t>(k)] = at(*x[0], k) != 0 ? at(*x[1], k) : at(*x[2], k);
        return out;
      }
      case Kind::kExtend: {
        // Omega with one-cell frames: element i reads the operand at i aligned to its last axes,
        // with 0 on axes the operand has as extent 1.
        const Index shape = moa::Evaluate(e->shape, sizes_);
        const Index& from = x[0]->shape();
        Array out = Array::Filled(shape, 0);
        for (int64_t k = 0; k < out.size(); ++k) {
          const Index i = GammaInverse(k, shape);
          Index j(i.end() - static_cast<std::ptrdiff_t>(from.size()), i.end());
          for (size_t a = 0; a < from.size(); ++a)
            if (from[a] == 1) j[a] = 0;
          out.data()[static_cast<size_t>(k)] = x[0]->at(j);
        }
        return out;
      }
      case Kind::kPermute: return Permute(*x[0], e->counts);
      case Kind::kTake: return Take(e->counts, *x[0]);
      case Kind::kDrop: return Drop(e->counts, *x[0]);
      case Kind::kReverse: return Reverse(*x[0]);
      case Kind::kCat: return Cat(*x[0], *x[1]);
      case Kind::kOuter: return Outer(e->binary, *x[0], *x[1]);
      case Kind::kInner: {
        auto inner = [](const Array& a, const Array& b) { return Inner(BinaryOp::kAdd, BinaryOp::kMul, a, b); };
        if (e->axis == 0) return inner(*x[0], *x[1]);
        return Omega(inner, 2, 2, *x[0], *x[1]);
      }
      case Kind::kReduce: {
        // op/ along `axis`: bring the axis to the front (permute), reduce axis 0, then put an
        // axis of extent 1 back if it is kept.
        const int64_t d = x[0]->dimension();
        UserCheck(!e->empty_is_error || x[0]->shape()[static_cast<size_t>(e->axis)] != 0, NonEmptyMessage(*e, *e->operands[0]));
        Index p{e->axis};
        for (int64_t a = 0; a < d; ++a)
          if (a != e->axis) p.push_back(a);
        Array r = Reduce(e->binary, Permute(*x[0], p));
        if (!e->keepdim) return r;
        Index kept = r.shape();
        kept.insert(kept.begin() + e->axis, 1);
        return Reshape(kept, r);
      }
    }
    throw InternalError("evaluate: unknown expr kind");
  }

  const std::map<std::string, Array>& inputs_;
  const Bindings& sizes_;
  std::map<const Node*, Array> memo_;
};

}  // namespace

std::vector<Array> Evaluate(const std::vector<Expr>& outputs, const std::map<std::string, Array>& inputs,
                            const Bindings& sizes) {
  Evaluator ev(inputs, sizes);
  std::vector<Array> out;
  for (const Expr& o : outputs) out.push_back(ev.Eval(o.get()));
  return out;
}

}  // namespace moa::expr
