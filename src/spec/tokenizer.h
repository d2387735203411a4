// moa spec — stage 1 of the front end: the tokenizer. Takes the spec's Python source text, gives
// back a flat token list with Python's layout tokens (NEWLINE, INDENT, DEDENT) made explicit, so
// the parser (parser.h) never looks at whitespace. Line breaks inside brackets and after a
// backslash join lines, as in Python. Errors are SpecErrors at the offending character.
#pragma once

#include <string>
#include <vector>

namespace moa::spec::internal {

enum class TokenKind {
  kName,     // identifiers and keywords (the parser tells them apart)
  kNumber,   // 3, 0.5, 1e-9
  kString,   // 'a', "a", """doc"""; text holds the decoded value
  kOp,       // operators and delimiters: + - * / @ ** ( ) [ ] , : . = -> < <= == != ~ & | …
  kNewline,  // end of a logical line
  kIndent,
  kDedent,
  kEnd,
};

struct Token {
  TokenKind kind;
  std::string text;   // as written (decoded for strings)
  int line = 0;       // 1-based
  int column = 0;     // 1-based, counted in bytes
  double number = 0;  // kNumber
  bool is_int = false;
};

std::string Describe(const Token& t);  // "name 'q'", "'('", "end of line", … for error messages

// Throws SpecError ("FILE:LINE:COL: error: …") on characters outside the subset, unterminated
// strings and inconsistent indentation.
std::vector<Token> Tokenize(const std::string& source, const std::string& file);

}  // namespace moa::spec::internal
