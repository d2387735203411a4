#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine, builds, and runs `moa` with the given
# arguments (none: the built-in default problem). Also makes `import moa` work for /usr/bin/python3.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh" release >&2
"$root/scripts/install_python.sh" "$root/build/release"
exec "$root/build/release/tools/moa/moa" "$@"
