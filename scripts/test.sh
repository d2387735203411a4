#!/usr/bin/env bash
# Sets everything up, builds, and runs the whole test suite: the C++ tests (ctest) in the release
# preset, then again under AddressSanitizer + UndefinedBehaviorSanitizer.
# MOA_TEST_PRESETS="release" limits the presets (default: "release asan").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup.sh
for preset in ${MOA_TEST_PRESETS:-release asan}; do
  echo "== moa tests: preset $preset"
  scripts/build.sh "$preset"
  ctest --preset "$preset" -j "$(nproc)"
done
