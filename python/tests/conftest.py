import os
import sys

# The package is built into <build>/python; CTest sets PYTHONPATH, this covers a bare pytest run.
_here = os.path.dirname(os.path.abspath(__file__))
_build = os.path.join(_here, "..", "..", "build", "release", "python")
if os.path.isdir(_build) and _build not in sys.path:
    sys.path.insert(0, os.path.abspath(_build))
