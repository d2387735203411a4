#include <sstream>

#include "dnf/dnf.h"

namespace moa::dnf {

std::string ToString(const Dnf& dnf, Notation notation) {
  const bool latex = notation == Notation::kLatex;
  std::ostringstream os;
  if (latex) os << "\\begin{align*}\n";
  auto line = [&](const std::string& lhs, const std::string& rhs) {
    os << lhs << (latex ? " &= " : " = ") << rhs << (latex ? " \\\\\n" : "\n");
  };
  for (const Output& out : dnf.outputs) {
    // One printer per output: a subexpression its lets and body share is defined once, on a line
    // of its own before the first line that uses it.
    std::set<std::string> taken(out.vars.begin(), out.vars.end());
    for (const InputInfo& in : dnf.inputs) taken.insert(in.name);
    for (const Output& o : dnf.outputs) taken.insert(o.name);
    SharedPrinter printer(notation, std::move(taken));
    for (const Let& let : out.lets) printer.Add(let.value);
    printer.Add(out.body);
    auto print = [&](const Scalar& s) {
      const std::string text = printer.Print(s);
      for (const auto& [lhs, rhs] : printer.TakeDefinitions()) line(lhs, rhs);
      return text;
    };
    for (const Let& let : out.lets) {
      std::vector<Affine> level;
      for (size_t a = 0; a < let.level; ++a) level.push_back(Affine::Var(out.vars[a]));
      const std::string value = print(let.value);
      line(ToString(Ref(let.name, level), notation), value);
    }
    std::string idx;
    for (size_t a = 0; a < out.vars.size(); ++a) idx += (a ? (latex ? "\\; " : " ") : "") + out.vars[a];
    const std::string body = print(out.body);
    if (latex) {
      line("\\langle " + idx + "\\rangle\\, \\psi\\, \\mathit{" + out.name + "}", body);
    } else {
      line("<" + idx + "> \xCF\x88 " + out.name, body);
    }
  }
  if (latex) os << "\\end{align*}\n";
  return os.str();
}

}  // namespace moa::dnf
