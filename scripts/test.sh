#!/usr/bin/env bash
# Sets everything up, builds, and runs the whole test suite: the C++ tests (ctest) in the release
# preset, then again under AddressSanitizer + UndefinedBehaviorSanitizer, then the threaded
# attention kernels under ThreadSanitizer (the tsan preset builds them on std::thread instead of
# OpenMP, see src/kernels/parallel.h; only the kernel tests start threads).
# MOA_TEST_PRESETS="release" limits the presets (default: "release asan tsan").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup.sh
for preset in ${MOA_TEST_PRESETS:-release asan tsan fuzz}; do
  echo "== moa tests: preset $preset"
  if [ "$preset" = fuzz ]; then
    scripts/fuzz.sh "${MOA_FUZZ_SECONDS:-60}"
    continue
  fi
  scripts/build.sh "$preset"
  if [ "$preset" = tsan ]; then
    ctest --preset "$preset" -j "$(nproc)" -R '^Attention'
  else
    ctest --preset "$preset" -j "$(nproc)"
  fi
done
