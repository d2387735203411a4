// Options shared by the subcommands that take a spec: a file, or --builtin NAME.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <utility>
#include <vector>

#include "driver/derivation.h"

namespace moa::cli {

// "BQ,BK" (or "B" for both) as tile sizes; throws moa::Error naming --lift otherwise.
lift::Tiles ParseTiles(const std::string& text);

// NAME=VALUE, split at the first '='; throws moa::Error naming `option` otherwise.
std::pair<std::string, std::string> SplitAssignment(const std::string& s, const std::string& option);

// Sizes from --set lists ("n=3,dk=4"); throws moa::Error naming the bad item.
Bindings ParseSets(const std::vector<std::string>& sets);

struct SpecArgs {
  std::string path;
  std::string builtin;

  void AddTo(CLI::App* app);
  // The spec chosen: the file, the built-in, or `fallback` (a built-in's name) when neither.
  spec::Spec Load(const std::string& fallback = "") const;
};

}  // namespace moa::cli
