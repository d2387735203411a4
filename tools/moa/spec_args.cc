#include "spec_args.h"

#include <sstream>
#include <vector>

#include "moa/error.h"
#include "spec/builtins.h"
#include "strict_numbers.h"

namespace moa::cli {

lift::Tiles ParseTiles(const std::string& text) {
  // BQ[,BK[,S]]: BK defaults to BQ, S (split-KV ranges) to 1.
  std::vector<int64_t> values;
  try {
    std::stringstream items(text);
    for (std::string item; std::getline(items, item, ',');) {
      int64_t value = 0;
      UserCheck(ParseDecimal(item, &value), "");
      values.push_back(value);
    }
    UserCheck(!values.empty() && values.size() <= 3 && text.back() != ',', "");
  } catch (const std::exception&) {
    throw Error("--lift " + text +
                ": expected BQ,BK or BQ,BK,S (positive integers: query and key tile sizes, and "
                "split-KV ranges; e.g. 64,64 or 1,64,4)");
  }
  lift::Tiles t;
  t.query = values[0];
  t.key = values.size() > 1 ? values[1] : t.query;
  t.splits = values.size() > 2 ? values[2] : 1;
  UserCheck(t.query >= 1 && t.key >= 1, "--lift ", text, ": tile sizes must be >= 1");
  UserCheck(t.splits >= 1, "--lift ", text, ": the split count S must be >= 1");
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
      UserCheck(ParseDecimal(value, &v), "--set ", item, ": the value must be an integer (decimal, within 64 bits)");
      const auto [at, fresh] = given.emplace(name, v);
      UserCheck(fresh, "--set ", item, ": size '", name, "' is already set (", name, "=", at->second, ")");
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
