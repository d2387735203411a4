// moa spec — the front end. Parses a subset of Python, as PyTorch users write attention, into the
// MoA expression DAG (src/expr) with symbolic shapes taken from the arguments' annotations
// (jaxtyping `Float[Tensor, "b h n dk"]`, `Bool[Tensor, "n m"]`, or a plain string "n dk").
// Anything outside the subset is a SpecError naming the construct with its line and column.
#pragma once

#include <string>
#include <vector>

#include "expr/expr.h"
#include "moa/error.h"

namespace moa::spec {

// "FILE:LINE:COL: error: MESSAGE"; line and column are 1-based.
class SpecError : public Error {
 public:
  SpecError(const std::string& file, int line, int column, const std::string& message);
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  int line_, column_;
};

struct Param {
  std::string name;
  Shape shape;  // symbolic, from the annotation
  expr::ElemType type = expr::ElemType::kReal;
  expr::SourceLoc loc;
};

struct Spec {
  std::string file;    // the file name used in errors ("<builtin:attention>" for built-ins)
  std::string source;  // the full text
  std::string function;             // the def's name
  std::vector<Param> params;        // in declaration order
  std::vector<expr::Expr> inputs;   // one kInput node per param, same order
  std::vector<expr::Expr> outputs;  // the returned values
  std::vector<std::string> output_names;  // the returned variable's name, else "out" / "out0", "out1", …
  std::vector<std::string> sizes;   // the size names of the annotations, first-seen order
};

// Parses `source`; `file` names it in errors.
Spec Parse(const std::string& source, const std::string& file);
// Reads and parses a file; a missing file is a moa::Error naming the path.
Spec ParseFile(const std::string& path);

}  // namespace moa::spec
