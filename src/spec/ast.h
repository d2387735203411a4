// moa spec — the syntax tree the parser (parser.h) produces and the lowering (lower.h) consumes.
// It is the shape of the Python subset and nothing more: names are not resolved and no meaning is
// attached yet, so the parser can stay a plain recursive descent over tokenizer.h's tokens.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "expr/expr.h"

namespace moa::spec::internal {

enum class AstKind {
  kName,       // text: the identifier (also True, False, None)
  kNumber,     // number, is_int
  kString,     // text: the decoded value
  kAttribute,  // children[0].text
  kCall,       // children[0](children[1..]) with keywords
  kSubscript,  // children[0][children[1]]; several indices arrive as one kTuple
  kSlice,      // lower:upper:step in a subscript; children hold nullptr for missing parts
  kBinary,     // children[0] text children[1]: + - * / @ ** & | and comparisons
  kUnary,      // text children[0]: - + ~
  kTuple,      // (a, b) or a, b
  kList,       // [a, b]
};

struct Ast;
using AstPtr = std::shared_ptr<const Ast>;

struct Keyword {
  std::string name;
  expr::SourceLoc loc;
  AstPtr value;
};

struct Ast {
  AstKind kind;
  expr::SourceLoc loc;    // of the construct's defining token (the operator for binary operations)
  expr::SourceLoc start;  // of its first token: where an argument or operand begins
  std::string text;
  double number = 0;
  bool is_int = false;
  std::vector<AstPtr> children;
  std::vector<Keyword> keywords;  // kCall
  int depth = 0;                  // 0 for a leaf, else 1 + the deepest child's; <= expr::kMaxDepth
};

struct Target {
  std::string name;
  expr::SourceLoc loc;
};

enum class StmtKind { kAssign, kReturn };

struct Stmt {
  StmtKind kind;
  expr::SourceLoc loc;
  std::vector<Target> targets;  // kAssign: one name, or several for tuple unpacking
  AstPtr value;
};

struct Import {
  std::string alias;   // the name bound in the spec
  std::string target;  // what it names: "torch", "torch.nn.functional", "jaxtyping.Float"
  expr::SourceLoc loc;
};

struct Argument {
  std::string name;
  expr::SourceLoc loc;
  AstPtr annotation;  // nullptr when missing (an error the lowering reports)
};

struct Function {
  std::string name;
  expr::SourceLoc loc;
  std::vector<Argument> args;
  AstPtr returns;  // the return annotation, or nullptr
  std::vector<Stmt> body;
};

struct Module {
  std::vector<Import> imports;
  Function function;
};

}  // namespace moa::spec::internal
