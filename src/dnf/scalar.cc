#include "dnf/scalar.h"

#include <functional>
#include <sstream>

#include "moa/error.h"

namespace moa::dnf {
namespace {
Scalar Make(SNode n) { return std::make_shared<const SNode>(std::move(n)); }
SNode Of(SKind kind) {
  SNode n;
  n.kind = kind;
  return n;
}
}  // namespace

Scalar Load(const std::string& input, std::vector<Affine> index) {
  SNode n = Of(SKind::kLoad);
  n.name = input;
  n.index = std::move(index);
  return Make(std::move(n));
}

Scalar FlatLoad(const std::string& buffer, Affine offset) {
  SNode n = Of(SKind::kLoad);
  n.name = buffer;
  n.offset = std::move(offset);
  n.flat = true;
  return Make(std::move(n));
}

Scalar Const(double value) {
  SNode n = Of(SKind::kConst);
  n.value = value;
  return Make(std::move(n));
}

Scalar SizeValue(Extent extent) {
  SNode n = Of(SKind::kSize);
  n.extent = std::move(extent);
  return Make(std::move(n));
}

Scalar IndexValue(Affine index) {
  SNode n = Of(SKind::kIndex);
  n.offset = std::move(index);
  return Make(std::move(n));
}

Scalar Unary(UnaryOp op, Scalar a) {
  SNode n = Of(SKind::kUnary);
  n.unary = op;
  n.args = {std::move(a)};
  return Make(std::move(n));
}

Scalar Binary(BinaryOp op, Scalar a, Scalar b) {
  SNode n = Of(SKind::kBinary);
  n.binary = op;
  n.args = {std::move(a), std::move(b)};
  return Make(std::move(n));
}

Scalar Select(Scalar cond, Scalar a, Scalar b) {
  SNode n = Of(SKind::kSelect);
  n.args = {std::move(cond), std::move(a), std::move(b)};
  return Make(std::move(n));
}

Scalar Fold(BinaryOp op, const std::string& var, Extent extent, Scalar body) {
  SNode n = Of(SKind::kFold);
  n.binary = op;
  n.name = var;
  n.extent = std::move(extent);
  n.args = {std::move(body)};
  return Make(std::move(n));
}

Scalar Ref(const std::string& name, std::vector<Affine> level) {
  SNode n = Of(SKind::kRef);
  n.name = name;
  n.index = std::move(level);
  return Make(std::move(n));
}

std::set<std::string> FreeVars(const Scalar& s) {
  std::set<std::string> vars;
  std::function<void(const Scalar&)> walk = [&](const Scalar& x) {
    switch (x->kind) {
      case SKind::kLoad:
        for (const Affine& a : x->index)
          for (const auto& [v, c] : a.terms()) vars.insert(v);
        for (const auto& [v, c] : x->offset.terms()) vars.insert(v);
        return;
      case SKind::kIndex:
        for (const auto& [v, c] : x->offset.terms()) vars.insert(v);
        return;
      case SKind::kRef:  // a hoisted scalar depends on the variables of its level
        for (const Affine& a : x->index)
          for (const auto& [v, c] : a.terms()) vars.insert(v);
        return;
      case SKind::kFold: {
        std::set<std::string> inner = FreeVars(x->args[0]);
        inner.erase(x->name);
        vars.insert(inner.begin(), inner.end());
        return;
      }
      default:
        for (const Scalar& a : x->args) walk(a);
    }
  };
  walk(s);
  return vars;
}

Scalar Substitute(const Scalar& s, const std::string& var, const Affine& value) {
  if (s->kind == SKind::kFold && s->name == var) return s;  // bound here: not free below
  SNode copy = *s;
  for (Affine& a : copy.index) a = a.Substitute(var, value);
  copy.offset = copy.offset.Substitute(var, value);
  for (Scalar& a : copy.args) a = Substitute(a, var, value);
  return std::make_shared<const SNode>(std::move(copy));
}

Scalar RewriteBottomUp(const Scalar& s, const std::function<Scalar(Scalar)>& rule, RewriteMemo* memo) {
  auto it = memo->find(s.get());
  if (it != memo->end()) return it->second;
  SNode copy = *s;
  for (Scalar& a : copy.args) a = RewriteBottomUp(a, rule, memo);
  Scalar result = rule(std::make_shared<const SNode>(std::move(copy)));
  (*memo)[s.get()] = result;
  return result;
}

std::set<std::string> LoadedInputs(const Scalar& s) {
  std::set<std::string> names;
  std::function<void(const Scalar&)> walk = [&](const Scalar& x) {
    if (x->kind == SKind::kLoad) names.insert(x->name);
    for (const Scalar& a : x->args) walk(a);
  };
  walk(s);
  return names;
}

namespace {

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

class Printer {
 public:
  explicit Printer(Notation notation)
      : latex_(notation == Notation::kLatex), code_(notation == Notation::kCode) {}

  std::string Print(const Scalar& s) {
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
      case SKind::kSelect:
        return latex_ ? "\\left(" + Print(s->args[0]) + "\\;?\\;" + Print(s->args[1]) + " : " +
                            Print(s->args[2]) + "\\right)"
                      : "(" + Print(s->args[0]) + " ? " + Print(s->args[1]) + " : " +
                            Print(s->args[2]) + ")";
      case SKind::kFold: return PrintFold(*s);
    }
    throw InternalError("unknown scalar kind");
  }

 private:
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

  std::string PrintUnary(const SNode& s) {
    const std::string a = Print(s.args[0]);
    switch (s.unary) {
      case UnaryOp::kNeg: return "-" + Wrap(s.args[0], 6);
      case UnaryOp::kNot: return latex_ ? "\\lnot " + Wrap(s.args[0], 6) : "!" + Wrap(s.args[0], 6);
      case UnaryOp::kSqrt: return latex_ ? "\\sqrt{" + a + "}" : "sqrt(" + a + ")";
      case UnaryOp::kExp: return latex_ ? "e^{" + a + "}" : "exp(" + a + ")";
      case UnaryOp::kRecip: return latex_ ? "\\frac{1}{" + a + "}" : "1/" + Wrap(s.args[0], 6);
      default: return (latex_ ? "\\operatorname{" + Name(s.unary) + "}" : Name(s.unary)) + "(" + a + ")";
    }
  }

  std::string Wrap(const Scalar& s, int min_precedence) {
    const std::string t = Print(s);
    if (Precedence(s) >= min_precedence) return t;
    return latex_ ? "\\left(" + t + "\\right)" : "(" + t + ")";
  }

  std::string PrintBinary(const Scalar& s) {
    const int p = Precedence(s);
    if (s->binary == BinaryOp::kMax || s->binary == BinaryOp::kMin)
      return (latex_ ? "\\" + Name(s->binary) : Name(s->binary)) + "(" + Print(s->args[0]) + ", " +
             Print(s->args[1]) + ")";
    if (latex_ && s->binary == BinaryOp::kDiv)
      return "\\frac{" + Print(s->args[0]) + "}{" + Print(s->args[1]) + "}";
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
    return Wrap(s->args[0], p) + op + Wrap(s->args[1], strict_right ? p + 1 : p);
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

  bool latex_, code_;
};

}  // namespace

std::string ToString(const Scalar& s, Notation notation) { return Printer(notation).Print(s); }

}  // namespace moa::dnf
