#include "lift/online_softmax.h"

#include <cmath>
#include <functional>
#include <map>

#include "moa/error.h"
#include "onf/lowerer.h"

namespace moa::lift {
namespace {

using dnf::Affine;
using dnf::Scalar;
using dnf::SKind;

bool Is(const Scalar& s, SKind kind) { return s && s->kind == kind; }
bool IsBinary(const Scalar& s, BinaryOp op) { return Is(s, SKind::kBinary) && s->binary == op; }
bool IsFold(const Scalar& s, BinaryOp op) { return Is(s, SKind::kFold) && s->binary == op; }
bool IsRef(const Scalar& s, const std::string& name) { return Is(s, SKind::kRef) && s->name == name; }

// The text of `s` with `var` and every bound variable renamed in order of appearance, so two
// expressions that differ only in the names of bound variables print alike (α-equivalence).
std::string Canonical(const Scalar& s, const std::string& var) {
  int next = 0;
  // Shared operands are renamed once (a DAG, not its paths); the key is kept alive with its
  // result, since the substituted nodes this walk creates are temporaries.
  std::map<const dnf::SNode*, std::pair<Scalar, Scalar>> memo;
  std::function<Scalar(const Scalar&)> rename = [&](const Scalar& x) -> Scalar {
    auto it = memo.find(x.get());
    if (it != memo.end()) return it->second.second;
    dnf::SNode copy = *x;
    if (x->kind == SKind::kFold) {
      std::string fresh(1, '#');  // built in two steps: GCC 12 warns falsely (-Wrestrict) on "#" + s
      fresh += std::to_string(next++);
      copy.name = fresh;
      copy.args[0] = dnf::Substitute(x->args[0], x->name, Affine::Var(fresh));
    }
    for (Scalar& a : copy.args) a = rename(a);
    Scalar result = std::make_shared<const dnf::SNode>(std::move(copy));
    memo[x.get()] = {x, result};
    return result;
  };
  return dnf::ToString(rename(dnf::Substitute(s, var, Affine::Var("#key"))));
}

// exp(A − M) → A, or nullptr.
Scalar ShiftedScore(const Scalar& e, const std::string& max_name) {
  if (!Is(e, SKind::kUnary) || e->unary != UnaryOp::kExp) return nullptr;
  const Scalar& d = e->args[0];
  if (!IsBinary(d, BinaryOp::kSub) || !IsRef(d->args[1], max_name)) return nullptr;
  return d->args[0];
}

}  // namespace

std::optional<SoftmaxSum> MatchSoftmaxSum(const dnf::Output& out, std::string* why) {
  auto fail = [&](const std::string& reason) -> std::optional<SoftmaxSum> {
    *why = "output '" + out.name + "' is not a softmax-weighted sum: " + reason;
    return std::nullopt;
  };
  const size_t d = out.vars.size();
  if (d < 2) return fail("it needs a query and a value axis");
  if (out.lets.size() != 2) return fail("expected the row max and the normaliser as its two hoisted scalars");
  const dnf::Let& m = out.lets[0];
  const dnf::Let& z = out.lets[1];
  if (m.level != d - 1 || z.level != d - 1) return fail("the row max and normaliser must be bound per query row");
  if (!IsFold(m.value, BinaryOp::kMax)) return fail("the first hoisted scalar is not a max over keys");
  if (!IsFold(z.value, BinaryOp::kAdd)) return fail("the second hoisted scalar is not a sum over keys");
  const Scalar& body = out.body;
  if (!IsBinary(body, BinaryOp::kDiv) || !IsRef(body->args[1], z.name)) return fail("the result is not divided by the normaliser");
  const Scalar& sum = body->args[0];
  if (!IsFold(sum, BinaryOp::kAdd) || !IsBinary(sum->args[0], BinaryOp::kMul)) return fail("no weighted sum over keys");
  const Scalar score = ShiftedScore(sum->args[0]->args[0], m.name);
  const Scalar value = sum->args[0]->args[1];
  const Scalar z_score = ShiftedScore(z.value->args[0], m.name);
  if (!score || !z_score) return fail("the weights are not exp(score − row max)");
  if (!(sum->extent == m.value->extent && sum->extent == z.value->extent)) return fail("the three folds run over different key counts");
  const std::string a = Canonical(score, sum->name);
  if (a != Canonical(m.value->args[0], m.value->name) || a != Canonical(z_score, z.value->name))
    return fail("the max, the normaliser and the weighted sum do not use the same score");
  if (dnf::FreeVars(score).count(out.vars[d - 1])) return fail("the score depends on the value axis");
  return SoftmaxSum{sum->name, sum->extent, score, value};
}

onf::Onf LowerOnePass(const dnf::Dnf& dnf, Tiles tiles, const std::map<std::string, Layout>& layouts) {
  UserCheck(tiles.query >= 1 && tiles.key >= 1, "tile sizes must be >= 1, got Bq=", tiles.query, ", Bk=", tiles.key);
  UserCheck(tiles.splits >= 1, "the split count must be >= 1, got S=", tiles.splits);
  // Buffers and layouts exactly as the plain lowering has them, then the tiles.
  onf::Onf onf = onf::Lower(dnf, layouts);
  onf.body.clear();
  onf::internal::ExprLowerer lower(onf.buffers, dnf);
  const int64_t bq = tiles.query, bk = tiles.key, splits = tiles.splits;
  const Scalar kMinusInf = dnf::Const(-INFINITY);

  for (const dnf::Output& out : dnf.outputs) {
    std::string why;
    const std::optional<SoftmaxSum> match = MatchSoftmaxSum(out, &why);
    UserCheck(match.has_value(), "cannot lift: ", why);
    const size_t d = out.vars.size();
    const std::string& i = out.vars[d - 2];
    const std::string& j = out.vars[d - 1];
    const Extent n = out.shape[d - 2], dv = out.shape[d - 1];

    const std::string io = lower.Fresh(i + "o"), ii = lower.Fresh(i + "i");
    const std::string lo = lower.Fresh(match->key_var + "o"), li = lower.Fresh(match->key_var + "i");
    const std::string m_tile = lower.Fresh("m_tile"), z_tile = lower.Fresh("z_tile"), o_tile = lower.Fresh("o_tile");
    // With S > 1 every tile gains a leading axis of S ranges, indexed by ls.
    const bool split = splits > 1;
    const std::string ls = split ? lower.Fresh(match->key_var + "s") : "";
    auto state_shape = [&](Shape shape) {
      if (split) shape.insert(shape.begin(), Extent(splits));
      return shape;
    };
    onf.buffers.push_back({m_tile, state_shape({bq}), Layout::kRowMajor, onf::Role::kTile});
    onf.buffers.push_back({z_tile, state_shape({bq}), Layout::kRowMajor, onf::Role::kTile});
    onf.buffers.push_back({o_tile, state_shape({bq, dv}), Layout::kRowMajor, onf::Role::kTile});

    const Affine row = Affine::Var(io) * Extent(bq) + Affine::Var(ii);
    // Key l = lo·Bk + li, or with S ranges l = (lo·S + ls)·Bk + li: range ls takes every S-th tile.
    const Affine key = split ? (Affine::Var(lo) * Extent(splits) + Affine::Var(ls)) * Extent(bk) + Affine::Var(li)
                             : Affine::Var(lo) * Extent(bk) + Affine::Var(li);
    const Affine state_row = split ? Affine::Var(ls) * Extent(bq) + Affine::Var(ii) : Affine::Var(ii);
    const Affine at_ii = state_row, at_iij = state_row * dv + Affine::Var(j);
    const Scalar row_ok = dnf::Binary(BinaryOp::kLess, dnf::IndexValue(row), dnf::SizeValue(n));
    const Scalar key_ok = dnf::Binary(BinaryOp::kLess, dnf::IndexValue(key), dnf::SizeValue(match->keys));
    auto lifted = [&](const Scalar& s) {
      return dnf::Substitute(dnf::Substitute(s, i, row), match->key_var, key);
    };
    auto tile = [](const std::string& t, const Affine& at) { return dnf::FlatLoad(t, at); };

    // Start of a query block: m = −∞, z = 0, o = 0 for each of its rows.
    std::vector<onf::Stmt> init_row = {onf::Store(m_tile, at_ii, kMinusInf), onf::Store(z_tile, at_ii, dnf::Const(0)),
                                        onf::Loop(j, dv, {onf::Store(o_tile, at_iij, dnf::Const(0))})};
    onf::Stmt init = onf::Loop(ii, bq, {onf::Guard(row_ok, std::move(init_row))});

    // One key of one row: fold the score into the row's state with the online-softmax monoid.
    std::vector<onf::Stmt> step;
    const std::string a = lower.Fresh("a"), m_old = lower.Fresh("m_old"), m_new = lower.Fresh("m_new");
    const std::string c = lower.Fresh("c"), p = lower.Fresh("p");
    const Scalar score = lower.Lower(lifted(match->score), &step);  // its folds go first
    step.push_back(onf::Let(a, score));
    step.push_back(onf::Let(m_old, tile(m_tile, at_ii)));
    step.push_back(onf::Let(m_new, dnf::Binary(BinaryOp::kMax, dnf::Ref(m_old), dnf::Ref(a))));
    // While every score so far is −∞ (masked), nothing is rescaled or added: e^{−∞ − (−∞)} is NaN.
    const Scalar empty = dnf::Binary(BinaryOp::kEqual, dnf::Ref(m_new), kMinusInf);
    step.push_back(onf::Let(c, dnf::Select(empty, dnf::Const(1),
                                           dnf::Unary(UnaryOp::kExp, dnf::Binary(BinaryOp::kSub, dnf::Ref(m_old), dnf::Ref(m_new))))));
    step.push_back(onf::Let(p, dnf::Select(empty, dnf::Const(0),
                                           dnf::Unary(UnaryOp::kExp, dnf::Binary(BinaryOp::kSub, dnf::Ref(a), dnf::Ref(m_new))))));
    step.push_back(onf::Store(z_tile, at_ii, dnf::Binary(BinaryOp::kAdd, dnf::Binary(BinaryOp::kMul, tile(z_tile, at_ii), dnf::Ref(c)), dnf::Ref(p))));
    onf::Stmt per_value = onf::Loop(j, dv);
    const Scalar b = lower.Lower(lifted(match->value), &per_value.body);
    per_value.body.push_back(onf::Store(o_tile, at_iij, dnf::Binary(BinaryOp::kAdd, dnf::Binary(BinaryOp::kMul, tile(o_tile, at_iij), dnf::Ref(c)),
                                                                    dnf::Binary(BinaryOp::kMul, dnf::Ref(p), b))));
    step.push_back(std::move(per_value));
    step.push_back(onf::Store(m_tile, at_ii, dnf::Ref(m_new)));

    // Each key/value tile is used by all Bq rows of the query block before the next is read.
    onf::Stmt key_blocks = onf::Loop(lo, match->keys, {onf::Loop(ii, bq, {onf::Guard(row_ok, {onf::Loop(li, bk, {onf::Guard(key_ok, step)})})})},
                                     split ? splits * bk : bk);
    if (split) {
      key_blocks = onf::Loop(ls, Extent(splits), {std::move(key_blocks)});
      init = onf::Loop(ls, Extent(splits), {std::move(init)});
    }

    std::vector<Affine> index;
    for (size_t k = 0; k + 2 < d; ++k) index.push_back(Affine::Var(out.vars[k]));
    index.push_back(row);
    index.push_back(Affine::Var(j));
    // o / z, and 0 over zero keys (where o = z = 0), as the DNF's factored quotient gives.
    const Scalar no_keys = dnf::Binary(BinaryOp::kEqual, dnf::SizeValue(match->keys), dnf::Const(0));
    auto quotient = [&](Scalar o, Scalar z) {
      return dnf::Select(no_keys, dnf::Const(0), dnf::Binary(BinaryOp::kDiv, std::move(o), std::move(z)));
    };
    onf::Stmt finish = onf::Loop(ii, bq, {onf::Guard(row_ok, {onf::Loop(j, dv, {onf::Store(out.name, lower.Gamma(out.name, index),
        quotient(tile(o_tile, at_iij), tile(z_tile, at_ii)))})})});
    if (split) {
      // The ranges' states combined by the same monoid: M = max_s m_s, w_s = e^{m_s − M} (0 for a
      // range that saw only masked keys, m_s = −∞), z = Σ_s z_s·w_s, o = Σ_s o_s·w_s, out = o / z.
      const std::string mx = lower.Fresh("M"), zs = lower.Fresh("z"), os = lower.Fresh("o");
      const Scalar m_s = tile(m_tile, at_ii);
      const Scalar w = dnf::Select(dnf::Binary(BinaryOp::kEqual, m_s, kMinusInf), dnf::Const(0),
                                   dnf::Unary(UnaryOp::kExp, dnf::Binary(BinaryOp::kSub, m_s, dnf::Ref(mx))));
      std::vector<onf::Stmt> combine = {
          onf::Let(mx, kMinusInf),
          onf::Loop(ls, Extent(splits), {onf::Accum(mx, BinaryOp::kMax, m_s)}),
          onf::Let(zs, dnf::Const(0)),
          onf::Loop(ls, Extent(splits), {onf::Accum(zs, BinaryOp::kAdd, dnf::Binary(BinaryOp::kMul, tile(z_tile, at_ii), w))}),
          onf::Loop(j, dv, {onf::Let(os, dnf::Const(0)),
                            onf::Loop(ls, Extent(splits), {onf::Accum(os, BinaryOp::kAdd, dnf::Binary(BinaryOp::kMul, tile(o_tile, at_iij), w))}),
                            onf::Store(out.name, lower.Gamma(out.name, index), quotient(dnf::Ref(os), dnf::Ref(zs)))})};
      finish = onf::Loop(ii, bq, {onf::Guard(row_ok, std::move(combine))});
    }

    onf::Stmt nest = onf::Loop(io, n, {std::move(init), std::move(key_blocks), std::move(finish)}, bq);
    for (size_t k = d - 2; k-- > 0;) nest = onf::Loop(out.vars[k], out.shape[k], {std::move(nest)});
    onf.body.push_back(std::move(nest));
  }
  return onf;
}

}  // namespace moa::lift
