#include "moa/scalar_op.h"

#include <cmath>
#include <limits>

#include "moa/error.h"

namespace moa {

double Apply(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::kAdd: return a + b;
    case BinaryOp::kSub: return a - b;
    case BinaryOp::kMul: return a * b;
    case BinaryOp::kDiv: return a / b;
    case BinaryOp::kMax: return std::fmax(a, b);
    case BinaryOp::kMin: return std::fmin(a, b);
    case BinaryOp::kLess: return a < b;
    case BinaryOp::kLessEqual: return a <= b;
    case BinaryOp::kGreater: return a > b;
    case BinaryOp::kGreaterEqual: return a >= b;
    case BinaryOp::kEqual: return a == b;
    case BinaryOp::kNotEqual: return a != b;
    case BinaryOp::kAnd: return (a != 0) && (b != 0);
    case BinaryOp::kOr: return (a != 0) || (b != 0);
  }
  throw InternalError("unknown BinaryOp");
}

double Apply(UnaryOp op, double a) {
  switch (op) {
    case UnaryOp::kNeg: return -a;
    case UnaryOp::kExp: return std::exp(a);
    case UnaryOp::kLog: return std::log(a);
    case UnaryOp::kSqrt: return std::sqrt(a);
    case UnaryOp::kRecip: return 1.0 / a;
    case UnaryOp::kAbs: return std::fabs(a);
    case UnaryOp::kNot: return a == 0;
  }
  throw InternalError("unknown UnaryOp");
}

bool HasIdentity(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd: case BinaryOp::kMul: case BinaryOp::kMax: case BinaryOp::kMin:
    case BinaryOp::kAnd: case BinaryOp::kOr:
      return true;
    default:
      return false;
  }
}

bool IsAssociative(BinaryOp op) { return HasIdentity(op); }

double Identity(BinaryOp op) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  switch (op) {
    case BinaryOp::kAdd: return 0.0;
    case BinaryOp::kMul: return 1.0;
    case BinaryOp::kMax: return -kInf;
    case BinaryOp::kMin: return kInf;
    case BinaryOp::kAnd: return 1.0;
    case BinaryOp::kOr: return 0.0;
    default:
      throw Error("reduction with '" + Name(op) +
                  "' has no identity element, so an empty axis has no defined result; "
                  "use add, mul, max, min, and or or");
  }
}

std::string Symbol(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd: return "+";
    case BinaryOp::kSub: return "-";
    case BinaryOp::kMul: return "*";
    case BinaryOp::kDiv: return "/";
    case BinaryOp::kMax: return "max";
    case BinaryOp::kMin: return "min";
    case BinaryOp::kLess: return "<";
    case BinaryOp::kLessEqual: return "<=";
    case BinaryOp::kGreater: return ">";
    case BinaryOp::kGreaterEqual: return ">=";
    case BinaryOp::kEqual: return "==";
    case BinaryOp::kNotEqual: return "!=";
    case BinaryOp::kAnd: return "&";
    case BinaryOp::kOr: return "|";
  }
  throw InternalError("unknown BinaryOp");
}

std::string Name(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd: return "add";
    case BinaryOp::kSub: return "sub";
    case BinaryOp::kMul: return "mul";
    case BinaryOp::kDiv: return "div";
    case BinaryOp::kMax: return "max";
    case BinaryOp::kMin: return "min";
    case BinaryOp::kLess: return "less";
    case BinaryOp::kLessEqual: return "less_equal";
    case BinaryOp::kGreater: return "greater";
    case BinaryOp::kGreaterEqual: return "greater_equal";
    case BinaryOp::kEqual: return "equal";
    case BinaryOp::kNotEqual: return "not_equal";
    case BinaryOp::kAnd: return "and";
    case BinaryOp::kOr: return "or";
  }
  throw InternalError("unknown BinaryOp");
}

std::string Name(UnaryOp op) {
  switch (op) {
    case UnaryOp::kNeg: return "neg";
    case UnaryOp::kExp: return "exp";
    case UnaryOp::kLog: return "log";
    case UnaryOp::kSqrt: return "sqrt";
    case UnaryOp::kRecip: return "recip";
    case UnaryOp::kAbs: return "abs";
    case UnaryOp::kNot: return "not";
  }
  throw InternalError("unknown UnaryOp");
}

}  // namespace moa
