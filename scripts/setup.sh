#!/usr/bin/env bash
# Installs moa's build and test dependencies from Debian 12 packages. Idempotent: it only calls
# apt-get when a package is missing. Runs as root, or through sudo when that is available.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev     # tests and micro-benchmarks
  libhwy-dev                                     # portable SIMD with run-time dispatch
  libcli11-dev nlohmann-json3-dev                # the CLI and its --json output
  python3 python3-dev pybind11-dev python3-numpy python3-pytest
  python3-torch                                  # the float64 oracle
  python3-matplotlib                             # `moa bench --report` plots
  libdnnl-dev                                    # oneDNN: `moa bench`'s unfused peer
  libopenmpi-dev openmpi-bin python3-mpi4py      # attention over MPI (moa_ring, `moa ring`)
  clang-14 libclang-rt-14-dev                    # libFuzzer: the fuzz preset (scripts/fuzz.sh)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "moa setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
