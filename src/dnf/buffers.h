// moa dnf — the memory report. NoMaterialisedArrays checks the DNF's invariant: the only arrays
// are the inputs and the outputs, every temporary is a scalar. NaiveIntermediates lists what an
// eager evaluation of the same spec materialises, one buffer per operation (PyTorch's eager
// mode does the same, except that transpose, expand and slicing return views).
#pragma once

#include <string>
#include <vector>

#include "dnf/dnf.h"
#include "expr/expr.h"

namespace moa::dnf {

enum class BufferRole { kInput, kOutput, kScalarTemporary, kAccumulator };
std::string ToString(BufferRole role);

struct BufferEntry {
  std::string name;
  BufferRole role;
  Shape shape;        // <> for scalars
  Extent elements;    // τ of the shape
  std::string note;   // why it exists
};

struct BuffersReport {
  std::vector<BufferEntry> buffers;
  bool minimal = false;  // no temporary array: only inputs and outputs hold more than a scalar
  std::string why;       // the explanation, in one sentence
};

BuffersReport NoMaterialisedArrays(const Dnf& dnf);

struct Intermediate {
  std::string name;    // the spec's variable, else t1, t2, …
  std::string op;      // the operation, in MoA notation
  Shape shape;
  Extent elements;
  bool view = false;   // a view in PyTorch's eager mode (no copy)
  expr::SourceLoc loc;
};

std::vector<Intermediate> NaiveIntermediates(const std::vector<expr::Expr>& outputs);
// Σ τ over the intermediates that are not views.
Extent MaterialisedElements(const std::vector<Intermediate>& intermediates);

}  // namespace moa::dnf
