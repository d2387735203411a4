import torch
from jaxtyping import Float
from torch import Tensor


def example3_take_reverse_drop(a: Float[Tensor, "3 5 4"]) -> Float[Tensor, "2 5 4"]:
    """MOA_RULES.md worked example 3: X = (2 take reverse A) * (1 drop reverse A)."""
    return a.flip(0)[:2] * a.flip(0)[1:]
