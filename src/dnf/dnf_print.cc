#include <sstream>

#include "dnf/dnf.h"

namespace moa::dnf {

std::string ToString(const Dnf& dnf, Notation notation) {
  const bool latex = notation == Notation::kLatex;
  std::ostringstream os;
  if (latex) os << "\\begin{align*}\n";
  for (const Output& out : dnf.outputs) {
    for (const Let& let : out.lets) {
      std::vector<Affine> level;
      for (size_t a = 0; a < let.level; ++a) level.push_back(Affine::Var(out.vars[a]));
      const std::string lhs = ToString(Ref(let.name, level), notation);
      os << (latex ? lhs + " &= " : lhs + " = ") << ToString(let.value, notation)
         << (latex ? " \\\\\n" : "\n");
    }
    std::string idx;
    for (size_t a = 0; a < out.vars.size(); ++a) idx += (a ? (latex ? "\\; " : " ") : "") + out.vars[a];
    if (latex) {
      os << "\\langle " << idx << "\\rangle\\, \\psi\\, \\mathit{" << out.name << "} &= "
         << ToString(out.body, notation) << " \\\\\n";
    } else {
      os << "<" << idx << "> \xCF\x88 " << out.name << " = " << ToString(out.body, notation) << "\n";
    }
  }
  if (latex) os << "\\end{align*}\n";
  return os.str();
}

}  // namespace moa::dnf
