#include "spec/spec.h"

#include <fstream>
#include <sstream>

#include "spec/lower.h"
#include "spec/parser.h"
#include "spec/tokenizer.h"

namespace moa::spec {

SpecError::SpecError(const std::string& file, int line, int column, const std::string& message)
    : Error(file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": error: " + message),
      line_(line),
      column_(column) {}

Spec Parse(const std::string& source, const std::string& file) {
  const std::vector<internal::Token> tokens = internal::Tokenize(source, file);
  const internal::Module module = internal::ParseModule(tokens, file);
  return internal::Lower(module, source, file);
}

Spec ParseFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  UserCheck(in.good(), "cannot open spec file '", path, "'");
  std::ostringstream text;
  text << in.rdbuf();
  UserCheck(!in.bad(), "cannot read spec file '", path, "'");
  return Parse(text.str(), path);
}

}  // namespace moa::spec
