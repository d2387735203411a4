// Factoring: Σ_l (x / c) = (Σ_l x) / c when c does not depend on l, after moving divisions out of
// products ((x / c) · y = (x · y) / c). For attention this takes the normaliser Z(i) out of the
// weighted sum, so it divides once per output element instead of once per key. Exact in real
// arithmetic; in floating point it changes rounding by about one ulp per term. For an empty sum
// (l < 0) the right side is 0 / c, so the quotient is marked and lowered to 0 there.

#include "dnf/dnf.h"

namespace moa::dnf {

Dnf Factor(Dnf dnf) {
  auto is_div = [](const Scalar& s) { return s->kind == SKind::kBinary && s->binary == BinaryOp::kDiv; };
  for (Output& out : dnf.outputs) {
    RewriteMemo memo;
    auto factor = [&](Scalar r) -> Scalar {
      if (r->kind == SKind::kBinary && r->binary == BinaryOp::kMul &&
          (is_div(r->args[0]) || is_div(r->args[1]))) {
        const bool left = is_div(r->args[0]);
        const Scalar& d = left ? r->args[0] : r->args[1];
        const Scalar& y = left ? r->args[1] : r->args[0];
        const Scalar product = left ? Binary(BinaryOp::kMul, d->args[0], y) : Binary(BinaryOp::kMul, y, d->args[0]);
        const Scalar moved = Binary(BinaryOp::kDiv, product, d->args[1]);
        dnf.steps.push_back({"divide-after-product", ToString(r) + "  \xE2\x87\x92  " + ToString(moved)});
        r = moved;
      }
      if (r->kind == SKind::kFold && r->binary == BinaryOp::kAdd && is_div(r->args[0]) &&
          !FreeVars(r->args[0]->args[1]).count(r->name)) {
        const Scalar& body = r->args[0];
        SNode quotient = *Binary(BinaryOp::kDiv, Fold(BinaryOp::kAdd, r->name, r->extent, body->args[0]), body->args[1]);
        quotient.factored = true;
        const Scalar factored = std::make_shared<const SNode>(std::move(quotient));
        dnf.steps.push_back({"factor-divisor", ToString(r) + "  \xE2\x87\x92  " + ToString(factored) +
                                                   "  (" + ToString(body->args[1]) + " does not depend on " + r->name + ")"});
        r = factored;
      }
      return r;
    };
    for (Let& let : out.lets) let.value = RewriteBottomUp(let.value, factor, &memo);
    out.body = RewriteBottomUp(out.body, factor, &memo);
  }
  return dnf;
}

}  // namespace moa::dnf
