// moa onf — the Operational Normal Form: the DNF laid onto flat memory. γ (row- or column-major
// per buffer) and the ψ-correspondence theorem turn every `<i k> ψ q` into `q[γ(<i k>; ρq)]`, an
// affine offset; every fold becomes a loop accumulating into a named scalar; hoisted scalars are
// bound at their level of the loop nest. In: a dnf::Dnf. Out: a loop nest of
// Loop / Let / Accum / Store statements that the interpreter (interpreter.h) executes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "dnf/dnf.h"
#include "moa/layout.h"

namespace moa::onf {

enum class StmtKind { kLoop, kLet, kAccum, kStore, kGuard };

struct Stmt {
  StmtKind kind;
  std::string name;            // kLoop: the index variable; kLet/kAccum: the scalar; kStore: the buffer
  Extent extent;               // kLoop: for (name = 0; name < ⌈extent / divisor⌉; ++name)
  dnf::Scalar value;           // kLet: value; kAccum: name = name op value; kStore: value; kGuard: condition
  BinaryOp op = BinaryOp::kAdd;  // kAccum
  dnf::Affine offset;          // kStore: buffer[offset] = value
  std::vector<Stmt> body;      // kLoop, kGuard
  int64_t divisor = 1;         // kLoop: a lifted outer axis ⟨⌈n/T⌉ T⟩ runs ⌈n/T⌉ times
};

Stmt Loop(const std::string& var, Extent extent, std::vector<Stmt> body = {}, int64_t divisor = 1);
Stmt Let(const std::string& name, dnf::Scalar value);
Stmt Accum(const std::string& name, BinaryOp op, dnf::Scalar value);
Stmt Store(const std::string& buffer, dnf::Affine offset, dnf::Scalar value);
Stmt Guard(dnf::Scalar condition, std::vector<Stmt> body);  // the tail of a lifted axis

// kTile: a bounded temporary of a lifted ONF, its shape made of tile sizes (constants).
enum class Role { kInput, kOutput, kTile };

struct Buffer {
  std::string name;
  Shape shape;
  Layout layout = Layout::kRowMajor;
  Role role = Role::kInput;
};

struct Onf {
  std::vector<Buffer> buffers;  // inputs, then outputs
  std::vector<Stmt> body;
  std::vector<dnf::NonEmpty> nonempty;  // checked by the interpreter before it runs
};

// Lowers with the given layout per buffer name (default row-major).
Onf Lower(const dnf::Dnf& dnf, const std::map<std::string, Layout>& layouts = {});

// The symbolic strides γ uses for `shape` in `layout`: offset = Σ_j i_j · stride_j.
std::vector<Extent> SymbolicStrides(const Shape& shape, Layout layout);

// Readable pseudo-C.
std::string ToString(const Onf& onf);

}  // namespace moa::onf
