#!/usr/bin/env bash
# Ring attention sweep: `moa ring` under mpiexec at each point, the ring on RANKS ranks of one
# thread each against one process of RANKS threads on the whole problem, timed in the same run
# (bench/../tools/moa/ring_command.cc), printed as a Markdown table of medians and their ratio.
# On one machine the ring's ranks share its memory and cores: this measures what the ring costs
# over the one-process kernels (copies, merges, messages, load balance), not a cluster's scaling.
#
# Usage: bench/ring_sweep.sh [BUILD_DIR]      (default build/release)
#   RANKS=2 N="4096 16384" DTYPES="float32 bfloat16" D=128 HEADS=8 MIN_TIME=2 bench/ring_sweep.sh
# Each point runs with --bind-to none, so that the one-process run may use every core.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
RANKS="${RANKS:-2}"
N="${N:-4096 16384}"
DTYPES="${DTYPES:-float32 bfloat16}"
D="${D:-128}"
HEADS="${HEADS:-8}"
MIN_TIME="${MIN_TIME:-2}"
moa="$build/tools/moa/moa"
[ -x "$moa" ] || { echo "ring_sweep: $moa not built (scripts/build.sh release)" >&2; exit 2; }
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
records=$(mktemp)
trap 'rm -f "$records"' EXIT
for n in $N; do
  for dtype in $DTYPES; do
    for shape in "" "--causal" "--causal --zigzag"; do
      echo "ring_sweep: n=$n $dtype ${shape:-full}" >&2
      # shellcheck disable=SC2086
      mpiexec -n "$RANKS" --oversubscribe --bind-to none "$moa" ring --n "$n" --d "$D" \
        --heads "$HEADS" --dtype "$dtype" --min-time "$MIN_TIME" $shape --json >>"$records"
    done
  done
done
/usr/bin/python3 - "$records" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
decoder, at, runs = json.JSONDecoder(), 0, []
while at < len(text):
    while at < len(text) and text[at].isspace():
        at += 1
    if at == len(text):
        break
    value, at = decoder.raw_decode(text, at)
    runs.append(value)
print("| n | dtype | mask | shards | ring (s) | one process (s) | ring / one process | ring GFLOP/s | difference |")
print("|---|---|---|---|---|---|---|---|---|")
for ring, one in runs:
    mask = "causal" if ring["causal"] else "none"
    shards = ring.get("sharding", "contiguous")
    print(f'| {ring["n"]} | {ring["dtype"]} | {mask} | {shards} | {ring["median_s"]:.4g} | '
          f'{one["median_s"]:.4g} | {ring["median_s"] / one["median_s"]:.2f} | '
          f'{ring["gflops"]:.1f} | {one["ring_difference"]:.2g} |')
PY
