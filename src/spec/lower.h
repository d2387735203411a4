// moa spec — stage 3 of the front end: the lowering. Takes the parser's syntax tree (ast.h), gives
// back the Spec (spec.h): one kInput node per annotated argument, and the returned values as
// nodes of the MoA expression DAG, built through torch_ops (src/expr/torch_ops.h) so PyTorch's
// broadcasting and negative dims hold. Names resolve through the imports; sizes stay symbolic
// (values.h). Every construct outside the subset is a SpecError that names it.
#pragma once

#include <string>

#include "spec/ast.h"
#include "spec/spec.h"

namespace moa::spec::internal {

Spec Lower(const Module& module, const std::string& source, const std::string& file);

}  // namespace moa::spec::internal
