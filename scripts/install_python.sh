#!/usr/bin/env bash
# Makes `import moa` work for Debian's system interpreter (/usr/bin/python3, the one that has
# numpy and torch) by putting a .pth file that points at the built package into its site
# directory. Usage: scripts/install_python.sh [BUILD_DIR] (default build/release).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pkg="$(cd "${1:-$root/build/release}" && pwd)/python"
[ -f "$pkg/moa/__init__.py" ] || { echo "install_python: no built package in $pkg (build first)" >&2; exit 1; }
py=/usr/bin/python3
if [ "$(id -u)" -eq 0 ]; then
  site="$($py -c 'import site; print(site.getsitepackages()[0])')"
else
  site="$($py -c 'import site; print(site.getusersitepackages())')"
fi
mkdir -p "$site"
echo "$pkg" > "$site/moa.pth"
$py -c "import moa; print('moa ' + moa.__version__ + ' importable by /usr/bin/python3')" >&2
