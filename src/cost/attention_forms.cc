// moa cost — naive, three-pass DNF and lifted attention as ONF loop nests.
#include "cost/attention_forms.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "dnf/dnf.h"
#include "expr/torch_ops.h"
#include "moa/error.h"

namespace moa::cost {
namespace {

using dnf::Affine;
using dnf::Scalar;
using onf::Stmt;
using onf::StmtKind;

Extent Sym(const char* name) { return Extent::Symbol(name); }
Affine Var(const char* name) { return Affine::Var(name); }

Stmt Loop(const char* var, Extent extent, std::vector<Stmt> body) {
  Stmt s{StmtKind::kLoop, var, std::move(extent), nullptr, BinaryOp::kAdd, {}, std::move(body)};
  return s;
}
Stmt Let(const char* name, Scalar value) {
  return Stmt{StmtKind::kLet, name, {}, std::move(value), BinaryOp::kAdd, {}, {}};
}
Stmt Accum(const char* name, BinaryOp op, Scalar value) {
  return Stmt{StmtKind::kAccum, name, {}, std::move(value), op, {}, {}};
}
Stmt Store(const char* buffer, Affine offset, Scalar value) {
  return Stmt{StmtKind::kStore, buffer, {}, std::move(value), BinaryOp::kAdd, std::move(offset), {}};
}
Scalar Ld(const char* buffer, Affine offset) { return dnf::FlatLoad(buffer, std::move(offset)); }
Scalar Ref(const char* name) { return dnf::Ref(name); }
Scalar Bin(BinaryOp op, Scalar a, Scalar b) { return dnf::Binary(op, std::move(a), std::move(b)); }
Scalar Exp(Scalar a) { return dnf::Unary(UnaryOp::kExp, std::move(a)); }
Scalar SqrtDk() { return dnf::Unary(UnaryOp::kSqrt, dnf::SizeValue(Sym("dk"))); }

onf::Buffer In(const char* name, Shape shape) {
  return onf::Buffer{name, std::move(shape), Layout::kRowMajor, onf::Role::kInput};
}
onf::Buffer Out(const char* name, Shape shape) {
  return onf::Buffer{name, std::move(shape), Layout::kRowMajor, onf::Role::kOutput};
}

std::vector<onf::Buffer> AttentionBuffers() {
  return {In("q", {Sym("n"), Sym("dk")}), In("k", {Sym("m"), Sym("dk")}),
          In("v", {Sym("m"), Sym("dv")}), Out("out", {Sym("n"), Sym("dv")})};
}

onf::Onf Naive() {
  onf::Onf o;
  o.buffers = AttentionBuffers();
  o.buffers.push_back(Out("S", {Sym("n"), Sym("m")}));
  o.buffers.push_back(Out("P", {Sym("n"), Sym("m")}));
  const Extent n = Sym("n"), m = Sym("m"), dk = Sym("dk"), dv = Sym("dv"), bg = Sym("Bg");
  const Affine sil = Var("i") * m + Var("l");
  const Affine row = Var("ib") * bg + Var("ii");  // a row of a GEMM block, lifted <ngb Bg>
  const Affine s_at = row * m + Var("l");
  const Affine o_at = row * dv + Var("j");
  // S = q·kᵀ / √dk: a GEMM blocked by Bg query rows, so each k row is read once per block.
  o.body.push_back(Loop("ib", Sym("ngb"), {Loop("l", m, {Loop("ii", bg, {
      Let("acc", dnf::Const(0)),
      Loop("c", dk, {Accum("acc", BinaryOp::kAdd,
                           Bin(BinaryOp::kMul, Ld("q", row * dk + Var("c")),
                               Ld("k", Var("l") * dk + Var("c"))))}),
      Store("S", s_at, Bin(BinaryOp::kDiv, Ref("acc"), SqrtDk()))})})}));
  // P = softmax(S) row by row, as torch computes it: max, exp, sum, divide.
  o.body.push_back(Loop("i", n, {
      Let("M", dnf::Const(-INFINITY)),
      Loop("l", m, {Accum("M", BinaryOp::kMax, Ld("S", sil))}),
      Loop("l", m, {Store("P", sil, Exp(Bin(BinaryOp::kSub, Ld("S", sil), Ref("M"))))}),
      Let("Z", dnf::Const(0)),
      Loop("l", m, {Accum("Z", BinaryOp::kAdd, Ld("P", sil))}),
      Loop("l", m, {Store("P", sil, Bin(BinaryOp::kDiv, Ld("P", sil), Ref("Z")))})}));
  // out = P·v: the same blocking; each v row is read once per block and updated into out rows.
  o.body.push_back(Loop("i", n, {Loop("j", dv, {Store("out", Var("i") * dv + Var("j"),
                                                      dnf::Const(0))})}));
  o.body.push_back(Loop("ib", Sym("ngb"), {Loop("l", m, {Loop("ii", bg, {Loop("j", dv, {
      Store("out", o_at,
            Bin(BinaryOp::kAdd, Ld("out", o_at),
                Bin(BinaryOp::kMul, Ld("P", s_at), Ld("v", Var("l") * dv + Var("j")))))})})})}));
  return o;
}

onf::Onf ThreePassDnf() {
  namespace t = expr::torch;
  const expr::Expr q = expr::Input("q", {Sym("n"), Sym("dk")});
  const expr::Expr k = expr::Input("k", {Sym("m"), Sym("dk")});
  const expr::Expr v = expr::Input("v", {Sym("m"), Sym("dv")});
  const expr::Expr s = t::Arith(BinaryOp::kDiv, t::MatMul(q, t::Transpose(k, -2, -1)),
                                expr::Map(UnaryOp::kSqrt, expr::Size(Sym("dk"))));
  const expr::Expr out = t::MatMul(t::Softmax(s, -1), v);
  return onf::Lower(dnf::Derive({q, k, v}, {out}, {"out"}));
}

onf::Onf Lifted() {
  onf::Onf o;
  o.buffers = AttentionBuffers();
  const Extent dk = Sym("dk"), dv = Sym("dv"), bq = Sym("Bq"), bk = Sym("Bk");
  o.buffers.push_back(Out("s", {bq, bk}));
  o.buffers.push_back(Out("oacc", {bq, dv}));
  o.buffers.push_back(Out("mrow", {bq}));
  o.buffers.push_back(Out("zrow", {bq}));
  const Affine row = Var("qb") * bq + Var("qi");   // query row, lifted <nqb Bq>
  const Affine key = Var("kb") * bk + Var("kl");   // key row, lifted <nkb Bk>
  const Affine s_at = Var("qi") * bk + Var("kl");
  const Affine o_at = Var("qi") * dv + Var("j");
  const Affine qi = Var("qi");
  std::vector<Stmt> init = {
      Loop("qi", bq, {Store("mrow", qi, dnf::Const(-INFINITY)), Store("zrow", qi, dnf::Const(0)),
                      Loop("j", dv, {Store("oacc", o_at, dnf::Const(0))})})};
  Stmt scores = Loop("qi", bq, {Loop("kl", bk, {
      Let("acc", dnf::Const(0)),
      Loop("c", dk, {Accum("acc", BinaryOp::kAdd,
                           Bin(BinaryOp::kMul, Ld("q", row * dk + Var("c")),
                               Ld("k", key * dk + Var("c"))))}),
      Store("s", s_at, Bin(BinaryOp::kDiv, Ref("acc"), SqrtDk()))})});
  Stmt update = Loop("qi", bq, {
      Let("mx", Ld("mrow", qi)),
      Loop("kl", bk, {Accum("mx", BinaryOp::kMax, Ld("s", s_at))}),
      Let("corr", Exp(Bin(BinaryOp::kSub, Ld("mrow", qi), Ref("mx")))),
      Let("rs", dnf::Const(0)),
      Loop("kl", bk, {Store("s", s_at, Exp(Bin(BinaryOp::kSub, Ld("s", s_at), Ref("mx")))),
                      Accum("rs", BinaryOp::kAdd, Ld("s", s_at))}),
      Store("zrow", qi, Bin(BinaryOp::kAdd, Bin(BinaryOp::kMul, Ld("zrow", qi), Ref("corr")),
                            Ref("rs"))),
      Loop("j", dv, {
          Let("acc", Bin(BinaryOp::kMul, Ld("oacc", o_at), Ref("corr"))),
          Loop("kl", bk, {Accum("acc", BinaryOp::kAdd,
                                Bin(BinaryOp::kMul, Ld("s", s_at), Ld("v", key * dv + Var("j"))))}),
          Store("oacc", o_at, Ref("acc"))}),
      Store("mrow", qi, Ref("mx"))});
  Stmt finish = Loop("qi", bq, {Loop("j", dv, {
      Store("out", row * dv + Var("j"), Bin(BinaryOp::kDiv, Ld("oacc", o_at), Ld("zrow", qi)))})});
  std::vector<Stmt> block = std::move(init);
  block.push_back(Loop("kb", Sym("nkb"), {std::move(scores), std::move(update)}));
  block.push_back(std::move(finish));
  o.body.push_back(Loop("qb", Sym("nqb"), std::move(block)));
  return o;
}

// The lifted form in the order the fused SIMD kernels run it (src/kernels/cpu/attention_hwy.cc,
// SimdTile): each key tile is taken one chunk of Bc queries at a time, and the chunk's scores go
// through the softmax and P·V before the next chunk starts. Scores run key-major over the chunk's
// queries (the micro-kernel broadcasts a key element and streams the chunk's Q^T row); P·V runs
// output column by column over all the tile's keys with the chunk's queries inner (the
// micro-kernel keeps O^T rows in registers and streams P^T rows). So what a key step reuses is
// the chunk's q slab (Bc x dk) and what a P·V column reuses is the chunk's scores (Bk x Bc); the
// K and V tiles stream. The lifted form above instead reuses a whole K or V tile per query row.
onf::Onf LiftedChunks() {
  onf::Onf o;
  o.buffers = AttentionBuffers();
  const Extent dk = Sym("dk"), dv = Sym("dv"), bq = Sym("Bq"), bk = Sym("Bk"), bc = Sym("Bc");
  o.buffers.push_back(Out("s", {bk, bc}));     // the chunk's S^T = P^T
  o.buffers.push_back(Out("oacc", {dv, bq}));  // O^T of the query block
  o.buffers.push_back(Out("mrow", {bq}));
  o.buffers.push_back(Out("zrow", {bq}));
  o.buffers.push_back(Out("crow", {bc}));      // the chunk's rescale factors e^{m - m'}
  const Affine qi = Var("qc") * bc + Var("ci");  // query within the block, lifted <nqc Bc>
  const Affine row = Var("qb") * bq + qi;
  const Affine key = Var("kb") * bk + Var("kl");
  const Affine s_at = Var("kl") * bc + Var("ci");
  const Affine o_at = Var("j") * bq + qi;
  const Affine b_at = Var("j") * bq + Var("qi");
  std::vector<Stmt> init = {
      Loop("qi", bq, {Store("mrow", Var("qi"), dnf::Const(-INFINITY)),
                      Store("zrow", Var("qi"), dnf::Const(0))}),
      Loop("j", dv, {Loop("qi", bq, {Store("oacc", b_at, dnf::Const(0))})})};
  Stmt scores = Loop("kl", bk, {Loop("ci", bc, {
      Let("acc", dnf::Const(0)),
      Loop("c", dk, {Accum("acc", BinaryOp::kAdd,
                           Bin(BinaryOp::kMul, Ld("q", row * dk + Var("c")),
                               Ld("k", key * dk + Var("c"))))}),
      Store("s", s_at, Bin(BinaryOp::kDiv, Ref("acc"), SqrtDk()))})});
  Stmt softmax = Loop("ci", bc, {
      Let("mx", Ld("mrow", qi)),
      Loop("kl", bk, {Accum("mx", BinaryOp::kMax, Ld("s", s_at))}),
      Store("crow", Var("ci"), Exp(Bin(BinaryOp::kSub, Ld("mrow", qi), Ref("mx")))),
      Let("rs", dnf::Const(0)),
      Loop("kl", bk, {Store("s", s_at, Exp(Bin(BinaryOp::kSub, Ld("s", s_at), Ref("mx")))),
                      Accum("rs", BinaryOp::kAdd, Ld("s", s_at))}),
      Store("zrow", qi, Bin(BinaryOp::kAdd, Bin(BinaryOp::kMul, Ld("zrow", qi), Ld("crow", Var("ci"))),
                            Ref("rs"))),
      Store("mrow", qi, Ref("mx"))});
  Stmt pv = Loop("j", dv, {
      Loop("ci", bc, {Store("oacc", o_at, Bin(BinaryOp::kMul, Ld("oacc", o_at), Ld("crow", Var("ci"))))}),
      Loop("kl", bk, {Loop("ci", bc, {Store(
          "oacc", o_at,
          Bin(BinaryOp::kAdd, Ld("oacc", o_at),
              Bin(BinaryOp::kMul, Ld("s", s_at), Ld("v", key * dv + Var("j")))))})})});
  Stmt finish = Loop("qi", bq, {Loop("j", dv, {
      Store("out", (Var("qb") * bq + Var("qi")) * dv + Var("j"),
            Bin(BinaryOp::kDiv, Ld("oacc", b_at), Ld("zrow", Var("qi"))))})});
  std::vector<Stmt> block = std::move(init);
  block.push_back(Loop("kb", Sym("nkb"), {Loop("qc", Sym("nqc"), {std::move(scores),
                                                                   std::move(softmax),
                                                                   std::move(pv)})}));
  block.push_back(std::move(finish));
  o.body.push_back(Loop("qb", Sym("nqb"), std::move(block)));
  return o;
}

}  // namespace

const char* FormName(Form form) {
  switch (form) {
    case Form::kNaive: return "naive";
    case Form::kDnf: return "three-pass DNF";
    case Form::kLifted: return "lifted";
    case Form::kLiftedChunks: return "lifted, kernel order";
  }
  return "?";
}

onf::Onf AttentionOnf(Form form) {
  switch (form) {
    case Form::kNaive: return Naive();
    case Form::kDnf: return ThreePassDnf();
    case Form::kLifted: return Lifted();
    case Form::kLiftedChunks: return LiftedChunks();
  }
  throw InternalError("unknown attention form");
}

Bindings AttentionSizes(Form form, int64_t n, int64_t m, int64_t dk, int64_t dv, int64_t bq,
                        int64_t bk, int64_t bc) {
  UserCheck(n > 0, "--n: must be positive, got ", n);
  UserCheck(m > 0, "--m: must be positive, got ", m);
  UserCheck(dk > 0, "--dk: must be positive, got ", dk);
  UserCheck(dv > 0, "--dv: must be positive, got ", dv);
  Bindings b{{"n", n}, {"m", m}, {"dk", dk}, {"dv", dv}};
  if (form == Form::kNaive) {
    // GEMM blocks of 64 rows (a register/L1 block of a library GEMM), n padded to a multiple.
    const int64_t bg = std::min<int64_t>(n, 64), ngb = (n + bg - 1) / bg;
    b = {{"n", ngb * bg}, {"m", m}, {"dk", dk}, {"dv", dv}, {"Bg", bg}, {"ngb", ngb}};
  }
  if (form == Form::kLifted || form == Form::kLiftedChunks) {
    UserCheck(bq > 0, "Bq: the query tile must be positive, got ", bq);
    UserCheck(bk > 0, "Bk: the key/value tile must be positive, got ", bk);
    const int64_t nqb = (n + bq - 1) / bq, nkb = (m + bk - 1) / bk;
    b = {{"n", nqb * bq}, {"m", nkb * bk}, {"dk", dk},   {"dv", dv},
         {"Bq", bq},      {"Bk", bk},      {"nqb", nqb}, {"nkb", nkb}};
  }
  if (form == Form::kLiftedChunks) {
    UserCheck(bc > 0 && bq % bc == 0, "Bc: the query chunk must be positive and divide Bq = ", bq,
              ", got ", bc);
    b["Bc"] = bc;
    b["nqc"] = bq / bc;
  }
  return b;
}

}  // namespace moa::cost
