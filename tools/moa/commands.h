// The `moa` command's subcommands. Each lives in its own file and registers itself on the app;
// its callback runs the work and throws moa::Error on bad input, which main() reports in one line.
#pragma once

#include <CLI/CLI.hpp>

namespace moa::cli {

// Adds `derive` and makes it the default action of a bare `moa`.
void AddDerive(CLI::App& app);
// Adds `run`: evaluate a spec through the ONF interpreter on .npy inputs.
void AddRun(CLI::App& app);
// Adds `bench`: fused vs naive attention timings, measured peak, table or JSON.
void AddBench(CLI::App& app);
// Adds `cost`: the cost model's naive vs DNF vs lifted table, tiles and regimes.
void AddCost(CLI::App& app);
// Adds `peak`: measures the machine description the cost model reads.
void AddPeak(CLI::App& app);
// Adds `ring`: ring attention over MPI (under mpiexec), timed against one process; built with MPI.
void AddRing(CLI::App& app);

}  // namespace moa::cli
