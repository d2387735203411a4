// `moa derive`: the derivation of a spec, every stage shown. A bare `moa` derives the built-in
// attention spec.
#include <iostream>
#include <memory>

#include "commands.h"
#include "driver/derivation.h"
#include "io/write_file.h"
#include "moa/error.h"
#include "spec/builtins.h"
#include "spec_args.h"

namespace moa::cli {
namespace {

struct DeriveArgs {
  SpecArgs spec;
  bool steps = false;
  bool json = false;
  bool list = false;
  std::string latex;
  std::vector<std::string> layouts;
  std::string lift;  // "BQ,BK"
};

void RunDerive(const DeriveArgs& args) {
  if (args.list) {
    for (const std::string& name : spec::BuiltinNames()) std::cout << name << "\n";
    return;
  }
  std::map<std::string, Layout> layouts;
  for (const std::string& l : args.layouts) {
    const size_t eq = l.find('=');
    UserCheck(eq != std::string::npos, "--layout ", l, ": expected NAME=row or NAME=col");
    const std::string which = l.substr(eq + 1);
    UserCheck(which == "row" || which == "col", "--layout ", l, ": the layout must be 'row' or 'col'");
    const bool fresh =
        layouts.emplace(l.substr(0, eq), which == "row" ? Layout::kRowMajor : Layout::kColumnMajor).second;
    UserCheck(fresh, "--layout ", l, ": the layout of '", l.substr(0, eq), "' is already given");
  }
  std::optional<lift::Tiles> tiles;
  if (!args.lift.empty()) tiles = ParseTiles(args.lift);
  const driver::Derivation d = driver::Derive(args.spec.Load("attention"), layouts, tiles);
  if (!args.latex.empty()) {
    if (args.latex == "-") {
      std::cout << driver::ToLatex(d);
      return;
    }
    io::WriteFile(args.latex, driver::ToLatex(d), "--latex");
  }
  if (args.json) {
    std::cout << driver::ToJson(d, args.steps).dump(2) << "\n";
  } else {
    std::cout << driver::ToText(d, args.steps);
  }
}

}  // namespace

void AddDerive(CLI::App& app) {
  auto args = std::make_shared<DeriveArgs>();
  CLI::App* derive = app.add_subcommand(
      "derive", "Derive a spec: shapes, naive intermediates, DNF, buffers report, ONF");
  args->spec.AddTo(derive);
  derive->add_flag("--steps", args->steps, "Show every psi-reduction rewrite and the rule that made it");
  derive->add_option("--latex", args->latex, "Write the DNF as LaTeX to FILE ('-': stdout, instead of the report)");
  derive->add_flag("--json", args->json, "Print the whole derivation as JSON");
  derive->add_option("--layout", args->layouts, "NAME=row|col: the memory layout of an input or output (default row)");
  derive->add_flag("--list", args->list, "List the built-in specs");
  derive->add_option("--lift", args->lift,
                     "BQ,BK[,S]: also show the one-pass ONF with queries and keys lifted to tiles of BQ and "
                     "BK (with S: the keys in S ranges, each with its own state, combined at the end: "
                     "split-KV)");
  derive->callback([args] { RunDerive(*args); });
  app.callback([&app, args] {
    if (!app.get_subcommands().empty()) return;
    args->lift = "64,64";  // a bare `moa` shows the whole pipeline, tiled
    RunDerive(*args);
  });
}

}  // namespace moa::cli
