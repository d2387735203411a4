// The `moa` command: one binary, one subcommand per capability (see commands.h).
#include <CLI/CLI.hpp>
#include <iostream>

#include "commands.h"
#include "io/write_file.h"
#include "strict_numbers.h"
#include "moa/error.h"
#include "moa/version.h"

int main(int argc, char** argv) {
  CLI::App app{"moa: attention derived by the Mathematics of Arrays"};
  app.set_version_flag("--version", std::string("moa ") + MOA_VERSION);
  app.require_subcommand(0, 1);
  moa::cli::AddDerive(app);
  moa::cli::AddRun(app);
  moa::cli::AddBench(app);
  moa::cli::AddCost(app);
  moa::cli::AddPeak(app);
#ifdef MOA_HAVE_MPI
  moa::cli::AddRing(app);
#endif
  moa::cli::StrictNumbers(app);
  moa::io::CheckedStandardOutput out;
  try {
    app.parse(argc, argv);
    // What the command printed must have reached its destination (a full disk, /dev/full).
    out.Check();
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::Success& e) {  // --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, as scripts expect: what was wrong, and where to look.
    std::cerr << "moa: error: " << e.what() << " (see moa --help)\n";
    return 2;
  } catch (const moa::Error& e) {
    std::cerr << "moa: error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
