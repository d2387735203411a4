"""Bad calls raise the right Python exception with a message naming the argument."""
import numpy as np
import pytest
import torch

import moa


def arrays(*shapes, dtype=np.float64):
    return [np.zeros(s, dtype=dtype) for s in shapes]


def test_wrong_rank():
    q, k, v = arrays((4,), (3, 4), (3, 4))
    with pytest.raises(ValueError, match="query"):
        moa.attention(q, k, v)


def test_mismatched_heads_without_gqa():
    q, k, v = arrays((1, 4, 2, 8), (1, 3, 5, 8), (1, 3, 5, 8))
    with pytest.raises(ValueError, match="leading dimensions do not broadcast"):
        moa.attention(q, k, v)


def test_gqa_heads_not_a_multiple():
    q, k, v = arrays((1, 4, 2, 8), (1, 3, 5, 8), (1, 3, 5, 8))
    with pytest.raises(ValueError, match="multiple of key/value heads"):
        moa.attention(q, k, v, enable_gqa=True)


def test_head_dim_mismatch():
    q, k, v = arrays((2, 8), (3, 7), (3, 7))
    with pytest.raises(ValueError, match="key: last dimension 7 must equal query's 8"):
        moa.attention(q, k, v)


def test_mask_of_a_wrong_shape():
    q, k, v = arrays((2, 8), (3, 8), (3, 8))
    with pytest.raises(ValueError, match="attn_mask"):
        moa.attention(q, k, v, attn_mask=np.ones((2, 4), dtype=bool))


def test_unsupported_dtype():
    q, k, v = arrays((2, 8), (3, 8), (3, 8), dtype=np.int32)
    with pytest.raises(TypeError, match="query: unsupported dtype int32"):
        moa.attention(q, k, v)
    with pytest.raises(TypeError, match="one dtype"):
        moa.attention(np.zeros((2, 8)), np.zeros((3, 8), np.float32), np.zeros((3, 8)))


def test_non_array_input():
    with pytest.raises(TypeError, match="key: expected a NumPy array or a torch tensor, got list"):
        moa.attention(np.zeros((2, 8)), [[0.0] * 8], np.zeros((1, 8)))


def test_dropout_is_refused():
    q, k, v = arrays((2, 8), (3, 8), (3, 8))
    with pytest.raises(ValueError, match="dropout"):
        moa.attention(q, k, v, dropout_p=0.1)


def test_bad_alignment_and_threads():
    q, k, v = arrays((2, 8), (3, 8), (3, 8))
    with pytest.raises(ValueError, match="causal_alignment"):
        moa.attention(q, k, v, is_causal=True, causal_alignment="middle")
    with pytest.raises(ValueError, match="num_threads"):
        moa.attention(q, k, v, num_threads=0)
    with pytest.raises(ValueError, match="blocks must be a tuple"):
        moa.attention(q, k, v, blocks=64)
    with pytest.raises(ValueError, match="kv_splits must be a positive int, got 0"):
        moa.attention(q, k, v, kv_splits=0)
    with pytest.raises(ValueError, match="block_k.*multiple of 32.*got 40"):
        moa.attention(q, k, v, blocks=(64, 40))


def test_integer_arguments_take_numpy_integers_but_not_bools():
    q, k, v = arrays((2, 8), (3, 8), (3, 8))
    want = moa.attention(q, k, v)
    got = moa.attention(q, k, v, num_threads=np.int64(1), blocks=(np.int32(64), np.int64(32)),
                        kv_splits=np.uint8(1))
    assert np.array_equal(got, want)
    with pytest.raises(ValueError, match="num_threads must be a positive int, got True"):
        moa.attention(q, k, v, num_threads=True)
    with pytest.raises(ValueError, match="kv_splits must be a positive int, got False"):
        moa.attention(q, k, v, kv_splits=False)
    with pytest.raises(ValueError, match="blocks must be a tuple"):
        moa.attention(q, k, v, blocks=(64.0, 32))
