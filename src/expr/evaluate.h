// moa expr — eager evaluation of the expression DAG with the MoA algebra (moa/algebra.h): every
// node is materialised as a dense float64 array, exactly as a naive evaluation would. It is the
// reference the ψ-reduced DNF and its ONF must agree with.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "expr/expr.h"
#include "moa/array.h"

namespace moa::expr {

// `inputs` maps each kInput name to an array of its (bound) shape; throws moa::Error otherwise.
// The error for a user's max over an axis that is empty at the bound sizes.
std::string NonEmptyMessage(const Node& reduce, const Node& operand);

std::vector<Array> Evaluate(const std::vector<Expr>& outputs, const std::map<std::string, Array>& inputs,
                            const Bindings& sizes);

}  // namespace moa::expr
