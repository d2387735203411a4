// moa spec — stage 2 of the front end: the parser. Takes tokenizer.h's tokens, gives back the
// syntax tree of ast.h: import lines, one `def` with annotated arguments, and its body of
// assignments and one final return. Every other Python statement or operator is a SpecError that
// names it (`unsupported statement 'for'`, `unsupported operator '//'`) at its line and column.
#pragma once

#include <string>
#include <vector>

#include "spec/ast.h"
#include "spec/tokenizer.h"

namespace moa::spec::internal {

Module ParseModule(const std::vector<Token>& tokens, const std::string& file);

}  // namespace moa::spec::internal
