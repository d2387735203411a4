import os
import sys

# The package is built into <build>/python (CTest sets PYTHONPATH; this covers a bare run), and
# the float64 reference and helpers come from the single-process suite beside this folder.
_here = os.path.dirname(os.path.abspath(__file__))
for path in (os.path.join(_here, "..", "..", "build", "release", "python"),
             os.path.join(_here, "..", "tests")):
    path = os.path.abspath(path)
    if os.path.isdir(path) and path not in sys.path:
        sys.path.insert(0, path)
