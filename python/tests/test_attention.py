"""moa.attention against PyTorch in float64, over a grid of shapes, masks, dtypes and kinds.

The reference is torch.softmax(q @ k.transpose(-2, -1) * scale + bias, -1) @ v in float64, with
SDPA's conventions (bool mask: True = attend; causal top-left or bottom-right), and 0 for rows
with no key left (moa's definition; PyTorch would give NaN there). Tolerances (max-norm of the
difference over max-norm of the reference): float64 1e-12, float32 1e-5, bfloat16 2e-2.
"""
import itertools
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import moa

TOL = {"float64": 1e-12, "float32": 1e-5, "bfloat16": 2e-2}


def reference(q, k, v, mask=None, causal=None, scale=None, gqa=False):
    """float64 SDPA semantics; causal is None, 'top_left' or 'bottom_right'. Returns (out, lse)."""
    q, k, v = q.double(), k.double(), v.double()
    if gqa and k.shape[-3] != q.shape[-3]:
        rep = q.shape[-3] // k.shape[-3]
        k = k.repeat_interleave(rep, dim=-3)
        v = v.repeat_interleave(rep, dim=-3)
    L, S = q.shape[-2], k.shape[-2]
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ k.transpose(-2, -1) * scale
    allowed = torch.ones(L, S, dtype=torch.bool)
    if causal is not None:
        shift = 0 if causal == "top_left" else S - L
        allowed = torch.ones(L, S, dtype=torch.bool).tril(shift)
    allowed = allowed.expand(s.shape)
    if mask is not None:
        if mask.dtype == torch.bool:
            allowed = allowed & mask
        else:
            s = s + mask.double()
    s = s.masked_fill(~allowed, float("-inf"))
    lse = torch.logsumexp(s, dim=-1)
    p = torch.softmax(s, dim=-1)
    p = torch.nan_to_num(p, nan=0.0)  # fully masked rows: output 0
    return p @ v, lse


def rel_err(got, want):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    scale = np.max(np.abs(want)) if want.size else 0.0
    return np.max(np.abs(got - want)) / max(scale, 1e-300) if want.size else 0.0


def tensor(shape, dtype, gen):
    return torch.randn(*shape, generator=gen, dtype=torch.float64).to(getattr(torch, dtype))


SHAPES = [  # (lead, L, S, E, Ev)
    ((), 1, 1, 1, 1),
    ((1,), 5, 3, 4, 4),
    ((2, 3), 7, 7, 8, 8),
    ((2, 1), 1, 33, 16, 5),
    ((1, 2), 65, 40, 32, 24),
    ((3,), 130, 129, 64, 64),
]


@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("causal", [None, "top_left", "bottom_right"])
def test_matches_torch(dtype, shape, causal):
    lead, L, S, E, Ev = shape
    gen = torch.Generator().manual_seed(hash((dtype, shape, causal)) % 2**31)
    q, k, v = tensor(lead + (L, E), dtype, gen), tensor(lead + (S, E), dtype, gen), tensor(lead + (S, Ev), dtype, gen)
    out, lse = moa.attention(q, k, v, is_causal=causal is not None,
                             causal_alignment=causal or "top_left", return_lse=True)
    want, want_lse = reference(q, k, v, causal=causal)
    assert isinstance(out, torch.Tensor) and out.dtype == q.dtype and out.shape == want.shape
    assert rel_err(out.double(), want) <= TOL[dtype]
    finite = torch.isfinite(want_lse)
    assert torch.equal(torch.isfinite(lse), finite)
    assert rel_err(lse.double()[finite], want_lse[finite]) <= max(TOL[dtype], 1e-6 if dtype != "float64" else 1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mask_kind", ["bool", "float"])
@pytest.mark.parametrize("mask_shape", ["full", "rows", "keys", "per_head", "2d"])
def test_masks_broadcast(dtype, mask_kind, mask_shape):
    gen = torch.Generator().manual_seed(7)
    B, H, L, S, E = 2, 3, 9, 11, 8
    q, k, v = tensor((B, H, L, E), dtype, gen), tensor((B, H, S, E), dtype, gen), tensor((B, H, S, E), dtype, gen)
    shape = {"full": (B, H, L, S), "rows": (B, H, L, 1), "keys": (B, 1, 1, S), "per_head": (1, H, L, S),
             "2d": (L, S)}[mask_shape]
    if mask_kind == "bool":
        mask = torch.rand(*shape, generator=gen) < 0.7
    else:
        mask = torch.randn(*shape, generator=gen, dtype=torch.float64).to(getattr(torch, dtype))
    out = moa.attention(q, k, v, attn_mask=mask)
    want, _ = reference(q, k, v, mask=mask)
    assert rel_err(out, want) <= TOL[dtype]


def test_fully_masked_rows_give_zero_and_minus_inf_lse():
    gen = torch.Generator().manual_seed(3)
    q, k, v = tensor((1, 2, 4, 8), "float64", gen), tensor((1, 2, 6, 8), "float64", gen), tensor((1, 2, 6, 8), "float64", gen)
    mask = torch.ones(4, 6, dtype=torch.bool)
    mask[1] = False
    out, lse = moa.attention(q, k, v, attn_mask=mask, return_lse=True)
    assert torch.all(out[:, :, 1] == 0) and not torch.isnan(out).any()
    assert torch.all(lse[:, :, 1] == float("-inf"))
    want, _ = reference(q, k, v, mask=mask)
    assert rel_err(out, want) <= 1e-12


@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
def test_gqa(dtype):
    gen = torch.Generator().manual_seed(5)
    q = tensor((2, 8, 13, 16), dtype, gen)
    k, v = tensor((2, 2, 17, 16), dtype, gen), tensor((2, 2, 17, 12), dtype, gen)
    out = moa.attention(q, k, v, enable_gqa=True, is_causal=True)
    want, _ = reference(q, k, v, causal="top_left", gqa=True)
    assert rel_err(out.double(), want) <= TOL[dtype]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_numpy_in_numpy_out_and_transposed_views(dtype):
    rng = np.random.default_rng(11)
    B, L, H, E = 2, 10, 3, 8
    # BSHD memory viewed as BHSD: non-contiguous strides, no copy needed.
    q = rng.standard_normal((B, L, H, E)).astype(dtype).transpose(0, 2, 1, 3)
    k = rng.standard_normal((B, 12, H, E)).astype(dtype).transpose(0, 2, 1, 3)
    v = rng.standard_normal((B, 12, H, E)).astype(dtype).transpose(0, 2, 1, 3)
    out = moa.attention(q, k, v, scale=0.3)
    assert isinstance(out, np.ndarray) and out.dtype == np.dtype(dtype)
    want, _ = reference(torch.from_numpy(np.ascontiguousarray(q)), torch.from_numpy(np.ascontiguousarray(k)),
                        torch.from_numpy(np.ascontiguousarray(v)), scale=0.3)
    assert rel_err(out, want) <= TOL[dtype]
    # A transposed view of key as the spec would write it: k.T of a (E, S) array.
    kt = np.ascontiguousarray(rng.standard_normal((E, 12)).astype(dtype)).T
    q2 = rng.standard_normal((5, E)).astype(dtype)
    v2 = rng.standard_normal((12, 4)).astype(dtype)
    want2, _ = reference(torch.from_numpy(q2), torch.from_numpy(np.ascontiguousarray(kt)), torch.from_numpy(v2))
    assert rel_err(moa.attention(q2, kt, v2), want2) <= TOL[dtype]


def test_numpy_callers_do_not_import_torch():
    # A fresh interpreter: importing torch takes seconds, and NumPy input never needs it.
    code = ("import sys, numpy as np, moa; x = np.ones((1, 2, 3, 4), np.float32); "
            "out = moa.attention(x, x, x); "
            "assert out.shape == (1, 2, 3, 4) and np.allclose(out, 1); "
            "assert 'torch' not in sys.modules, 'moa.attention imported torch'")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_numpy_bfloat16_route():
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((2, 9, 16)).astype(np.float32) for _ in range(3))
    out = moa.attention(moa.bfloat16(q), moa.bfloat16(k), moa.bfloat16(v))
    assert isinstance(out, moa.BFloat16)
    qb, kb, vb = (torch.from_numpy(moa.bfloat16(x).to_float32()) for x in (q, k, v))
    want, _ = reference(qb, kb, vb)
    assert rel_err(out.to_float32(), want) <= TOL["bfloat16"]


def test_same_result_with_one_and_two_threads():
    gen = torch.Generator().manual_seed(9)
    q, k, v = tensor((2, 2, 70, 32), "float32", gen), tensor((2, 2, 90, 32), "float32", gen), tensor((2, 2, 90, 32), "float32", gen)
    a = moa.attention(q, k, v, num_threads=1)
    b = moa.attention(q, k, v, num_threads=2)
    assert torch.equal(a, b)


@pytest.mark.parametrize("blocks", [(64, 32), (128, 96), (512, 512)])
def test_given_blocks_match_the_reference(blocks):
    gen = torch.Generator().manual_seed(3)
    q, k, v = tensor((1, 2, 130, 16), "float64", gen), tensor((1, 2, 301, 16), "float64", gen), tensor((1, 2, 301, 16), "float64", gen)
    want, _ = reference(q, k, v)
    assert rel_err(moa.attention(q, k, v, blocks=blocks), want) <= TOL["float64"]


@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
@pytest.mark.parametrize("kv_splits", [None, 1, 3])
def test_decoding_one_token_with_split_keys(dtype, kv_splits):
    # One query per head against a long cache (the few-query path), GQA, a bottom-right causal
    # limit (the token sees every key), keys split into ranges whose states are combined.
    gen = torch.Generator().manual_seed(4)
    q = tensor((2, 8, 1, 64), dtype, gen)
    k, v = tensor((2, 2, 1000, 64), dtype, gen), tensor((2, 2, 1000, 48), dtype, gen)
    out, lse = moa.attention(q, k, v, enable_gqa=True, is_causal=True,
                             causal_alignment="bottom_right", kv_splits=kv_splits, return_lse=True)
    want, want_lse = reference(q, k, v, causal="bottom_right", gqa=True)
    assert rel_err(out.double(), want) <= TOL[dtype]
    assert rel_err(lse.double(), want_lse) <= TOL[dtype]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("queries", [1, 5, 200])
def test_nan_in_a_query_gives_its_row_nan(dtype, queries):
    """A NaN query row is NaN out (LSE too), as in PyTorch, never a fully masked row's 0 and -inf;
    1 and 5 queries take the decoding path, 200 the tiles."""
    gen = np.random.default_rng(3)
    q = gen.uniform(-1.5, 1.5, (1, 2, queries, 16)).astype(dtype)
    k = gen.uniform(-1.5, 1.5, (1, 2, 300, 16)).astype(dtype)
    v = gen.uniform(-1, 1, (1, 2, 300, 8)).astype(dtype)
    q[0, 1, queries // 2, 3] = np.nan
    out, lse = moa.attention(q, k, v, return_lse=True)
    want = np.zeros((1, 2, queries), dtype=bool)
    want[0, 1, queries // 2] = True
    assert np.array_equal(np.isnan(out).all(-1), want)
    assert np.array_equal(np.isnan(out).any(-1), want)
    assert np.array_equal(np.isnan(lse), want)
