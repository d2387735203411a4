#include "spec_args.h"

#include "moa/error.h"
#include "spec/builtins.h"

namespace moa::cli {

void SpecArgs::AddTo(CLI::App* app) {
  std::string names;
  for (const std::string& n : spec::BuiltinNames()) names += (names.empty() ? "" : ", ") + n;
  app->add_option("spec", path, "A Python file with one def, as PyTorch users write attention");
  app->add_option("--builtin", builtin, "A built-in spec instead of a file: " + names);
}

spec::Spec SpecArgs::Load(const std::string& fallback) const {
  UserCheck(path.empty() || builtin.empty(), "give a spec file or --builtin, not both");
  if (!path.empty()) return driver::LoadSpec(path, false);
  if (!builtin.empty()) return driver::LoadSpec(builtin, true);
  UserCheck(!fallback.empty(), "no spec given: pass a spec file or --builtin NAME");
  return driver::LoadSpec(fallback, true);
}

}  // namespace moa::cli
