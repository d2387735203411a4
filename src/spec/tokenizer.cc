#include "spec/tokenizer.h"

#include <cctype>
#include <cstdlib>

#include "spec/spec.h"

namespace moa::spec::internal {
namespace {

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// Longest match first. Operators the subset rejects (//, %, +=, …) are still tokenized so that the
// parser can name them in its error instead of reporting an odd character.
const char* const kOperators[] = {
    "**=", "//=", ">>=", "<<=", "...", "->", "**", "//", "<=", ">=", "==", "!=", "<<", ">>", "+=", "-=",
    "*=",  "/=",  "@=",  "%=",  "&=",  "|=", "^=", ":=", "+",  "-",  "*",  "/",  "@",  "%",  "(",  ")",
    "[",   "]",   "{",   "}",   ",",   ":",  ".",  ";",  "=",  "<",  ">",  "~",  "&",  "|",  "^"};

class Tokenizer {
 public:
  Tokenizer(const std::string& source, const std::string& file) : src_(source), file_(file) {}

  std::vector<Token> Run() {
    while (pos_ < src_.size()) {
      if (at_line_start_ && depth_ == 0) {
        if (!Indentation()) continue;  // a blank or comment-only line
      }
      const char c = src_[pos_];
      if (c == '\n') {
        NewLine();
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
        ++pos_;
        continue;
      }
      if (c == '#') {
        while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
        continue;
      }
      if (c == '\\') {
        size_t p = pos_ + 1;
        while (p < src_.size() && (src_[p] == ' ' || src_[p] == '\t' || src_[p] == '\r')) ++p;
        if (p < src_.size() && src_[p] == '\n') {  // explicit line joining
          pos_ = p + 1;
          ++line_;
          line_start_ = pos_;
          continue;
        }
        Fail(Column(), "unexpected character '\\'");
      }
      if (IsNameStart(c)) {
        Name();
      } else if (IsDigit(c) || (c == '.' && pos_ + 1 < src_.size() && IsDigit(src_[pos_ + 1]))) {
        Number();
      } else if (c == '\'' || c == '"') {
        String(Column());
      } else {
        Operator();
      }
    }
    if (depth_ > 0) Fail(open_.back().column, "'" + open_.back().text + "' is never closed", open_.back().line);
    if (line_has_tokens_) Emit(TokenKind::kNewline, "", Column());
    while (indents_.size() > 1) {
      indents_.pop_back();
      Emit(TokenKind::kDedent, "", 1);
    }
    Emit(TokenKind::kEnd, "", 1);
    return std::move(tokens_);
  }

 private:
  [[noreturn]] void Fail(int column, const std::string& message, int line = 0) const {
    throw SpecError(file_, line > 0 ? line : line_, column, message);
  }
  int Column() const { return static_cast<int>(pos_ - line_start_) + 1; }

  void Emit(TokenKind kind, std::string text, int column) {
    Token t;
    t.kind = kind;
    t.text = std::move(text);
    t.line = line_;
    t.column = column;
    tokens_.push_back(std::move(t));
    if (kind != TokenKind::kNewline && kind != TokenKind::kIndent && kind != TokenKind::kDedent)
      line_has_tokens_ = true;
  }

  void NewLine() {
    if (depth_ == 0 && line_has_tokens_) {
      Emit(TokenKind::kNewline, "", Column());
      line_has_tokens_ = false;
    }
    ++pos_;
    ++line_;
    line_start_ = pos_;
    at_line_start_ = depth_ == 0;  // inside brackets a line break only joins lines
  }

  // Measures the indentation of a logical line and emits INDENT/DEDENT; false for a line that
  // holds nothing but whitespace or a comment (Python ignores its indentation).
  bool Indentation() {
    int width = 0;
    size_t p = pos_;
    for (; p < src_.size() && (src_[p] == ' ' || src_[p] == '\t' || src_[p] == '\f'); ++p)
      width = src_[p] == '\t' ? (width / 8 + 1) * 8 : width + 1;
    if (p >= src_.size() || src_[p] == '\n' || src_[p] == '#' || src_[p] == '\r') {
      while (p < src_.size() && src_[p] != '\n') ++p;
      pos_ = p;
      if (pos_ < src_.size()) {
        ++pos_;
        ++line_;
        line_start_ = pos_;
      }
      return false;
    }
    pos_ = p;
    at_line_start_ = false;
    if (width > indents_.back()) {
      indents_.push_back(width);
      Emit(TokenKind::kIndent, "", Column());
    } else {
      while (width < indents_.back()) {
        indents_.pop_back();
        Emit(TokenKind::kDedent, "", Column());
      }
      if (width != indents_.back()) Fail(Column(), "this line's indentation matches no enclosing block");
    }
    line_has_tokens_ = false;
    return true;
  }

  void Name() {
    const int column = Column();
    const size_t start = pos_;
    while (pos_ < src_.size() && IsNameChar(src_[pos_])) ++pos_;
    std::string text = src_.substr(start, pos_ - start);
    if (pos_ < src_.size() && (src_[pos_] == '\'' || src_[pos_] == '"')) {
      // A string prefix. Raw and unicode strings read the same here (shape strings hold no
      // escapes); f-strings and bytes have no meaning in a spec.
      if (text != "r" && text != "R" && text != "u" && text != "U")
        Fail(column, "unsupported string prefix '" + text + "'");
      String(column);
      return;
    }
    Emit(TokenKind::kName, std::move(text), column);
  }

  void Number() {
    const int column = Column();
    const size_t start = pos_;
    bool is_int = true;
    while (pos_ < src_.size() && IsDigit(src_[pos_])) ++pos_;
    if (pos_ < src_.size() && src_[pos_] == '.') {
      is_int = false;
      ++pos_;
      while (pos_ < src_.size() && IsDigit(src_[pos_])) ++pos_;
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && IsDigit(src_[p])) {
        is_int = false;
        pos_ = p;
        while (pos_ < src_.size() && IsDigit(src_[pos_])) ++pos_;
      }
    }
    if (pos_ < src_.size() && IsNameChar(src_[pos_]))
      Fail(column, "unsupported number literal '" + src_.substr(start, pos_ - start + 1) + "…'");
    const std::string text = src_.substr(start, pos_ - start);
    if (is_int && text.size() > 1 && text[0] == '0')
      Fail(column, "integer literal '" + text + "' has a leading zero (not valid Python)");
    Emit(TokenKind::kNumber, text, column);
    tokens_.back().number = std::strtod(text.c_str(), nullptr);
    tokens_.back().is_int = is_int;
    if (is_int && text.size() > 15) Fail(column, "integer literal '" + text + "' is too large");
  }

  void String(int column) {
    const char quote = src_[pos_];
    const bool triple = src_.compare(pos_, 3, std::string(3, quote)) == 0;
    const int start_line = line_;
    pos_ += triple ? 3 : 1;
    std::string value;
    while (true) {
      if (pos_ >= src_.size()) Fail(column, "string is never closed", start_line);
      const char c = src_[pos_];
      if (!triple && c == '\n') Fail(column, "string is never closed before the end of the line", start_line);
      if (triple ? src_.compare(pos_, 3, std::string(3, quote)) == 0 : c == quote) {
        pos_ += triple ? 3 : 1;
        break;
      }
      if (c == '\\' && pos_ + 1 < src_.size()) {
        const char e = src_[pos_ + 1];
        value += e == 'n' ? '\n' : e == 't' ? '\t' : e;
        if (e == '\n') {
          ++line_;
          line_start_ = pos_ + 2;
        }
        pos_ += 2;
        continue;
      }
      if (c == '\n') {
        ++line_;
        line_start_ = pos_ + 1;
      }
      value += c;
      ++pos_;
    }
    Token t;
    t.kind = TokenKind::kString;
    t.text = std::move(value);
    t.line = start_line;
    t.column = column;
    tokens_.push_back(std::move(t));
    line_has_tokens_ = true;
  }

  void Operator() {
    const int column = Column();
    for (const char* op : kOperators) {
      const std::string s(op);
      if (src_.compare(pos_, s.size(), s) != 0) continue;
      pos_ += s.size();
      if (s == "(" || s == "[" || s == "{") {
        ++depth_;
        Emit(TokenKind::kOp, s, column);
        open_.push_back(tokens_.back());
        return;
      }
      if (s == ")" || s == "]" || s == "}") {
        if (depth_ == 0) Fail(column, "'" + s + "' has no matching opening bracket");
        const std::string want = open_.back().text == "(" ? ")" : open_.back().text == "[" ? "]" : "}";
        if (s != want)
          Fail(column, "'" + s + "' does not match '" + open_.back().text + "' at line " +
                           std::to_string(open_.back().line) + ", column " + std::to_string(open_.back().column));
        --depth_;
        open_.pop_back();
      }
      Emit(TokenKind::kOp, s, column);
      return;
    }
    const unsigned char c = static_cast<unsigned char>(src_[pos_]);
    if (c >= 0x80) Fail(column, "unexpected non-ASCII character outside a string or comment");
    Fail(column, std::string("unexpected character '") + src_[pos_] + "'");
  }

  const std::string& src_;
  const std::string& file_;
  size_t pos_ = 0, line_start_ = 0;
  int line_ = 1;
  int depth_ = 0;
  bool at_line_start_ = true, line_has_tokens_ = false;
  std::vector<int> indents_{0};
  std::vector<Token> open_;
  std::vector<Token> tokens_;
};

}  // namespace

std::string Describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::kName: return "'" + t.text + "'";
    case TokenKind::kNumber: return "number " + t.text;
    case TokenKind::kString: return "a string";
    case TokenKind::kOp: return "'" + t.text + "'";
    case TokenKind::kNewline: return "end of line";
    case TokenKind::kIndent: return "an indented block";
    case TokenKind::kDedent: return "the end of the indented block";
    case TokenKind::kEnd: return "end of file";
  }
  return "?";
}

std::vector<Token> Tokenize(const std::string& source, const std::string& file) {
  return Tokenizer(source, file).Run();
}

}  // namespace moa::spec::internal
