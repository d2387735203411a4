"""moa's attention has no backward: on tensors that require grad with grad mode on it raises
(instead of returning an output with no grad_fn, which a training loop would use without
learning anything); under torch.no_grad() or on detached tensors it runs."""
import pytest
import torch

import moa


def reference(q, k, v):
    """softmax(q k^T / sqrt(E)) v (torch 1.13, Debian's, has no scaled_dot_product_attention)."""
    return torch.softmax(q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5, dim=-1) @ v


def qkv(requires_grad=()):
    torch.manual_seed(0)
    q, k, v = (torch.randn(1, 2, 5, 8) for _ in range(3))
    named = {"query": q, "key": k, "value": v}
    for name in requires_grad:
        named[name].requires_grad_(True)
    return q, k, v


@pytest.mark.parametrize("name", ["query", "key", "value"])
def test_requires_grad_raises_naming_the_argument(name):
    q, k, v = qkv([name])
    with pytest.raises(RuntimeError, match=f"^{name}: requires_grad=True, but moa's attention has no backward.*torch.no_grad"):
        moa.attention(q, k, v)


def test_a_mask_that_requires_grad_raises_too():
    q, k, v = qkv()
    bias = torch.zeros(5, 5, requires_grad=True)
    with pytest.raises(RuntimeError, match="^attn_mask: requires_grad=True"):
        moa.attention(q, k, v, attn_mask=bias)


def test_a_non_leaf_tensor_raises():
    q, k, v = qkv(["query"])
    with pytest.raises(RuntimeError, match="^query: requires_grad=True"):
        moa.attention(q * 2, k, v)


def test_inference_under_no_grad_or_detached_works():
    q, k, v = qkv(["query", "key", "value"])
    want = reference(q.detach(), k.detach(), v.detach())
    with torch.no_grad():
        got = moa.attention(q, k, v)
    assert got.grad_fn is None and torch.allclose(got, want, atol=1e-5)
    got = moa.attention(q.detach(), k.detach(), v.detach())
    assert torch.allclose(got, want, atol=1e-5)
    with torch.inference_mode():
        assert torch.allclose(moa.attention(*qkv()), want, atol=1e-5)


def test_tensors_without_grad_work_with_grad_mode_on():
    q, k, v = qkv()
    assert torch.is_grad_enabled()
    want = reference(q, k, v)
    assert torch.allclose(moa.attention(q, k, v), want, atol=1e-5)
