// The `moa` command: one binary, one subcommand per capability.
#include <CLI/CLI.hpp>
#include <iostream>

#include "moa/error.h"
#include "moa/shape_rules.h"
#include "moa/version.h"

int main(int argc, char** argv) {
  CLI::App app{"moa: attention derived by the Mathematics of Arrays"};
  app.set_version_flag("--version", std::string("moa ") + MOA_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    using namespace moa;
    const Shape q{Extent::Symbol("n"), Extent::Symbol("dk")};
    const Shape k{Extent::Symbol("m"), Extent::Symbol("dk")};
    const Shape v{Extent::Symbol("m"), Extent::Symbol("dv")};
    const Shape s = shape_rule::Inner(q, shape_rule::Transpose(k));
    const Shape o = shape_rule::Inner(s, v);
    std::cout << "attention: softmax(q @ k.transpose(-2, -1) / sqrt(dk)) @ v\n"
              << "  kT: " << ToString(shape_rule::Transpose(k)) << "\n  S : " << ToString(s)
              << "\n  O : " << ToString(o) << "\n";
  } catch (const moa::Error& e) {
    std::cerr << "moa: error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
