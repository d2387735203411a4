"""Every public function refuses arguments of the wrong type with an error naming the Python
argument (never a pybind11 "incompatible function arguments" dump, never a silent coercion:
is_causal="no" turned causal on, scale="2" was read as 2.0, complex inputs lost their imaginary
part), and sizes too large for the machine are a ValueError, not MemoryError."""
import numpy as np
import pytest
import torch

import moa

QKV = [np.zeros(s) for s in ((2, 8), (3, 8), (3, 8))]


@pytest.mark.parametrize("name", ["is_causal", "enable_gqa", "return_lse"])
@pytest.mark.parametrize("value", ["no", "", 1, 0, 0.5, None, [True]])
def test_bool_arguments_take_only_bools(name, value):
    with pytest.raises(TypeError, match=f"^{name}: expected a bool"):
        moa.attention(*QKV, **{name: value})


def test_bool_arguments_take_numpy_bools():
    got = moa.attention(*QKV, is_causal=np.bool_(True), enable_gqa=np.bool_(False))
    assert np.array_equal(got, moa.attention(*QKV, is_causal=True))


@pytest.mark.parametrize("value", ["2", b"2", True, 1j, [2.0], np.array([2.0])])
def test_scale_takes_only_real_numbers(value):
    with pytest.raises(TypeError, match="^scale: expected a real number"):
        moa.attention(*QKV, scale=value)


def test_scale_takes_ints_and_numpy_floats():
    want = moa.attention(*QKV, scale=2.0)
    assert np.array_equal(moa.attention(*QKV, scale=2), want)
    assert np.array_equal(moa.attention(*QKV, scale=np.float32(2)), want)


@pytest.mark.parametrize("value", ["0", None, False])
def test_dropout_p_takes_only_real_numbers(value):
    with pytest.raises(TypeError, match="^dropout_p: expected a real number"):
        moa.attention(*QKV, dropout_p=value)


def test_string_choices_refuse_other_types():
    with pytest.raises(ValueError, match="causal_alignment"):
        moa.attention(*QKV, causal_alignment=["top_left"])


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128, object])
def test_attention_refuses_complex_and_object_arrays(dtype):
    for name, position in (("query", 0), ("key", 1), ("value", 2)):
        args = list(QKV)
        args[position] = args[position].astype(dtype)
        with pytest.raises(TypeError, match=f"^{name}: unsupported dtype"):
            moa.attention(*args)
    with pytest.raises(TypeError, match="^attn_mask: unsupported dtype"):
        moa.attention(*QKV, attn_mask=np.zeros((2, 3), dtype=dtype))


def test_attention_refuses_complex_tensors():
    with pytest.raises(TypeError, match="^query: unsupported dtype torch.complex64"):
        moa.attention(torch.zeros(2, 8, dtype=torch.complex64), torch.zeros(3, 8), torch.zeros(3, 8))


def test_bfloat16_refuses_complex_and_text():
    with pytest.raises(TypeError, match="^array: expected real numbers"):
        moa.bfloat16(np.ones(4, dtype=np.complex64))
    with pytest.raises(TypeError, match="^array: expected real numbers"):
        moa.bfloat16(np.array(["1.0"]))


SPEC = '''import math
import torch
def attention(q: "n dk", k: "m dk", v: "m dv"):
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1) @ v
'''


@pytest.mark.parametrize("value", [np.ones((2, 3), dtype=np.complex128), torch.ones(2, 3, dtype=torch.complex64)])
def test_run_refuses_complex_inputs(value):
    with pytest.raises(TypeError, match="^q: complex values are not supported"):
        moa.run(SPEC, q=value, k=np.ones((4, 3)), v=np.ones((4, 2)))


@pytest.mark.parametrize("value", [np.array([["a", "b"]]), np.array([[None, 1.0]], dtype=object)])
def test_run_refuses_text_and_object_inputs(value):
    with pytest.raises(TypeError, match="^q: expected an array of real numbers or bools"):
        moa.run(SPEC, q=value, k=np.ones((4, 2)), v=np.ones((4, 2)))


def test_run_checks_bool_arguments_against_the_spec():
    q, k, v = np.ones((2, 3)), np.ones((4, 3)), np.ones((4, 2))
    with pytest.raises(ValueError, match="^mask: masked_attention's argument 'mask' is Bool: expected a bool array, got float64"):
        moa.run(moa.derive(builtin="masked_attention"), q=q, k=k, v=v, mask=np.ones((2, 4)))
    with pytest.raises(ValueError, match="^q: masked_attention's argument 'q' is real: .* got bool"):
        moa.run(moa.derive(builtin="masked_attention"), q=q > 0, k=k, v=v, mask=np.ones((2, 4), bool))
    out = moa.run(moa.derive(builtin="masked_attention"), q=q, k=k, v=v, mask=torch.ones(2, 4, dtype=torch.bool))
    assert out.shape == (2, 2)


@pytest.mark.parametrize("sizes, error, message", [
    ({"n": 2.0}, TypeError, r"^sizes\['n'\]: expected an int, got float 2.0"),
    ({"n": True}, TypeError, r"^sizes\['n'\]: expected an int, got bool"),
    ({"n": -1}, ValueError, r"^sizes\['n'\]: expected a size >= 0"),
    ({"n": 2**63}, ValueError, r"^sizes\['n'\]: expected a size >= 0 \(below 2\*\*63\)"),
    ({3: 2}, TypeError, r"^sizes: expected size names \(str\) as keys"),
    ([("n", 2)], TypeError, r"^sizes: expected a dict"),
    ({"zz": 2}, ValueError, r"^sizes\['zz'\] = 2: the spec has no size 'zz'"),
    ({"n": 2}, ValueError, r"^sizes without a value: give them with sizes=\{'dk': 8, 'm': 8, 'dv': 8\}"),
])
def test_run_checks_sizes_and_names_them_as_python_does(sizes, error, message):
    with pytest.raises(error, match=message):
        moa.run(SPEC, sizes=sizes)


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (2**64, ValueError), (1.5, TypeError),
                                         ("3", TypeError), (True, TypeError)])
def test_run_checks_the_seed(seed, error):
    with pytest.raises(error, match="^seed: expected an int"):
        moa.run(SPEC, sizes={"n": 2, "m": 2, "dk": 2, "dv": 2}, seed=seed)


def test_run_takes_numpy_integer_sizes_and_seeds():
    a = moa.run(SPEC, sizes={"n": np.int64(2), "m": 3, "dk": 2, "dv": 2}, seed=np.uint64(2**64 - 1))
    assert a.shape == (2, 2)


@pytest.mark.parametrize("lift, error, message", [
    (True, TypeError, "lift: expected"), ((2, 2.0), TypeError, "lift: expected"),
    ((2, True), TypeError, "lift: expected"), ((2, 2**63), ValueError, "lift: .* below 2\\*\\*63"),
])
def test_lift_takes_only_ints_in_range(lift, error, message):
    with pytest.raises(error, match=message):
        moa.derive(SPEC, lift=lift)


def test_lift_takes_numpy_integers():
    assert "o_tile" in moa.derive(SPEC, lift=(np.int64(2), 3)).lifted_onf


def test_derive_checks_steps_and_builtin():
    with pytest.raises(TypeError, match="^steps: expected a bool"):
        moa.derive(SPEC, steps="yes")
    with pytest.raises(TypeError, match="^builtin: expected a built-in spec's name"):
        moa.derive(builtin=3)


def test_sizes_too_large_for_the_machine_are_a_value_error_not_memory_error():
    with pytest.raises(ValueError, match="^sizes dk=8, dv=8, m=8, n=1000000000000: .* more than this machine's memory"):
        moa.run(SPEC, sizes={"n": 10**12, "m": 8, "dk": 8, "dv": 8})
    with pytest.raises(ValueError, match="more than this machine's memory"):
        moa.run(SPEC, sizes={"n": 4, "m": 4, "dk": 2, "dv": 2}, lift=(10**12, 10**12))
    with pytest.raises(ValueError, match="need more than 2\\^63 bytes"):
        moa.run(SPEC, sizes={"n": 2**40, "m": 8, "dk": 2**40, "dv": 8})
