"""The derivation against PyTorch in float64.

Each spec is run twice on the same random inputs: by `moa run` (ψ-reduction, DNF, ONF, the
float64 ONF interpreter; for attention also the one-pass ONF lifted to tiles, `--lift`) and by
PyTorch itself executing the very same Python source. They must
agree to 1e-12 relative (max-norm of the difference over max-norm of the reference).

Every built-in, and a few user specs at the edges of the subset, also run with size 0 and size 1
on each axis in turn; where PyTorch raises (amax over an empty axis), moa must refuse too.

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
    sizes = {s: SIZES[case].get(s, 3) for s in d["spec"]["sizes"]}
    check_against_torch(name, d, ["--builtin", name], lift, sizes, np.random.default_rng(1000 + case), tmp_path)


def edge_cases(spec_sizes):
    """Size 0 and size 1 on each axis in turn, the others 2, 3, …: e.g. attention over zero keys."""
    for edge in spec_sizes:
        for value in (0, 1):
            other = iter(range(2, 100))
            yield {s: value if s == edge else next(other) for s in spec_sizes}


@pytest.mark.parametrize("name,lift", RUNS, ids=[f"{n}-lift{l}" if l else n for n, l in RUNS])
def test_builtin_matches_torch_at_edge_sizes(name, lift, tmp_path):
    d = derive(name)
    for k, sizes in enumerate(edge_cases(d["spec"]["sizes"])):
        case_dir = tmp_path / str(k)
        case_dir.mkdir()
        check_against_torch(name, d, ["--builtin", name], lift, sizes, np.random.default_rng(2000 + k), case_dir)


# Specs written by users at the edges of the subset, run from their source file.
EDGE_SPECS = {
    "identity": 'def f(q: "n d"):\n    return q\n',
    "two_outputs": 'def f(q: "n d", k: "n d"):\n    return k, q\n',
    "softmax_empty": 'import torch\ndef f(s: "n m", v: "m d"):\n    return torch.softmax(s, dim=-1) @ v\n',
    "mean_rows": 'import torch\ndef f(q: "n d"):\n    return q.sum(-1) + q.mean(0).sum()\n',
}


@pytest.mark.parametrize("name", sorted(EDGE_SPECS))
def test_user_spec_matches_torch_at_edge_sizes(name, tmp_path):
    source = "import torch\n" + EDGE_SPECS[name]
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    d = json.loads(moa("derive", str(path), "--json"))
    for k, sizes in enumerate(edge_cases(d["spec"]["sizes"])):
        case_dir = tmp_path / str(k)
        case_dir.mkdir()
        check_against_torch(name, d, [str(path)], None, sizes, np.random.default_rng(3000 + k), case_dir)


def check_against_torch(name, d, spec_args, lift, sizes, rng, tmp_path):
    spec = d["spec"]
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
    run = ["run", *spec_args, "--set", sets, *args, *(["--lift", lift] if lift else [])]
    f = torch_function(d["spec"]["source"], name)
    try:
        want = f(*torch_args)
    except ZeroDivisionError:
        # Python's own float arithmetic on sizes (1 / math.sqrt(q.size(-1)) with dk = 0) raises
        # where moa, whose sizes are values in the DAG, computes IEEE inf (a known divergence).
        return
    except (IndexError, RuntimeError) as e:  # e.g. amax over an empty axis: moa must refuse too
        done = subprocess.run([MOA, *run], capture_output=True, text=True)
        assert done.returncode == 2 and "PyTorch refuses it too" in done.stderr, \
            f"{name} sizes={sizes}: PyTorch raised {e!r}, moa gave {done.returncode}: {done.stderr}"
        return
    moa(*run)
    if not isinstance(want, tuple):
        want = (want,)
    assert len(want) == len(outs)
    for w, path in zip(want, outs):
        got = np.load(path)
        w = w.double().numpy() if w.dtype != torch.bool else w.numpy().astype(np.float64)
        assert got.shape == w.shape
        finite = np.isfinite(w)
        assert np.array_equal(np.isfinite(got), finite), f"{name} sizes={sizes}: inf/NaN in different places"
        scale = np.max(np.abs(w[finite]), initial=0.0)
        err = np.max(np.abs(got[finite] - w[finite]), initial=0.0)
        assert err <= 1e-12 * max(scale, 1e-300) or err == 0.0, f"{name} sizes={sizes}: rel err {err / scale:.3g}"
