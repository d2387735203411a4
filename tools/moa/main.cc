// The `moa` command: one binary, one subcommand per capability (see commands.h).
#include <CLI/CLI.hpp>
#include <iostream>

#include "commands.h"
#include "moa/error.h"
#include "moa/version.h"

int main(int argc, char** argv) {
  CLI::App app{"moa: attention derived by the Mathematics of Arrays"};
  app.set_version_flag("--version", std::string("moa ") + MOA_VERSION);
  app.require_subcommand(0, 1);
  moa::cli::AddDerive(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const moa::Error& e) {
    std::cerr << "moa: error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
