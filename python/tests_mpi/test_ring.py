"""moa.ring_attention against PyTorch in float64, on the ranks mpiexec starts (CTest: 1, 2, 3).

Every rank builds the same global tensors from one seed, passes its shard, and checks its rows of
the output against the float64 reference of the whole problem. Each test makes all its collective
calls before its first assert, so that a failure on one rank cannot leave the others waiting.
Run: mpiexec -n 2 python3 -m pytest -q python/tests_mpi
"""
import numpy as np
import pytest
import torch
from mpi4py import MPI

import moa
from test_attention import TOL, reference, rel_err, tensor

COMM = MPI.COMM_WORLD
RANK, RANKS = COMM.Get_rank(), COMM.Get_size()


def shard_rows(total, sharding):
    """This rank's global rows: contiguous (even, the first ranks one longer) or zigzag."""
    if sharding == "contiguous":
        base, extra = divmod(total, RANKS)
        begin = RANK * base + min(RANK, extra)
        return list(range(begin, begin + base + (RANK < extra)))
    base, extra = divmod(total, 2 * RANKS)
    rows = []
    for c in (RANK, 2 * RANKS - 1 - RANK):
        begin = c * base + min(c, extra)
        rows += range(begin, begin + base + (c < extra))
    return rows


@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
@pytest.mark.parametrize("sharding", ["contiguous", "zigzag"])
@pytest.mark.parametrize("causal", [None, "top_left", "bottom_right"])
@pytest.mark.parametrize("L,S", [(23, 23), (13, 41)])
def test_matches_torch(dtype, sharding, causal, L, S):
    gen = torch.Generator().manual_seed(7)
    q = tensor((2, 4, L, 16), dtype, gen)
    k, v = tensor((2, 2, S, 16), dtype, gen), tensor((2, 2, S, 12), dtype, gen)
    qr, kr = shard_rows(L, sharding), shard_rows(S, sharding)
    out, lse = moa.ring_attention(q[:, :, qr], k[:, :, kr], v[:, :, kr],
                                  is_causal=causal is not None, enable_gqa=True,
                                  sharding=sharding, return_lse=True,
                                  causal_alignment=causal or "top_left", num_threads=1)
    want, want_lse = reference(q, k, v, causal=causal, gqa=True)
    assert out.dtype == q.dtype and out.shape == (2, 4, len(qr), 12)
    assert rel_err(out.double(), want[:, :, qr]) <= TOL[dtype]
    assert rel_err(lse, want_lse[:, :, qr]) <= TOL[dtype]


@pytest.mark.parametrize("kind", ["bool", "additive"])
@pytest.mark.parametrize("shape", ["rows", "keys"])
def test_mask_over_all_keys(kind, shape):
    """The mask holds this rank's query rows over every key of the global sequence."""
    L, S = 19, 30
    gen = torch.Generator().manual_seed(3)
    q, k, v = (tensor((1, 2, n, 8), "float64", gen) for n in (L, S, S))
    rows = L if shape == "rows" else 1
    mask = (torch.rand(rows, S, generator=gen) < 0.7 if kind == "bool"
            else torch.randn(rows, S, generator=gen, dtype=torch.float64))
    qr, kr = shard_rows(L, "contiguous"), shard_rows(S, "contiguous")
    out = moa.ring_attention(q[:, :, qr], k[:, :, kr], v[:, :, kr],
                             attn_mask=mask[qr] if shape == "rows" else mask)
    want, _ = reference(q, k, v, mask=mask)
    assert rel_err(out, want[:, :, qr]) <= TOL["float64"]


def test_numpy_in_numpy_out():
    gen = torch.Generator().manual_seed(5)
    q, k, v = (tensor((3, 17, 8), "float32", gen) for _ in range(3))
    rows = shard_rows(17, "zigzag")
    out = moa.ring_attention(q[:, rows].numpy(), k[:, rows].numpy(), v[:, rows].numpy(),
                             is_causal=True, sharding="zigzag")
    want, _ = reference(q, k, v, causal="top_left")
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert rel_err(out, want[:, rows]) <= TOL["float32"]


@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
@pytest.mark.parametrize("causal", [None, "top_left", "bottom_right"])
@pytest.mark.parametrize("L", [1, 5])
def test_split_kv_matches_torch_with_the_same_bits_on_every_rank(dtype, causal, L):
    S = 61
    gen = torch.Generator().manual_seed(11)
    q = tensor((2, 4, L, 16), dtype, gen)
    k, v = tensor((2, 2, S, 16), dtype, gen), tensor((2, 2, S, 8), dtype, gen)
    rows = shard_rows(S, "contiguous")
    out, lse = moa.split_kv_attention(q, k[:, :, rows], v[:, :, rows], enable_gqa=True,
                                      is_causal=causal is not None, return_lse=True,
                                      causal_alignment=causal or "top_left")
    outs = COMM.allgather(out.view(torch.int16).numpy().tobytes() if dtype == "bfloat16"
                          else out.numpy().tobytes())
    want, want_lse = reference(q, k, v, causal=causal, gqa=True)
    assert all(o == outs[0] for o in outs)
    assert out.shape == (2, 4, L, 8)
    assert rel_err(out.double(), want) <= TOL[dtype]
    finite = torch.isfinite(want_lse)
    assert torch.equal(torch.isfinite(lse), finite)
    assert rel_err(lse[finite], want_lse[finite]) <= TOL[dtype]


@pytest.mark.skipif(RANKS < 2, reason="one rank has no other to disagree with")
def test_split_kv_needs_the_same_queries_length_on_every_rank():
    q = np.zeros((2, 5 if RANK == 0 else 4, 8), np.float32)
    kv = np.zeros((2, 3, 8), np.float32)
    error, everywhere = raised(lambda: moa.split_kv_attention(q, kv, kv))
    assert everywhere
    assert "same seq of 'q' on every rank" in str(error)


def raised(call):
    """The exception a collective call raised on this rank, and whether every rank raised."""
    try:
        call()
        error = None
    except (TypeError, ValueError) as e:
        error = e
    return error, COMM.allreduce(error is not None, op=MPI.LAND)


def test_a_bad_argument_on_one_rank_raises_on_every_rank():
    q = np.zeros((2, 5, 8), np.float32)
    last = RANKS - 1
    error, everywhere = raised(lambda: moa.ring_attention(
        q, q, q, dropout_p=0.5 if RANK == last else 0.0))
    assert everywhere
    assert "dropout" in str(error)
    if RANK != last:
        assert f"rank {last}" in str(error)


def test_an_out_of_range_count_on_one_rank_raises_on_every_rank():
    """Checked in Python, before the agreement: the extension's int parameters would refuse it
    only after, with the other ranks already waiting in the ring."""
    q = np.zeros((2, 5, 8), np.float32)
    last = RANKS - 1
    error, everywhere = raised(lambda: moa.ring_attention(
        q, q, q, num_threads=2**31 if RANK == last else 1))
    assert everywhere
    assert f"num_threads must be below {2**31}" in str(error)


def test_a_field_of_a_structured_array_is_read_through_a_copy():
    """Strides that are not whole elements (a float32 field beside a byte) are copied first, on
    the one rank that has them, rather than refused there alone."""
    gen = torch.Generator().manual_seed(2)
    q, k, v = (tensor((2, 12, 8), "float32", gen) for _ in range(3))
    rows = shard_rows(12, "contiguous")
    shard = q[:, rows].numpy()
    if RANK == 0:
        packed = np.zeros(shard.shape, dtype=[("a", "f4"), ("b", "u1")])
        packed["a"] = shard
        shard = packed["a"]
        assert shard.strides[-1] == 5
    out = moa.ring_attention(shard, k[:, rows].numpy(), v[:, rows].numpy())
    want, _ = reference(q, k, v)
    assert rel_err(out, want[:, rows]) <= TOL["float32"]


@pytest.mark.skipif(RANKS < 2, reason="one rank has no other to disagree with")
def test_shards_that_disagree_raise_on_every_rank():
    q = np.zeros((2, 5, 8), np.float32)
    wide = np.zeros((2, 5, 16), np.float32)
    error, everywhere = raised(lambda: moa.ring_attention(
        wide if RANK == 0 else q, wide if RANK == 0 else q, q))
    assert everywhere
    assert "same dim of 'q' on every rank" in str(error)


def test_arguments_checked_in_python():
    with pytest.raises(ValueError, match="sharding must be 'contiguous' or 'zigzag'"):
        moa.ring_attention(np.zeros((4, 8)), np.zeros((4, 8)), np.zeros((4, 8)), sharding="ring")
    with pytest.raises(TypeError, match="comm: expected an mpi4py communicator"):
        moa.ring_attention(np.zeros((4, 8)), np.zeros((4, 8)), np.zeros((4, 8)), comm=3)
    with pytest.raises(ValueError, match="comm: expected a communicator, got MPI.COMM_NULL"):
        moa.ring_attention(np.zeros((4, 8)), np.zeros((4, 8)), np.zeros((4, 8)),
                           comm=MPI.COMM_NULL)
