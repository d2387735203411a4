#include <sstream>

#include "onf/onf.h"

namespace moa::onf {
namespace {

std::string Code(const dnf::Scalar& s) { return dnf::ToString(s, dnf::Notation::kCode); }

void Print(const std::vector<Stmt>& body, int depth, std::ostringstream& os) {
  const std::string pad(static_cast<size_t>(2 * depth), ' ');
  for (const Stmt& s : body) {
    switch (s.kind) {
      case StmtKind::kLoop: {
        std::string bound = s.extent.ToString(true);
        if (s.divisor != 1) bound = "ceil(" + bound + " / " + std::to_string(s.divisor) + ")";
        os << pad << "for (" << s.name << " = 0; " << s.name << " < " << bound << "; ++" << s.name << ") {\n";
        Print(s.body, depth + 1, os);
        os << pad << "}\n";
        break;
      }
      case StmtKind::kGuard:
        os << pad << "if (" << Code(s.value) << ") {\n";
        Print(s.body, depth + 1, os);
        os << pad << "}\n";
        break;
      case StmtKind::kLet:
        os << pad << "double " << s.name << " = " << Code(s.value) << ";\n";
        break;
      case StmtKind::kAccum:
        if (s.op == BinaryOp::kAdd || s.op == BinaryOp::kMul) {
          os << pad << s.name << " " << Symbol(s.op) << "= " << Code(s.value) << ";\n";
        } else {
          os << pad << s.name << " = " << Name(s.op) << "(" << s.name << ", " << Code(s.value) << ");\n";
        }
        break;
      case StmtKind::kStore:
        os << pad << s.name << "[" << s.offset.ToString(true) << "] = " << Code(s.value) << ";\n";
        break;
    }
  }
}

}  // namespace

std::string ToString(const Onf& onf) {
  std::ostringstream os;
  for (const Buffer& b : onf.buffers) {
    const char* role = b.role == Role::kInput ? "input " : b.role == Role::kOutput ? "output" : "tile  ";
    os << "// " << role << " " << b.name << "["
       << Size(b.shape).ToString(true) << "]  shape " << moa::ToString(b.shape, true) << ", "
       << ToString(b.layout) << "\n";
  }
  Print(onf.body, 0, os);
  return os.str();
}

}  // namespace moa::onf
