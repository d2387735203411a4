#!/usr/bin/env bash
# Traffic check of the cost model: runs plain C++ kernels whose loops are the model's ONFs
# (bench/traffic_driver.cc: naive, three-pass DNF, lifted) under valgrind's cachegrind with a
# configured D1 and last-level cache, and compares the simulated misses x line size with the
# bytes the model (src/cost/footprint.h) predicts the same loop nest moves into those caches.
# Not part of the test suite (minutes under valgrind). Needs valgrind (apt-get install valgrind).
#
# Usage: bench/cachegrind_traffic.sh [BUILD_DIR]       (default build/release)
#   N="256 512 1024 2048" D=32 BQ=32 BK=32 LL=262144,8,64 D1=32768,8,64 DNF_N="128 256" \
#   bench/cachegrind_traffic.sh
# Only the misses attributed to the kernel functions are counted (the inputs are evicted first,
# so the kernel starts cold, as the model assumes). Cachegrind counts a write miss as a line
# fetched (write-allocate) and does not count write-backs: the model's "loaded" bytes are the
# comparable number.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
N="${N:-256 512 1024 2048}"
DNF_N="${DNF_N:-128 256}"
D="${D:-32}"
BQ="${BQ:-32}"
BK="${BK:-32}"
LL="${LL:-262144,8,64}"
D1="${D1:-32768,8,64}"
command -v valgrind >/dev/null || { echo "cachegrind_traffic: valgrind not found (apt-get install valgrind)" >&2; exit 2; }
cmake --build "$build" --target moa_traffic_driver -j2 >/dev/null
driver="$build/bench/moa_traffic_driver"
ll_bytes="${LL%%,*}"
d1_bytes="${D1%%,*}"
line="${LL##*,}"
ll_ways="$(echo "$LL" | cut -d, -f2)"
d1_ways="$(echo "$D1" | cut -d, -f2)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "cachegrind traffic check: float32, d=$D, D1=$D1, LL=$LL (size,assoc,line); lifted tiles ${BQ}x${BK}"
echo "K+V fit the LL while n <= $((ll_bytes / (2 * D * 4)))"
printf "%-7s %6s %14s %14s %7s %14s %14s %7s\n" form n model_LL_B cachegrind_LL_B ratio model_D1_B cachegrind_D1_B ratio
run() {
  local form="$1" n="$2"
  local pred
  pred="$("$driver" --form "$form" --n "$n" --d "$D" --bq "$BQ" --bk "$BK" --d1 "$d1_bytes" --ll "$ll_bytes" --line "$line" \
    --d1-ways "$d1_ways" --ll-ways "$ll_ways" --predict)"
  local model_d1="${pred% *}" model_ll="${pred#* }"
  valgrind --tool=cachegrind --cache-sim=yes --I1=32768,8,64 --D1="$D1" --LL="$LL" \
    --cachegrind-out-file="$tmp/cg.out" "$driver" --form "$form" --n "$n" --d "$D" --bq "$BQ" \
    --bk "$BK" --ll "$ll_bytes" >/dev/null 2>"$tmp/log"
  # events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw; sum data misses of the kernel functions.
  local sim
  sim="$(awk -v line="$line" '/^fn=/{f=$0} /^[0-9]/{ if (f ~ /MoaTrafficKernel|Naive|ThreePass|Lifted|Dot/) {d1+=$6+$9; ll+=$7+$10} } END{printf "%.0f %.0f", d1*line, ll*line}' "$tmp/cg.out")"
  local sim_d1="${sim% *}" sim_ll="${sim#* }"
  awk -v f="$form" -v n="$n" -v ml="$model_ll" -v sl="$sim_ll" -v md="$model_d1" -v sd="$sim_d1" \
    'BEGIN{printf "%-7s %6d %14.0f %14.0f %7.3f %14.0f %14.0f %7.3f\n", f, n, ml, sl, (sl>0?ml/sl:0), md, sd, (sd>0?md/sd:0)}'
}
for n in $N; do run naive "$n"; done
for n in $N; do run lifted "$n"; done
for n in $DNF_N; do run dnf "$n"; done
echo "ratio = model / cachegrind (1.000 = exact; the issue asks for LL within 0.8..1.2)"
