"""moa.attention against PyTorch at extreme magnitudes (issue 21, class 1); a few seconds.

Random small problems whose scores span 1e-30 to 1e30 (and on to the dtype's range), with
additive masks holding -inf, the dtype's lowest value (Hugging Face padding masks), huge finite
values and whole rows very negative, and values v near the dtype's largest. The reference is
PyTorch's math path, torch.softmax(q @ k.T * scale + mask, -1) @ v with torch.logsumexp, in the
same dtype for float64 and float32; bfloat16 inputs are upcast to float32 first, since moa's
bfloat16 kernels form the scores, add the mask and take the softmax in float32 (PyTorch rounding
each of those steps to bfloat16 would answer a different question). q and k hold small integers
times powers of two and the scale is a power of two, so both sides see the same scores exactly.

Wherever PyTorch's output and LSE are finite, moa's equal them within the dtype's tolerance; where
PyTorch's are NaN (a +inf score), moa's are NaN too. A row whose every score is -inf is moa's fully
masked row (0 and LSE -inf), where PyTorch gives NaN.
"""
import math

import numpy as np
import pytest
import torch

import moa

TOL = {torch.float64: 1e-12, torch.float32: 1e-5, torch.bfloat16: 2e-2}
# Largest binary exponent of a finite value, and the range of the score exponents drawn.
MAX_EXP = {torch.float64: 1023, torch.float32: 127, torch.bfloat16: 127}
SCORE_EXP = {torch.float64: (-900, 900), torch.float32: (-100, 118), torch.bfloat16: (-100, 118)}
PROBLEMS = 120  # per dtype


def make_problem(rng, dtype, mask_dtype):
    """q, k, v, mask (or None; values of dtype held in mask_dtype) and scale, every score exact."""
    heads = int(rng.integers(1, 3))
    L = int(rng.choice([1, 2, 5, 20, 70]))
    S = int(rng.choice([1, 3, 17, 40, 100]))
    E, Ev = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    lo, hi = SCORE_EXP[dtype]
    e = int(rng.integers(-4, 5)) if rng.random() < 0.2 else int(rng.integers(lo, hi + 1))
    scale_max = 300 if dtype == torch.float64 else 40
    es = 0 if rng.random() < 0.3 else int(rng.integers(max(-scale_max, e - hi),
                                                       min(scale_max, e + hi) + 1))
    eq = (e - es) // 2
    ek = e - es - eq

    def ints(shape, a, b, exp):
        return torch.from_numpy(np.ldexp(rng.integers(a, b + 1, shape).astype(np.float64), exp))

    q = ints((heads, L, E), -3, 3, eq).to(dtype)
    k = ints((heads, S, E), -3, 3, ek).to(dtype)
    if rng.random() < 0.25:  # near the largest finite value: 8-bit integers times 2^(max - 7)
        v = ints((heads, S, Ev), 128, 250, MAX_EXP[dtype] - 7)
        v = (v * torch.from_numpy(rng.choice([-1.0, 1.0], (heads, S, Ev)))).to(dtype)
    else:
        v = ints((heads, S, Ev), -8, 8, int(rng.integers(-4, 5))).to(dtype)
    mask = None
    if rng.random() < 0.6:
        info = torch.finfo(dtype)
        huge = math.ldexp(1.0, MAX_EXP[dtype] - 8)
        m = np.zeros((heads, L, S))
        for h in range(heads):
            for i in range(L):
                kind = rng.integers(0, 10)
                if kind == 0:
                    m[h, i] = -np.inf
                elif kind == 1:
                    m[h, i] = info.min
                elif kind == 2:
                    m[h, i] = -1e10
                else:
                    pick = rng.integers(0, 100, S)
                    m[h, i] = np.select(
                        [pick < 55, pick < 67, pick < 75, pick < 83, pick < 91, pick < 99],
                        [0.0, np.ldexp(rng.integers(-3, 4, S).astype(np.float64), e), -np.inf,
                         info.min, -huge * rng.integers(1, 8, S) / 8,
                         huge * rng.integers(1, 8, S) / 8], np.inf)
        mask = torch.from_numpy(m).to(dtype).to(mask_dtype)
    return q, k, v, mask, math.ldexp(1.0, es)


def pytorch(q, k, v, mask, scale):
    """The math path (same dtype; bfloat16 upcast to float32, see the module's docstring)."""
    if q.dtype == torch.bfloat16:
        q, k, v = q.float(), k.float(), v.float()
        mask = None if mask is None else mask.float()
    s = q @ k.transpose(-2, -1) * scale
    if mask is not None:
        s = s + mask
    return torch.softmax(s, -1) @ v, torch.logsumexp(s, -1), s


@pytest.mark.parametrize("dtype, mask_dtype", [
    (torch.float64, torch.float64), (torch.float32, torch.float32),
    (torch.bfloat16, torch.float32),
    (torch.bfloat16, torch.bfloat16)])
def test_extreme_magnitudes_match_pytorch(dtype, mask_dtype):
    rng = np.random.default_rng(21)
    tol = TOL[dtype]
    for n in range(PROBLEMS):
        q, k, v, mask, scale = make_problem(rng, dtype, mask_dtype)
        # Blocks given (the cost model's choice costs ~40 ms per new shape); every other problem
        # with its keys split in 3 ranges (split-KV), combined exactly.
        out, lse = moa.attention(q, k, v, attn_mask=mask, scale=scale, return_lse=True,
                                 num_threads=1, blocks=(64, 32), kv_splits=1 + 2 * (n % 2))
        want, want_lse, s = pytorch(q, k, v, mask, scale)
        out, lse = out.double(), lse.double()
        want, want_lse = want.double(), want_lse.double()
        vmax = v.double().abs().max().item()
        masked = torch.isneginf(s).all(-1)  # every score -inf: moa's fully masked row
        where = f"problem {n}: q {tuple(q.shape)} k {tuple(k.shape)} scale 2^{math.log2(scale):g}"
        assert torch.all(out[masked] == 0), where
        assert torch.all(torch.isneginf(lse[masked])), where
        nan = torch.isnan(want).any(-1) & ~masked
        assert torch.equal(torch.isnan(out).all(-1) & nan, nan), where + ": NaN rows"
        assert torch.isnan(lse[nan]).all(), where  # PyTorch's logsumexp says +inf there
        finite = ~masked & ~nan
        assert torch.isfinite(want[finite]).all(), where  # the problems avoid PyTorch overflow
        assert torch.isfinite(out[finite]).all(), where + ": moa not finite where PyTorch is"
        err = (out[finite] - want[finite]).abs().max().item() if finite.any() else 0.0
        assert err <= tol * vmax, f"{where}: output error {err} vs |v| up to {vmax}"
        lerr = ((lse[finite] - want_lse[finite]).abs() /
                want_lse[finite].abs().clamp(min=1.0)).max().item() if finite.any() else 0.0
        assert lerr <= tol, f"{where}: LSE error {lerr}"
