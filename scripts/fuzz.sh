#!/usr/bin/env bash
# Builds the libFuzzer targets (the fuzz preset: clang, ASan + UBSan) and runs each for a bounded
# time from its committed corpus (fuzz/corpus/NAME: seeds and every crash found so far, replayed
# first). Any crash, sanitizer report, timeout, memory blow-up or reference mismatch fails the run;
# the input that caused it is left in build/fuzz/artifacts/. Usage:
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default: 60 s; spec npy attention)
# New inputs the fuzzer finds go to build/fuzz/corpus-NAME, not into the committed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(spec npy attention)

scripts/setup.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"

declare -A max_len=([spec]=4096 [npy]=1024 [attention]=256)
mkdir -p build/fuzz/artifacts
for t in "${targets[@]}"; do
  work="build/fuzz/corpus-$t"
  mkdir -p "$work"
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=("-dict=fuzz/$t.dict")
  echo "== moa fuzz: $t for ${seconds} s"
  # -seed fixed so that a run can be repeated; ASan's leak check on.
  log="build/fuzz/$t.log"
  set +e
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "build/fuzz/fuzz/moa_fuzz_$t" "$work" "fuzz/corpus/$t" "${dict[@]}" -seed=1 \
      -max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=20 -rss_limit_mb=4096 \
      -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$t-" >"$log" 2>&1
  status=$?
  set -e
  # The progress lines (NEW, REDUCE, pulse) are in the log; the summary and any report here.
  grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse|INITED)' "$log" | tail -n 60
  if [ "$status" -ne 0 ]; then
    echo "moa fuzz: $t failed (exit $status); the input is in build/fuzz/artifacts/, the log in $log" >&2
    exit 1
  fi
done
