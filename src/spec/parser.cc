#include "spec/parser.h"

#include <algorithm>
#include <optional>
#include <set>

#include "spec/spec.h"

namespace moa::spec::internal {
namespace {

const std::set<std::string> kKeywords = {
    "and",   "as",   "assert", "async",  "await",    "break", "class", "continue", "def",
    "del",   "elif", "else",   "except", "finally",  "for",   "from",  "global",   "if",
    "import", "in",  "is",     "lambda", "nonlocal", "not",   "or",    "pass",     "raise",
    "return", "try", "while",  "with",   "yield",    "match"};
// Operators Python has and the subset does not; named in their error.
const std::set<std::string> kRejectedOps = {"//", "%", "<<", ">>", "^", ":="};
const std::set<std::string> kAugmented = {"+=", "-=", "*=", "/=", "@=", "%=", "**=", "//=",
                                          "&=", "|=", "^=", ">>=", "<<="};
const std::set<std::string> kComparisons = {"<", "<=", ">", ">=", "==", "!="};

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const std::string& file) : t_(tokens), file_(file) {}

  Module Run() {
    Module m;
    bool have_def = false;
    while (Peek().kind != TokenKind::kEnd) {
      const Token& t = Peek();
      if (t.kind == TokenKind::kNewline) {
        ++i_;
      } else if (t.kind == TokenKind::kIndent) {
        Fail(t, "unexpected indentation");
      } else if (IsName("import")) {
        ParseImport(m);
      } else if (IsName("from")) {
        ParseFrom(m);
      } else if (IsName("def")) {
        if (have_def)
          Fail(t, "a spec holds exactly one 'def'; this is a second one (after '" + m.function.name + "')");
        m.function = ParseDef();
        have_def = true;
      } else if (t.kind == TokenKind::kString) {
        ParseStringStatement();  // the module's docstring
      } else if (IsOp("@")) {
        Fail(t, "unsupported decorator");
      } else if (t.kind == TokenKind::kName && kKeywords.count(t.text)) {
        Fail(t, "unsupported statement '" + t.text + "'");
      } else {
        Fail(t, "unsupported statement at module level: a spec holds imports and one 'def'");
      }
    }
    if (!have_def) Fail(Peek(), "the spec has no 'def': write the computation as one function");
    return m;
  }

 private:
  [[noreturn]] void Fail(const Token& t, const std::string& message) const {
    throw SpecError(file_, t.line, t.column, message);
  }
  [[noreturn]] void Fail(expr::SourceLoc loc, const std::string& message) const {
    throw SpecError(file_, loc.line, loc.column, message);
  }
  static expr::SourceLoc Loc(const Token& t) { return {t.line, t.column}; }

  const Token& Peek(size_t ahead = 0) const { return t_[std::min(i_ + ahead, t_.size() - 1)]; }
  const Token& Next() {
    const Token& t = Peek();
    if (i_ < t_.size() - 1) ++i_;
    return t;
  }
  bool IsOp(const std::string& op, size_t ahead = 0) const {
    return Peek(ahead).kind == TokenKind::kOp && Peek(ahead).text == op;
  }
  bool IsName(const std::string& name) const {
    return Peek().kind == TokenKind::kName && Peek().text == name;
  }
  const Token& ExpectOp(const std::string& op, const std::string& where) {
    if (!IsOp(op)) Fail(Peek(), "expected '" + op + "' " + where + ", found " + Describe(Peek()));
    return Next();
  }
  const Token& ExpectName(const std::string& where) {
    const Token& t = Peek();
    if (t.kind != TokenKind::kName || kKeywords.count(t.text))
      Fail(t, "expected a name " + where + ", found " + Describe(t));
    return Next();
  }
  void ExpectEndOfStatement() {
    const Token& t = Peek();
    if (t.kind == TokenKind::kNewline || t.kind == TokenKind::kEnd) {
      Next();
      return;
    }
    if (IsOp(";")) Fail(t, "unsupported ';': write one statement per line");
    if (kAugmented.count(t.text) && t.kind == TokenKind::kOp)
      Fail(t, "unsupported augmented assignment '" + t.text + "'");
    Fail(t, "expected the end of the statement, found " + Describe(t));
  }

  std::string DottedName(const std::string& where) {
    std::string name = ExpectName(where).text;
    while (IsOp(".")) {
      Next();
      name += "." + ExpectName(where).text;
    }
    return name;
  }

  // import a.b [as c], …  — without `as`, Python binds the top-level package.
  void ParseImport(Module& m) {
    Next();
    do {
      const Token& at = Peek();
      const std::string target = DottedName("after 'import'");
      if (IsName("as")) {
        Next();
        m.imports.push_back({ExpectName("after 'as'").text, target, Loc(at)});
      } else {
        const std::string top = target.substr(0, target.find('.'));
        m.imports.push_back({top, top, Loc(at)});
      }
    } while (IsOp(",") && Next().kind == TokenKind::kOp);
    ExpectEndOfStatement();
  }

  // from a.b import c [as d], …
  void ParseFrom(Module& m) {
    Next();
    if (IsOp(".") || IsOp("...")) Fail(Peek(), "unsupported relative import");
    const std::string module = DottedName("after 'from'");
    if (!IsName("import")) Fail(Peek(), "expected 'import' after 'from " + module + "', found " + Describe(Peek()));
    Next();
    const bool parens = IsOp("(");
    if (parens) Next();
    if (IsOp("*")) Fail(Peek(), "unsupported 'from " + module + " import *': import the names you use");
    while (true) {
      const Token& at = Peek();
      const std::string name = ExpectName("after 'import'").text;
      std::string alias = name;
      if (IsName("as")) {
        Next();
        alias = ExpectName("after 'as'").text;
      }
      m.imports.push_back({alias, module + "." + name, Loc(at)});
      if (!IsOp(",")) break;
      Next();
      if (parens && IsOp(")")) break;
    }
    if (parens) ExpectOp(")", "to close the import list");
    ExpectEndOfStatement();
  }

  void ParseStringStatement() {
    AstPtr e = ParseExpr();
    if (e->kind != AstKind::kString) Fail(e->loc, "unsupported statement at module level: a spec holds imports and one 'def'");
    ExpectEndOfStatement();
  }

  Function ParseDef() {
    Next();
    Function f;
    const Token& name = ExpectName("after 'def'");
    f.name = name.text;
    f.loc = Loc(name);
    ExpectOp("(", "after the function name");
    while (!IsOp(")")) {
      if (IsOp("*") || IsOp("**")) Fail(Peek(), "unsupported '" + Peek().text + "' argument: list every tensor argument by name");
      if (IsOp("/")) Fail(Peek(), "unsupported positional-only marker '/'");
      const Token& a = ExpectName("for an argument");
      Argument arg{a.text, Loc(a), nullptr};
      for (const Argument& other : f.args)
        if (other.name == arg.name) Fail(a, "duplicate argument '" + arg.name + "'");
      if (IsOp(":")) {
        Next();
        arg.annotation = ParseExpr();
      }
      if (IsOp("=")) Fail(Peek(), "unsupported default value for argument '" + arg.name + "'");
      f.args.push_back(std::move(arg));
      if (!IsOp(",")) break;
      Next();
    }
    ExpectOp(")", "to close the argument list");
    if (IsOp("->")) {
      Next();
      f.returns = ParseExpr();
    }
    ExpectOp(":", "to begin the body of '" + f.name + "'");
    if (Peek().kind != TokenKind::kNewline) Fail(Peek(), "the body of '" + f.name + "' must be an indented block on the following lines");
    Next();
    if (Peek().kind != TokenKind::kIndent) Fail(Peek(), "expected an indented block for the body of '" + f.name + "'");
    Next();
    bool returned = false;
    while (Peek().kind != TokenKind::kDedent && Peek().kind != TokenKind::kEnd) {
      if (Peek().kind == TokenKind::kNewline) {
        Next();
        continue;
      }
      const Token& start = Peek();
      std::optional<Stmt> s = ParseStatement();
      if (!s) continue;  // a docstring or other string statement
      if (returned) Fail(start, "statement after 'return' is never executed");
      returned = s->kind == StmtKind::kReturn;
      f.body.push_back(std::move(*s));
    }
    if (Peek().kind == TokenKind::kDedent) Next();
    if (!returned) Fail(f.loc, "'" + f.name + "' has no 'return': a spec returns its result");
    return f;
  }

  std::optional<Stmt> ParseStatement() {
    const Token& t = Peek();
    if (t.kind == TokenKind::kIndent) Fail(t, "unexpected indentation");
    if (IsOp("@")) Fail(t, "unsupported decorator");
    if (IsName("return")) {
      Next();
      if (Peek().kind == TokenKind::kNewline || Peek().kind == TokenKind::kEnd)
        Fail(t, "'return' needs a value");
      Stmt s{StmtKind::kReturn, Loc(t), {}, ParseExprList()};
      ExpectEndOfStatement();
      return s;
    }
    if (t.kind == TokenKind::kName && kKeywords.count(t.text) && t.text != "lambda" && t.text != "not" &&
        t.text != "await")
      Fail(t, "unsupported statement '" + t.text + "'");
    AstPtr lhs = ParseExprList();
    if (IsOp("=")) {
      const Token& eq = Next();
      Stmt s{StmtKind::kAssign, Loc(eq), Targets(lhs), ParseExprList()};
      if (IsOp("=")) Fail(Peek(), "unsupported chained assignment: assign one value per line");
      ExpectEndOfStatement();
      return s;
    }
    if (IsOp(":")) Fail(Peek(), "unsupported annotated assignment: annotate the function's arguments instead");
    if (Peek().kind == TokenKind::kOp && kAugmented.count(Peek().text))
      Fail(Peek(), "unsupported augmented assignment '" + Peek().text + "'");
    if (lhs->kind == AstKind::kString) {
      ExpectEndOfStatement();
      return std::nullopt;
    }
    Fail(t, "expression statement has no effect: assign its value to a name or return it");
  }

  std::vector<Target> Targets(const AstPtr& lhs) const {
    std::vector<Target> targets;
    auto one = [&](const AstPtr& e) {
      if (e->kind != AstKind::kName)
        Fail(e->loc, "unsupported assignment target: only plain names can be assigned");
      if (e->text == "True" || e->text == "False" || e->text == "None")
        Fail(e->loc, "cannot assign to '" + e->text + "'");
      targets.push_back({e->text, e->loc});
    };
    if (lhs->kind == AstKind::kTuple) {
      for (const AstPtr& e : lhs->children) one(e);
    } else {
      one(lhs);
    }
    return targets;
  }

  // The lowering and every later pass recurse along the tree, so a tree deeper than the limit is
  // refused where it is built: a chain of `.abs()` or of `[0]` is built by a loop, not recursion.
  void SetDepth(Ast& a) const {
    a.depth = 0;
    for (const AstPtr& c : a.children)
      if (c) a.depth = std::max(a.depth, c->depth + 1);
    for (const Keyword& k : a.keywords) a.depth = std::max(a.depth, k.value->depth + 1);
    if (a.depth > expr::kMaxDepth) Fail(a.loc, "expression nested deeper than " + std::to_string(expr::kMaxDepth));
  }

  // Counts the parser's own recursion (parentheses, arguments, unary operators, `**`), which nests
  // even where the tree does not, e.g. `((((q))))`: each level is about a dozen frames. The
  // statement's own expression is level 0 (nesting_ starts at -1).
  class Nesting {
   public:
    Nesting(Parser& p, const Token& at) : p_(p) {
      if (++p_.nesting_ > expr::kMaxDepth)
        p_.Fail(at, "expression nested deeper than " + std::to_string(expr::kMaxDepth));
    }
    ~Nesting() { --p_.nesting_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    Parser& p_;
  };

  AstPtr Make(AstKind kind, expr::SourceLoc loc, std::vector<AstPtr> children = {}, std::string text = "") const {
    auto a = std::make_shared<Ast>();
    a->kind = kind;
    a->loc = loc;
    a->children = std::move(children);
    a->text = std::move(text);
    const bool led_by_operand = kind == AstKind::kBinary || kind == AstKind::kAttribute || kind == AstKind::kSubscript;
    a->start = led_by_operand && !a->children.empty() ? a->children[0]->start : loc;
    SetDepth(*a);
    return a;
  }

  // a, b, …  (a tuple when there is a comma)
  AstPtr ParseExprList() {
    AstPtr first = ParseExpr();
    if (!IsOp(",")) return first;
    std::vector<AstPtr> items{first};
    while (IsOp(",")) {
      Next();
      if (Peek().kind == TokenKind::kNewline || IsOp("=") || IsOp(")") || Peek().kind == TokenKind::kEnd) break;
      items.push_back(ParseExpr());
    }
    return Make(AstKind::kTuple, first->loc, std::move(items));
  }

  AstPtr ParseExpr() {
    const Nesting nesting(*this, Peek());
    if (IsName("lambda")) Fail(Peek(), "unsupported 'lambda'");
    AstPtr e = ParseComparison();
    if (IsName("if")) Fail(Peek(), "unsupported conditional expression 'if … else'");
    if (IsName("and") || IsName("or"))
      Fail(Peek(), "unsupported operator '" + Peek().text + "': use '" + (Peek().text == "and" ? "&" : "|") +
                       "' on bool tensors");
    if (IsName("for")) Fail(Peek(), "unsupported comprehension");
    return e;
  }

  AstPtr ParseComparison() {
    AstPtr lhs = ParseBinary(0);
    if (IsName("in") || IsName("is") || (IsName("not") && Peek(1).text == "in"))
      Fail(Peek(), "unsupported operator '" + Peek().text + "'");
    if (Peek().kind != TokenKind::kOp || !kComparisons.count(Peek().text)) return lhs;
    const Token& op = Next();
    AstPtr e = Make(AstKind::kBinary, Loc(op), {lhs, ParseBinary(0)}, op.text);
    if (Peek().kind == TokenKind::kOp && kComparisons.count(Peek().text))
      Fail(Peek(), "unsupported chained comparison: combine two comparisons with '&'");
    return e;
  }

  // Binary levels from loosest to tightest: | ^ & (<< >>) (+ -) (* / @ // %).
  AstPtr ParseBinary(int level) {
    static const std::vector<std::vector<std::string>> kLevels = {
        {"|"}, {"^"}, {"&"}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "@", "//", "%"}};
    if (level == static_cast<int>(kLevels.size())) return ParseUnary();
    AstPtr lhs = ParseBinary(level + 1);
    while (Peek().kind == TokenKind::kOp) {
      const std::vector<std::string>& ops = kLevels[static_cast<size_t>(level)];
      if (std::find(ops.begin(), ops.end(), Peek().text) == ops.end()) break;
      const Token& op = Next();
      if (kRejectedOps.count(op.text)) Fail(op, "unsupported operator '" + op.text + "'");
      lhs = Make(AstKind::kBinary, Loc(op), {lhs, ParseBinary(level + 1)}, op.text);
    }
    return lhs;
  }

  AstPtr ParseUnary() {
    if (IsOp("-") || IsOp("+") || IsOp("~")) {
      const Nesting nesting(*this, Peek());
      const Token& op = Next();
      return Make(AstKind::kUnary, Loc(op), {ParseUnary()}, op.text);
    }
    if (IsName("not")) Fail(Peek(), "unsupported operator 'not': use '~' on bool tensors");
    if (IsName("await")) Fail(Peek(), "unsupported 'await'");
    AstPtr base = ParsePrimary();
    if (IsOp("**")) {
      const Nesting nesting(*this, Peek());
      const Token& op = Next();
      return Make(AstKind::kBinary, Loc(op), {base, ParseUnary()}, "**");
    }
    return base;
  }

  AstPtr ParsePrimary() {
    AstPtr e = ParseAtom();
    while (true) {
      if (IsOp(".")) {
        Next();
        const Token& name = ExpectName("after '.'");
        e = Make(AstKind::kAttribute, Loc(name), {e}, name.text);
      } else if (IsOp("(")) {
        e = ParseCall(e);
      } else if (IsOp("[")) {
        const Token& open = Next();
        AstPtr index = ParseSubscript();
        ExpectOp("]", "to close the subscript");
        e = Make(AstKind::kSubscript, Loc(open), {e, index});
      } else {
        return e;
      }
    }
  }

  AstPtr ParseCall(AstPtr callee) {
    const Token& open = Next();
    auto call = std::make_shared<Ast>();
    call->kind = AstKind::kCall;
    // Errors about a call point at the function's name, where a reader looks first.
    call->loc = callee->kind == AstKind::kName || callee->kind == AstKind::kAttribute ? callee->loc : Loc(open);
    call->start = callee->start;
    call->children.push_back(callee);
    while (!IsOp(")")) {
      if (IsOp("*") || IsOp("**")) Fail(Peek(), "unsupported argument unpacking '" + Peek().text + "'");
      if (Peek().kind == TokenKind::kName && IsOp("=", 1)) {
        const Token& name = Next();
        Next();
        for (const Keyword& k : call->keywords)
          if (k.name == name.text) Fail(name, "keyword argument '" + name.text + "' repeated");
        call->keywords.push_back({name.text, Loc(name), ParseExpr()});
      } else {
        AstPtr arg = ParseExpr();
        if (!call->keywords.empty()) Fail(arg->loc, "positional argument follows keyword argument");
        call->children.push_back(arg);
      }
      if (!IsOp(",")) break;
      Next();
    }
    ExpectOp(")", "to close the call");
    SetDepth(*call);
    return call;
  }

  AstPtr ParseSubscript() {
    std::vector<AstPtr> items;
    const expr::SourceLoc loc = Loc(Peek());
    bool comma = false;
    while (true) {
      items.push_back(ParseSliceItem());
      if (!IsOp(",")) break;
      comma = true;
      Next();
      if (IsOp("]")) break;
    }
    if (!comma) return items[0];
    return Make(AstKind::kTuple, loc, std::move(items));
  }

  AstPtr ParseSliceItem() {
    const Token& start = Peek();
    AstPtr lower;
    if (!IsOp(":")) {
      lower = ParseExpr();
      if (!IsOp(":")) return lower;
    }
    const Token& colon = Next();
    std::vector<AstPtr> parts{lower, nullptr, nullptr};
    if (!IsOp(":") && !IsOp("]") && !IsOp(",")) parts[1] = ParseExpr();
    if (IsOp(":")) {
      Next();
      if (!IsOp("]") && !IsOp(",")) parts[2] = ParseExpr();
    }
    return Make(AstKind::kSlice, lower ? Loc(start) : Loc(colon), std::move(parts));
  }

  AstPtr ParseAtom() {
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kName: {
        if (kKeywords.count(t.text)) Fail(t, "unexpected '" + t.text + "' in an expression");
        Next();
        return Make(AstKind::kName, Loc(t), {}, t.text);
      }
      case TokenKind::kNumber: {
        Next();
        auto a = std::make_shared<Ast>();
        a->kind = AstKind::kNumber;
        a->loc = a->start = Loc(t);
        a->text = t.text;
        a->number = t.number;
        a->is_int = t.is_int;
        return a;
      }
      case TokenKind::kString: {
        Next();
        std::string text = t.text;
        while (Peek().kind == TokenKind::kString) text += Next().text;  // implicit concatenation
        return Make(AstKind::kString, Loc(t), {}, text);
      }
      case TokenKind::kOp:
        break;
      default:
        Fail(t, "expected an expression, found " + Describe(t));
    }
    if (t.text == "(") {
      Next();
      if (IsOp(")")) {
        Next();
        return Make(AstKind::kTuple, Loc(t));
      }
      AstPtr first = ParseExpr();
      if (IsOp(")")) {
        Next();
        return first;
      }
      std::vector<AstPtr> items{first};
      while (IsOp(",")) {
        Next();
        if (IsOp(")")) break;
        items.push_back(ParseExpr());
      }
      ExpectOp(")", "to close the parenthesis");
      return Make(AstKind::kTuple, Loc(t), std::move(items));
    }
    if (t.text == "[") {
      Next();
      std::vector<AstPtr> items;
      while (!IsOp("]")) {
        items.push_back(ParseExpr());
        if (!IsOp(",")) break;
        Next();
      }
      ExpectOp("]", "to close the list");
      return Make(AstKind::kList, Loc(t), std::move(items));
    }
    if (t.text == "{") Fail(t, "unsupported dict or set display");
    if (t.text == "...") Fail(t, "unsupported Ellipsis '...'");
    Fail(t, "expected an expression, found " + Describe(t));
  }

  const std::vector<Token>& t_;
  const std::string& file_;
  size_t i_ = 0;
  int nesting_ = -1;
};

}  // namespace

Module ParseModule(const std::vector<Token>& tokens, const std::string& file) {
  return Parser(tokens, file).Run();
}

}  // namespace moa::spec::internal
