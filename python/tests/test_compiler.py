"""The compiler from Python: moa.derive and moa.run, and their agreement with the CLI."""
import json
import os
import subprocess

import numpy as np
import pytest
import torch

import moa

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOA = os.environ.get("MOA_BIN", os.path.join(ROOT, "build", "release", "tools", "moa", "moa"))

SPEC = '''import math
import torch
from torch import Tensor
from jaxtyping import Float


def attention(q: Float[Tensor, "b h n dk"], k: Float[Tensor, "b h m dk"],
              v: Float[Tensor, "b h m dv"]) -> Float[Tensor, "b h n dv"]:
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    return torch.softmax(scores, dim=-1) @ v
'''


def test_derive_gives_the_same_buffers_report_as_the_cli(tmp_path):
    path = tmp_path / "my_attention.py"
    path.write_text(SPEC)
    cli = json.loads(subprocess.run([MOA, "derive", str(path), "--json"], check=True,
                                    capture_output=True, text=True).stdout)
    from_text = moa.derive(SPEC)
    from_path = moa.derive(str(path))
    assert from_text.minimal and from_path.minimal
    assert from_text.buffers == cli["buffers"]["entries"]
    assert from_path.json["buffers"] == cli["buffers"]
    roles = {b["name"]: b["role"] for b in from_text.buffers}
    assert roles["q"] == roles["k"] == roles["v"] == "input" and roles["out"] == "output"
    assert all(b["elements"] == "1" for b in from_text.buffers if b["role"] not in ("input", "output"))
    assert "scores" in from_text.text  # the spec's variable names reach the report
    assert "\\psi" in from_text.latex


def test_steps_are_available():
    d = moa.derive(builtin="attention", steps=True)
    rules = {s["rule"] for s in d.steps}
    assert {"psi-permute", "psi-inner", "hoist", "factor-divisor"} <= rules


def test_run_agrees_with_torch_float64():
    rng = np.random.default_rng(4)
    q, k, v = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 7, 4)), rng.standard_normal((2, 3, 7, 6))
    got = moa.run(SPEC, q=q, k=k, v=v)
    want = torch.softmax(torch.from_numpy(q) @ torch.from_numpy(k).transpose(-2, -1) / 2.0, -1) @ torch.from_numpy(v)
    assert got.shape == (2, 3, 5, 6)
    assert np.max(np.abs(got - want.numpy())) <= 1e-12 * np.max(np.abs(want.numpy()))
    # torch tensors are accepted too, and a Derivation can be run again
    d = moa.derive(SPEC)
    assert np.array_equal(moa.run(d, q=torch.from_numpy(q), k=k, v=v), got)


def test_run_draws_missing_inputs_from_a_seed():
    a = moa.run(SPEC, sizes=dict(b=1, h=1, n=2, m=3, dk=4, dv=2), seed=3)
    b = moa.run(SPEC, sizes=dict(b=1, h=1, n=2, m=3, dk=4, dv=2), seed=3)
    assert a.shape == (1, 1, 2, 2) and np.array_equal(a, b)


def test_spec_errors_point_at_line_and_column():
    with pytest.raises(moa.SpecError, match=r"<string>:3:18: error: unsupported function .torch\.relu."):
        moa.derive('import torch\ndef f(x: "n d"):\n    return torch.relu(x)\n')
    with pytest.raises(moa.SpecError, match=r"<string>:2:12: error: unknown name 'torch'"):
        moa.derive('def f(x: "n d"):\n    return torch.relu(x)\n')
    with pytest.raises(ValueError, match="no such file"):
        moa.derive("missing_spec.py")
    with pytest.raises(TypeError, match="spec"):
        moa.derive(42)


def test_run_errors_name_the_input():
    q = np.zeros((2, 4))
    with pytest.raises(ValueError, match="size 'dk' is 4 from input 'q' but 3 from input 'k'"):
        moa.run(moa.derive(builtin="attention"), q=q, k=np.zeros((5, 3)), v=np.zeros((5, 2)))


def test_lifted_one_pass_agrees_with_three_pass():
    d = moa.derive(SPEC, lift=(2, 3))
    assert "o_tile" in d.lifted_onf and moa.derive(SPEC).lifted_onf is None
    rng = np.random.default_rng(8)
    q, k, v = rng.standard_normal((1, 2, 5, 4)), rng.standard_normal((1, 2, 7, 4)), rng.standard_normal((1, 2, 7, 3))
    three_pass = moa.run(SPEC, q=q, k=k, v=v)
    one_pass = moa.run(d, q=q, k=k, v=v)
    assert np.max(np.abs(one_pass - three_pass)) <= 1e-12 * np.max(np.abs(three_pass))
    split = moa.derive(SPEC, lift=(2, 3, 2))  # split-KV: 2 key ranges, combined
    assert "o_tile" in split.lifted_onf
    assert np.max(np.abs(moa.run(split, q=q, k=k, v=v) - three_pass)) <= 1e-12 * np.max(np.abs(three_pass))
    with pytest.raises(ValueError, match="split count must be >= 1"):
        moa.derive(SPEC, lift=(2, 3, 0))
    with pytest.raises(ValueError, match="cannot lift"):
        moa.derive(builtin="example4_softmax", lift=4)
    with pytest.raises(TypeError, match="lift"):
        moa.derive(SPEC, lift="4x4")


@pytest.mark.parametrize("body", ["(" * 2000 + "q" + ")" * 2000, "-" * 10000 + "q", "q" + ".abs()" * 5000])
def test_deep_nesting_is_a_spec_error_not_a_crash(body):
    # Each of these overflowed the stack of the Python process (issue 21); now an error at the
    # construct that crosses the limit, and the interpreter goes on.
    with pytest.raises(moa.SpecError, match=r":2:\d+: error: expression nested deeper than 128"):
        moa.derive('def f(q: "n d"):\n    return ' + body + "\n")
    assert moa.derive('def f(q: "n d"):\n    return -q\n').minimal


def test_source_that_is_not_utf8_is_a_spec_error(tmp_path):
    path = tmp_path / "latin1.py"
    path.write_bytes(b'def f(q: "n d"):\n    # \xe7\n    return q\n')
    with pytest.raises(moa.SpecError, match=r"latin1.py:2:7: error: the source is not UTF-8 \(byte 0xE7\)"):
        moa.derive(str(path))
