#!/usr/bin/env bash
# Regenerates tests/golden/NAME.txt from `moa derive --builtin NAME --steps` for every built-in.
# Review `git diff tests/golden` afterwards: the golden files pin the printed derivation.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
moa="${MOA_BIN:-$root/build/release/tools/moa/moa}"
for name in $("$moa" derive --list); do
  "$moa" derive --builtin "$name" --steps > "$root/tests/golden/$name.txt"
done
echo "updated $(ls "$root/tests/golden" | wc -l) golden files" >&2
