// Options shared by the subcommands that take a spec: a file, or --builtin NAME.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "driver/derivation.h"

namespace moa::cli {

// "BQ,BK" (or "B" for both) as tile sizes; throws moa::Error naming --lift otherwise.
lift::Tiles ParseTiles(const std::string& text);

struct SpecArgs {
  std::string path;
  std::string builtin;

  void AddTo(CLI::App* app);
  // The spec chosen: the file, the built-in, or `fallback` (a built-in's name) when neither.
  spec::Spec Load(const std::string& fallback = "") const;
};

}  // namespace moa::cli
