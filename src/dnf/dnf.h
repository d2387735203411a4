// moa dnf — the Denotational Normal Form of a spec and the passes that produce it:
//   PsiReduce: Expr DAG → one scalar body per output, `<i j> ψ out = body(i, j)`, with only ψ on
//              inputs left (MOA_RULES.md, the ψ-rule of every operation);
//   Hoist:     a fold whose free indices are a strict prefix of the output's is bound once at
//              that level as a named scalar (the row max M(i) and normaliser Z(i) of softmax);
//   Factor:    a divisor that does not depend on a sum's variable leaves the sum.
// Each pass records the rewrites it made as steps, so `moa derive --steps` can show the work.
#pragma once

#include <string>
#include <vector>

#include "dnf/scalar.h"
#include "expr/expr.h"

namespace moa::dnf {

struct Step {
  std::string rule;  // "psi-permute", "hoist", "factor-divisor", …
  std::string text;  // the rewrite, "<i l> ψ ⍉k  ⇒  <l i> ψ k"
};

// A scalar bound once per iteration of the first `level` output index variables.
struct Let {
  std::string name;
  size_t level = 0;
  Scalar value;
};

struct Output {
  std::string name;
  Shape shape;
  std::vector<std::string> vars;  // the free index variables, one per axis of `shape`
  std::vector<Let> lets;          // hoisted scalars, in dependency order
  Scalar body;                    // `<vars> ψ name = body`
};

struct InputInfo {
  std::string name;
  Shape shape;
  expr::ElemType type = expr::ElemType::kReal;
};

// An extent that must not be 0 when the DNF runs: a user's max over that axis, which PyTorch
// refuses over zero elements (the DNF would give −∞).
struct NonEmpty {
  Extent extent;
  std::string why;
};

struct Dnf {
  std::vector<InputInfo> inputs;
  std::vector<Output> outputs;
  std::vector<Step> steps;
  std::vector<NonEmpty> nonempty;
};

// `inputs` are the spec's kInput nodes (all of them, even unused ones), `outputs` its results.
Dnf PsiReduce(const std::vector<expr::Expr>& inputs, const std::vector<expr::Expr>& outputs,
              const std::vector<std::string>& output_names);
Dnf Hoist(Dnf dnf);
Dnf Factor(Dnf dnf);
// The three passes in order.
Dnf Derive(const std::vector<expr::Expr>& inputs, const std::vector<expr::Expr>& outputs,
           const std::vector<std::string>& output_names);

// The DNF as text (one block per output: its lets, then `<i j> ψ out = …`) or LaTeX.
std::string ToString(const Dnf& dnf, Notation notation = Notation::kText);

}  // namespace moa::dnf
