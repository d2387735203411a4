#include "spec_args.h"

#include <sstream>

#include "moa/error.h"
#include "spec/builtins.h"

namespace moa::cli {

lift::Tiles ParseTiles(const std::string& text) {
  lift::Tiles t;
  const size_t comma = text.find(',');
  try {
    size_t used = 0;
    t.query = std::stoll(text.substr(0, comma), &used);
    UserCheck(used == (comma == std::string::npos ? text.size() : comma), "");
    t.key = t.query;
    if (comma != std::string::npos) {
      t.key = std::stoll(text.substr(comma + 1), &used);
      UserCheck(used == text.size() - comma - 1, "");
    }
  } catch (const std::exception&) {
    throw Error("--lift " + text + ": expected BQ,BK (two positive integers, e.g. 64,64)");
  }
  UserCheck(t.query >= 1 && t.key >= 1, "--lift ", text, ": tile sizes must be >= 1");
  return t;
}

std::pair<std::string, std::string> SplitAssignment(const std::string& s, const std::string& option) {
  const size_t eq = s.find('=');
  UserCheck(eq != std::string::npos && eq > 0 && eq + 1 < s.size(), option, " ", s,
            ": expected NAME=VALUE");
  return {s.substr(0, eq), s.substr(eq + 1)};
}

Bindings ParseSets(const std::vector<std::string>& sets) {
  Bindings given;
  for (const std::string& list : sets) {
    std::stringstream items(list);
    for (std::string item; std::getline(items, item, ',');) {
      const auto [name, value] = SplitAssignment(item, "--set");
      int64_t v = 0;
      size_t used = 0;
      try {
        v = std::stoll(value, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      UserCheck(used == value.size() && used > 0, "--set ", item, ": the value must be an integer");
      given[name] = v;
    }
  }
  return given;
}

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
