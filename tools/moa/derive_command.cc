// `moa derive`: the derivation of a spec, as far as the compiler goes.
#include <iostream>

#include "commands.h"
#include "moa/shape_rules.h"

namespace moa::cli {
namespace {

void RunDerive() {
  const Shape q{Extent::Symbol("n"), Extent::Symbol("dk")};
  const Shape k{Extent::Symbol("m"), Extent::Symbol("dk")};
  const Shape v{Extent::Symbol("m"), Extent::Symbol("dv")};
  const Shape s = shape_rule::Inner(q, shape_rule::Transpose(k));
  const Shape o = shape_rule::Inner(s, v);
  std::cout << "attention: softmax(q @ k.transpose(-2, -1) / sqrt(dk)) @ v\n"
            << "  kT: " << ToString(shape_rule::Transpose(k)) << "\n  S : " << ToString(s)
            << "\n  O : " << ToString(o) << "\n";
}

}  // namespace

void AddDerive(CLI::App& app) {
  CLI::App* derive = app.add_subcommand("derive", "Derive a spec: shapes, DNF, buffers, ONF");
  derive->callback(RunDerive);
  app.callback([&app, derive] {
    if (app.get_subcommands().empty()) RunDerive();
  });
}

}  // namespace moa::cli
