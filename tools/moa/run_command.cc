// `moa run`: evaluates a spec through the ONF interpreter in float64 on .npy inputs (or random
// ones drawn from a seed) and writes .npy outputs.
#include <iostream>
#include <memory>
#include <tuple>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "driver/run.h"
#include "io/npy.h"
#include "moa/error.h"
#include "spec_args.h"

namespace moa::cli {
namespace {

struct RunArgs {
  SpecArgs spec;
  std::vector<std::string> sets, inputs, outputs;
  uint64_t seed = 0;
  bool json = false;
  std::string lift;
};

void RunRun(const RunArgs& args) {
  std::optional<lift::Tiles> tiles;
  if (!args.lift.empty()) tiles = ParseTiles(args.lift);
  const driver::Derivation d = driver::Derive(args.spec.Load(), {}, tiles);
  const Bindings given = ParseSets(args.sets);
  // Where each output goes: a single unnamed --output takes the only output. One file per
  // output and one output per file: a second would silently replace the first.
  std::map<std::string, std::string> files, given_as;
  for (const std::string& o : args.outputs) {
    std::string name, path;
    if (o.find('=') == std::string::npos) {
      UserCheck(d.spec.output_names.size() == 1, "--output ", o, ": the spec returns ",
                d.spec.output_names.size(), " values; name each one, --output NAME=FILE.npy");
      name = d.spec.output_names[0];
      path = o;
    } else {
      std::tie(name, path) = SplitAssignment(o, "--output");
      bool known = false;
      for (const std::string& n : d.spec.output_names) known = known || n == name;
      UserCheck(known, "--output ", o, ": the spec returns no value named '", name, "'");
    }
    UserCheck(!files.count(name), "--output ", o, ": output '", name, "' is already written by --output ",
              given_as[name]);
    for (const auto& [other, file] : files)
      UserCheck(file != path, "--output ", o, ": '", path, "' is already the file of output '", other, "'");
    files[name] = path;
    given_as[name] = o;
  }
  std::map<std::string, std::string> input_flags;  // checked before any file is read
  for (const std::string& in : args.inputs) {
    const std::string name = SplitAssignment(in, "--input").first;
    const auto [first, fresh] = input_flags.emplace(name, in);
    UserCheck(fresh, "--input ", in, ": input '", name, "' is already given by --input ", first->second);
  }
  std::map<std::string, Array> inputs;
  for (const std::string& in : args.inputs) {
    const auto [name, path] = SplitAssignment(in, "--input");
    std::string dtype;
    Array a = io::ReadNpy(path, &dtype);
    driver::CheckInputDtype(d.spec, name, dtype, "--input " + in);
    inputs.emplace(name, std::move(a));
  }
  const Bindings sizes = driver::BindSizes(d.spec, inputs, given);
  driver::CheckMemory(d, sizes);
  const std::vector<std::string> drawn = driver::DrawMissingInputs(d.spec, sizes, args.seed, &inputs);
  if (!drawn.empty()) {
    std::string names;
    for (const std::string& n : drawn) names += (names.empty() ? "" : ", ") + n;
    std::cerr << "moa run: drew random inputs " << names << " (seed " << args.seed
              << "; real: standard normal, bool: true with p = 0.8)\n";
  }
  const std::vector<Array> results = driver::Run(d, sizes, inputs);

  nlohmann::json report = {{"sizes", sizes}, {"seed", args.seed}, {"random_inputs", drawn}};
  report["outputs"] = nlohmann::json::array();
  for (size_t k = 0; k < results.size(); ++k) {
    const std::string& name = d.spec.output_names[k];
    nlohmann::json entry = {{"name", name}, {"shape", results[k].shape()}};
    if (files.count(name)) {
      io::WriteNpy(files[name], results[k], "--output " + given_as[name]);
      entry["file"] = files[name];
    } else {
      entry["values"] = results[k].data();
    }
    report["outputs"].push_back(entry);
    if (!args.json) {
      std::cout << name << ": " << (files.count(name) ? "shape " + ToString(results[k].shape()) + " written to " + files[name]
                                                      : results[k].ToString())
                << "\n";
    }
  }
  if (args.json) std::cout << report.dump(2) << "\n";
}

}  // namespace

void AddRun(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* run = app.add_subcommand("run", "Evaluate a spec through the ONF interpreter (float64)");
  args->spec.AddTo(run);
  run->add_option("--set", args->sets, "Sizes, e.g. --set n=3,dk=4 (inferred from --input shapes when omitted)");
  run->add_option("--input", args->inputs, "NAME=FILE.npy for an argument of the spec (others are drawn at random)");
  run->add_option("--output", args->outputs, "FILE.npy, or NAME=FILE.npy when the spec returns several values");
  run->add_option("--seed", args->seed, "Seed for random inputs")->default_val(0);
  run->add_flag("--json", args->json, "Print sizes and outputs as JSON");
  run->add_option("--lift", args->lift, "BQ,BK[,S]: run the one-pass ONF lifted to these tiles (and S key ranges) instead");
  run->callback([args] { RunRun(*args); });
}

}  // namespace moa::cli
