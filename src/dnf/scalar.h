// moa dnf — scalar expressions: the body of a Denotational Normal Form. After ψ-reduction no
// array operation is left: only ψ on inputs (kLoad with an index vector), constants, sizes,
// index values, scalar ops, selects and folds (reductions over a bound index variable).
// The ONF reuses the same nodes with flat offsets (kLoad with `offset`) and no folds: each fold
// has become a loop that accumulates into a named scalar (kRef).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "dnf/affine.h"
#include "moa/scalar_op.h"

namespace moa::dnf {

enum class SKind { kLoad, kConst, kSize, kIndex, kUnary, kBinary, kSelect, kFold, kRef };

struct SNode;
using Scalar = std::shared_ptr<const SNode>;

struct SNode {
  SKind kind;
  std::string name;            // kLoad: input; kFold: bound variable; kRef: named scalar
  std::vector<Affine> index;   // kLoad in a DNF: the full index <i k> in `<i k> ψ name`;
                               // kRef: the variables of the level it was hoisted to
  Affine offset;               // kLoad in an ONF: γ of the index; kIndex: the index value
  bool flat = false;           // kLoad: `offset` is used instead of `index`
  double value = 0;            // kConst
  Extent extent;               // kSize: the size; kFold: the bound variable's extent
  UnaryOp unary = UnaryOp::kNeg;
  BinaryOp binary = BinaryOp::kAdd;  // kBinary; kFold: the combiner
  std::vector<Scalar> args;    // operands (kFold: the body)
  // kBinary kDiv made by factoring, (Σ_{l<n} x) / c: 0 when n = 0, as the sum Σ_{l<n} (x / c) it
  // came from is (PyTorch's softmax over zero keys, then @ v, gives zeros, not 0/0).
  bool factored = false;
};

Scalar Load(const std::string& input, std::vector<Affine> index);
Scalar FlatLoad(const std::string& buffer, Affine offset);
Scalar Const(double value);
Scalar SizeValue(Extent extent);
Scalar IndexValue(Affine index);
Scalar Unary(UnaryOp op, Scalar a);
Scalar Binary(BinaryOp op, Scalar a, Scalar b);
Scalar Select(Scalar cond, Scalar a, Scalar b);
Scalar Fold(BinaryOp op, const std::string& var, Extent extent, Scalar body);
// A named scalar; `level` lists the index variables it depends on (printed as M(i)).
Scalar Ref(const std::string& name, std::vector<Affine> level = {});

// Index variables used but not bound inside `s` (a fold binds its variable in its body).
std::set<std::string> FreeVars(const Scalar& s);
// The same, remembering the free variables of every node it visits in `memo` (for many queries
// on one DAG).
using FreeVarsMemo = std::map<const SNode*, std::set<std::string>>;
const std::set<std::string>& FreeVars(const Scalar& s, FreeVarsMemo* memo);
// `s` with the free index variable `var` replaced by `value` everywhere it is not bound.
Scalar Substitute(const Scalar& s, const std::string& var, const Affine& value);
// Rebuilds `s` bottom-up: `rule` sees each node after its operands were rebuilt and returns its
// replacement. A node shared in the DAG is rebuilt once (`memo` persists across calls, so several
// roots can share it too) — a pass that hoists or rewrites a shared subexpression does it once.
using RewriteMemo = std::map<const SNode*, Scalar>;
Scalar RewriteBottomUp(const Scalar& s, const std::function<Scalar(Scalar)>& rule, RewriteMemo* memo);
// Names of the inputs `s` loads from.
std::set<std::string> LoadedInputs(const Scalar& s);

// kText: the MoA notation of the DNF; kLatex: the same as LaTeX; kCode: C-like, for the ONF.
enum class Notation { kText, kLatex, kCode };
// A shared subexpression of more than a few nodes is printed once, named, in a trailing
// "where t1(i, k) = …" (so the text grows with the DAG's size, not with its number of paths).
std::string ToString(const Scalar& s, Notation notation = Notation::kText);

// Prints several roots that may share subexpressions (the lets and body of a DNF output): every
// root is added first, then printed; a shared subexpression of more than a few nodes is printed
// as its name `t1(i, k)`, its definition (left and right side) collected for the caller to place.
class SharedPrinter {
 public:
  explicit SharedPrinter(Notation notation, std::set<std::string> taken_names = {});
  ~SharedPrinter();
  SharedPrinter(const SharedPrinter&) = delete;
  SharedPrinter& operator=(const SharedPrinter&) = delete;
  void Add(const Scalar& root);
  std::string Print(const Scalar& root);
  // The definitions the prints since the last call introduced, each after those it uses.
  std::vector<std::pair<std::string, std::string>> TakeDefinitions();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace moa::dnf
