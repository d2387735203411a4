// Printing scalar DAGs (the DNF body, ONF statements) as text, LaTeX or C-like code. A shared
// subexpression larger than kInlineLimit nodes is printed once, as a named definition
// `t1(i, k) = …` over its free index variables, and by its name wherever it is used: printed as a
// tree, n lines of `q = q + q` would be 2^n terms long. Smaller shared parts (a load, `sqrt(dk)`)
// are repeated inline, which keeps the derivations of real specs as a reader expects them.
#include <algorithm>
#include <map>
#include <sstream>
#include <utility>

#include "dnf/scalar.h"
#include "moa/error.h"

namespace moa::dnf {
namespace {

constexpr size_t kInlineLimit = 32;

// Precedence for parenthesising: higher binds tighter.
int Precedence(const Scalar& s) {
  if (s->kind != SKind::kBinary) return s->kind == SKind::kSelect ? 0 : 10;
  switch (s->binary) {
    case BinaryOp::kAdd: case BinaryOp::kSub: return 4;
    case BinaryOp::kMul: case BinaryOp::kDiv: return 5;
    case BinaryOp::kMax: case BinaryOp::kMin: return 10;  // printed as a call
    case BinaryOp::kAnd: case BinaryOp::kOr: return 1;
    default: return 2;  // comparisons
  }
}

}  // namespace

struct SharedPrinter::Impl {
  Impl(Notation notation, std::set<std::string> taken)
      : latex_(notation == Notation::kLatex), code_(notation == Notation::kCode), taken_(std::move(taken)) {}

  void Add(const Scalar& s) {
    auto [it, fresh] = size_.emplace(s.get(), 1);
    if (!fresh) return;
    size_t size = 1;
    for (const Scalar& a : s->args) {
      Add(a);
      ++uses_[a.get()];
      size = std::min(size + size_.at(a.get()), kSaturated);
    }
    size_[s.get()] = size;
    if (s->kind == SKind::kLoad || s->kind == SKind::kRef) taken_.insert(s->name);
    for (const std::string& sym : s->extent.Symbols()) taken_.insert(sym);
  }

  bool Named(const Scalar& s) const {
    auto u = uses_.find(s.get());
    return u != uses_.end() && u->second > 1 && size_.at(s.get()) > kInlineLimit;
  }

  std::string Print(const Scalar& s) {
    if (!Named(s)) return PrintNode(s);
    auto it = names_.find(s.get());
    if (it != names_.end()) return it->second;
    const std::string text = PrintNode(s);  // definitions it uses come first
    std::string name;
    do {
      name = "t";  // appended, not "t" + …: GCC 12 warns falsely (-Wrestrict) on the sum
      name += std::to_string(++counter_);
    } while (taken_.count(name));
    std::string vars;
    for (const std::string& v : FreeVars(s, &free_vars_)) vars += (vars.empty() ? "" : ", ") + v;
    const std::string lhs = Id(name) + (vars.empty() ? "" : "(" + vars + ")");
    definitions_.push_back({lhs, text});
    names_[s.get()] = lhs;
    return lhs;
  }

  std::string PrintNode(const Scalar& s) {
    switch (s->kind) {
      case SKind::kLoad: return PrintLoad(*s);
      case SKind::kConst: return Number(s->value);
      case SKind::kSize: return Id(s->extent.ToString(latex_ || code_));
      case SKind::kIndex: return Id(s->offset.ToString(latex_ || code_));
      case SKind::kRef: {
        std::string args;
        for (const Affine& a : s->index) args += (args.empty() ? "" : ", ") + a.ToString(latex_ || code_);
        return Id(s->name) + (s->index.empty() ? "" : "(" + args + ")");
      }
      case SKind::kUnary: return PrintUnary(*s);
      case SKind::kBinary: return PrintBinary(s);
      case SKind::kSelect: {
        const std::string c = Print(s->args[0]), a = Print(s->args[1]), b = Print(s->args[2]);
        return latex_ ? "\\left(" + c + "\\;?\\;" + a + " : " + b + "\\right)" : "(" + c + " ? " + a + " : " + b + ")";
      }
      case SKind::kFold: return PrintFold(*s);
    }
    throw InternalError("unknown scalar kind");
  }

  std::string Id(const std::string& name) const {
    if (!latex_) return name;
    std::string out;
    for (char c : name) out += c == '*' ? std::string("\\cdot ") : c == '_' ? std::string("\\_") : std::string(1, c);
    return name.size() > 1 && name.find_first_of(" *") == std::string::npos ? "\\mathit{" + out + "}" : out;
  }

  std::string Number(double v) const {
    std::ostringstream os;
    os << v;
    std::string s = os.str();
    if (s == "inf") return code_ ? "INFINITY" : "\xE2\x88\x9E";
    if (s == "-inf") return code_ ? "-INFINITY" : "-\xE2\x88\x9E";
    return s;
  }

  std::string PrintLoad(const SNode& s) {
    if (s.flat) return Id(s.name) + "[" + s.offset.ToString(latex_ || code_) + "]";
    std::string idx;
    for (size_t j = 0; j < s.index.size(); ++j) {
      if (j) idx += latex_ ? "\\; " : " ";
      const std::string a = s.index[j].ToString(latex_);
      idx += s.index[j].terms().size() + (s.index[j].offset() == Extent(0) ? 0 : 1) > 1 ? "(" + a + ")" : a;
    }
    return latex_ ? "(\\langle " + idx + "\\rangle\\, \\psi\\, " + Id(s.name) + ")"
                  : "(<" + idx + "> \xCF\x88 " + s.name + ")";
  }

  // Each operand is printed once: printing it twice (to test whether it needs parentheses) made a
  // chain of n negations cost 2^n.
  std::string PrintUnary(const SNode& s) {
    switch (s.unary) {
      case UnaryOp::kNeg: return "-" + Wrap(s.args[0], 6);
      case UnaryOp::kNot: return (latex_ ? "\\lnot " : "!") + Wrap(s.args[0], 6);
      case UnaryOp::kRecip: return latex_ ? "\\frac{1}{" + Print(s.args[0]) + "}" : "1/" + Wrap(s.args[0], 6);
      default: break;
    }
    const std::string a = Print(s.args[0]);
    switch (s.unary) {
      case UnaryOp::kSqrt: return latex_ ? "\\sqrt{" + a + "}" : "sqrt(" + a + ")";
      case UnaryOp::kExp: return latex_ ? "e^{" + a + "}" : "exp(" + a + ")";
      default: return (latex_ ? "\\operatorname{" + Name(s.unary) + "}" : Name(s.unary)) + "(" + a + ")";
    }
  }

  std::string Wrap(const Scalar& s, int min_precedence) {
    const std::string t = Print(s);
    if (Named(s) || Precedence(s) >= min_precedence) return t;  // a name is an atom
    return latex_ ? "\\left(" + t + "\\right)" : "(" + t + ")";
  }

  std::string PrintBinary(const Scalar& s) {
    const int p = Precedence(s);
    // Operands in order, one statement each, so that named definitions are numbered left to right.
    if (s->binary == BinaryOp::kMax || s->binary == BinaryOp::kMin || (latex_ && s->binary == BinaryOp::kDiv)) {
      const std::string a = Print(s->args[0]);
      const std::string b = Print(s->args[1]);
      if (s->binary == BinaryOp::kDiv) return "\\frac{" + a + "}{" + b + "}";
      return (latex_ ? "\\" + Name(s->binary) : Name(s->binary)) + "(" + a + ", " + b + ")";
    }
    // Left-associative: the right operand needs parentheses at equal precedence for - and /.
    const bool strict_right = s->binary == BinaryOp::kSub || s->binary == BinaryOp::kDiv;
    std::string op;
    switch (s->binary) {
      case BinaryOp::kMul: op = latex_ ? " \\cdot " : " \xC2\xB7 "; break;
      case BinaryOp::kSub: op = " \xE2\x88\x92 "; break;
      case BinaryOp::kLessEqual: op = latex_ ? " \\le " : " \xE2\x89\xA4 "; break;
      case BinaryOp::kGreaterEqual: op = latex_ ? " \\ge " : " \xE2\x89\xA5 "; break;
      case BinaryOp::kAnd: op = latex_ ? " \\land " : " \xE2\x88\xA7 "; break;
      case BinaryOp::kOr: op = latex_ ? " \\lor " : " \xE2\x88\xA8 "; break;
      default: op = " " + Symbol(s->binary) + " ";
    }
    if ((latex_ || code_) && s->binary == BinaryOp::kSub) op = " - ";
    if (code_ && s->binary == BinaryOp::kMul) op = " * ";
    if (code_ && s->binary == BinaryOp::kLessEqual) op = " <= ";
    if (code_ && s->binary == BinaryOp::kGreaterEqual) op = " >= ";
    if (code_ && s->binary == BinaryOp::kAnd) op = " && ";
    if (code_ && s->binary == BinaryOp::kOr) op = " || ";
    const std::string a = Wrap(s->args[0], p);
    return a + op + Wrap(s->args[1], strict_right ? p + 1 : p);
  }

  std::string PrintFold(const SNode& s) {
    const std::string body = Print(s.args[0]);
    const std::string var = s.name, n = s.extent.ToString(latex_);
    if (latex_) {
      const std::string range = "{" + var + "=0}^{" + n + "-1}";
      switch (s.binary) {
        case BinaryOp::kAdd: return "\\sum_" + range + "\\left(" + body + "\\right)";
        case BinaryOp::kMul: return "\\prod_" + range + "\\left(" + body + "\\right)";
        default: return "\\" + Name(s.binary) + "_" + range + "\\left(" + body + "\\right)";
      }
    }
    std::string op = s.binary == BinaryOp::kAdd ? "\xCE\xA3" : s.binary == BinaryOp::kMul ? "\xCE\xA0" : Name(s.binary);
    return op + "_{" + var + " < " + n + "} (" + body + ")";
  }

  static constexpr size_t kSaturated = size_t{1} << 40;
  bool latex_, code_;
  std::set<std::string> taken_;
  std::map<const SNode*, size_t> size_, uses_;  // size as a tree (saturating); uses by other nodes
  std::map<const SNode*, std::string> names_;
  FreeVarsMemo free_vars_;
  int counter_ = 0;
  std::vector<std::pair<std::string, std::string>> definitions_;
};

SharedPrinter::SharedPrinter(Notation notation, std::set<std::string> taken)
    : impl_(std::make_unique<Impl>(notation, std::move(taken))) {}
SharedPrinter::~SharedPrinter() = default;
void SharedPrinter::Add(const Scalar& root) { impl_->Add(root); }
std::string SharedPrinter::Print(const Scalar& root) { return impl_->Print(root); }
std::vector<std::pair<std::string, std::string>> SharedPrinter::TakeDefinitions() {
  return std::exchange(impl_->definitions_, {});
}

std::string ToString(const Scalar& s, Notation notation) {
  SharedPrinter p(notation);
  p.Add(s);
  std::string text = p.Print(s);
  const auto definitions = p.TakeDefinitions();
  for (size_t k = 0; k < definitions.size(); ++k)
    text += (k ? "; " : notation == Notation::kLatex ? "\\quad\\text{where } " : "  where ") +
            definitions[k].first + " = " + definitions[k].second;
  return text;
}

}  // namespace moa::dnf
