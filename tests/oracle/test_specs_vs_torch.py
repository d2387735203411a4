"""The derivation against PyTorch in float64.

Each spec is run twice on the same random inputs: by `moa run` (ψ-reduction, DNF, ONF, the
float64 ONF interpreter; for attention also the one-pass ONF lifted to tiles, `--lift`) and by
PyTorch itself executing the very same Python source. They must
agree to 1e-12 relative (max-norm of the difference over max-norm of the reference).

MOA_BIN names the `moa` binary (default: the release build).
"""
import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOA = os.environ.get("MOA_BIN", os.path.join(ROOT, "build", "release", "tools", "moa", "moa"))


def moa(*args):
    done = subprocess.run([MOA, *args], capture_output=True, text=True)
    assert done.returncode == 0, f"moa {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


def install_jaxtyping_stand_in():
    """Specs may annotate with jaxtyping; PyTorch only needs the names to exist."""
    if "jaxtyping" in sys.modules:
        return
    try:
        import jaxtyping  # noqa: F401
        return
    except ImportError:
        pass
    stand_in = types.ModuleType("jaxtyping")

    class _Annotation:
        def __class_getitem__(cls, item):
            return cls

    stand_in.Float = type("Float", (_Annotation,), {})
    stand_in.Bool = type("Bool", (_Annotation,), {})
    sys.modules["jaxtyping"] = stand_in


def torch_function(source, name):
    install_jaxtyping_stand_in()
    scope = {}
    exec(compile(source, f"<spec {name}>", "exec"), scope)
    functions = [v for v in scope.values() if isinstance(v, types.FunctionType)]
    assert len(functions) == 1, "a spec has exactly one def"
    return functions[0]


def derive(name):
    return json.loads(moa("derive", "--builtin", name, "--json"))


def builtins():
    return moa("derive", "--list").split()


def liftable(name):
    """Specs with a softmax-weighted sum can also run as the one-pass lifted ONF."""
    return subprocess.run([MOA, "derive", "--builtin", name, "--lift", "3,4"], capture_output=True).returncode == 0


RUNS = [(name, None) for name in builtins()] + [(name, "3,4") for name in builtins() if liftable(name)] + \
       [(name, "1,16") for name in builtins() if liftable(name)] + \
       [(name, "2,2,3") for name in builtins() if liftable(name)]  # split-KV: 3 key ranges


SIZES = [
    dict(n=1, m=1, dk=1, dv=1, b=1, h=1),
    dict(n=3, m=5, dk=4, dv=2, b=2, h=3),
    dict(n=7, m=7, dk=3, dv=5, b=1, h=2),
    dict(n=16, m=9, dk=8, dv=8, b=2, h=1),
    dict(n=5, m=17, dk=2, dv=3, b=3, h=2),
]


def extent(value, sizes):
    """An extent from the JSON shape: an int, or a size expression such as 'n' or '2*n'."""
    if isinstance(value, int):
        return value
    return int(eval(value, {"__builtins__": {}}, dict(sizes)))  # sizes and + - * only


@pytest.mark.parametrize("name,lift", RUNS, ids=[f"{n}-lift{l}" if l else n for n, l in RUNS])
@pytest.mark.parametrize("case", range(len(SIZES)))
def test_builtin_matches_torch(name, lift, case, tmp_path):
    d = derive(name)
    spec = d["spec"]
    rng = np.random.default_rng(1000 + case)
    sizes = {s: SIZES[case].get(s, 3) for s in spec["sizes"]}
    args, torch_args = [], []
    for p in spec["params"]:
        shape = [extent(e, sizes) for e in p["shape"]]
        if p["dtype"] == "bool":
            a = rng.random(shape) < 0.8
        else:
            a = rng.standard_normal(shape)
        path = tmp_path / f"{p['name']}.npy"
        np.save(path, a)
        args += ["--input", f"{p['name']}={path}"]
        torch_args.append(torch.from_numpy(a) if p["dtype"] == "bool" else torch.from_numpy(a).double())
    outs = []
    for o in spec["outputs"]:
        path = tmp_path / f"out_{o['name']}.npy"
        outs.append(path)
        args += ["--output", f"{o['name']}={path}"]
    sets = ",".join(f"{k}={v}" for k, v in sizes.items())
    moa("run", "--builtin", name, "--set", sets, *args, *(["--lift", lift] if lift else []))

    f = torch_function(d["spec"]["source"], name)
    want = f(*torch_args)
    if not isinstance(want, tuple):
        want = (want,)
    assert len(want) == len(outs)
    for w, path in zip(want, outs):
        got = np.load(path)
        w = w.double().numpy() if w.dtype != torch.bool else w.numpy().astype(np.float64)
        assert got.shape == w.shape
        finite = np.isfinite(w)
        assert np.array_equal(np.isfinite(got), finite), "inf/NaN in different places"
        scale = np.max(np.abs(w[finite]), initial=0.0)
        err = np.max(np.abs(got[finite] - w[finite]), initial=0.0)
        assert err <= 1e-12 * max(scale, 1e-300) or err == 0.0, f"{name} sizes={sizes}: rel err {err / scale:.3g}"
