// moa core — the scalar operations that pointwise, outer, inner, reduce and (later) the DNF
// apply to elements. Binary operations carry the identity that an empty reduction yields.
#pragma once

#include <string>

namespace moa {

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kMax, kMin, kLess, kLessEqual, kGreater,
                      kGreaterEqual, kEqual, kNotEqual, kAnd, kOr };
enum class UnaryOp { kNeg, kExp, kLog, kSqrt, kRecip, kAbs, kNot };

double Apply(BinaryOp op, double a, double b);
double Apply(UnaryOp op, double a);

// Identity element of op for reductions; throws moa::Error for ops without one (sub, div, …).
double Identity(BinaryOp op);
bool HasIdentity(BinaryOp op);
bool IsAssociative(BinaryOp op);

std::string Symbol(BinaryOp op);  // "+", "max", "<", …
std::string Name(BinaryOp op);    // "add", "max", "less", …
std::string Name(UnaryOp op);     // "neg", "exp", …

}  // namespace moa
