import torch
from jaxtyping import Float
from torch import Tensor


def example1_transpose(k: Float[Tensor, "n d"]) -> Float[Tensor, "d n"]:
    """MOA_RULES.md worked example 1: the transpose of K, which the DNF never materialises."""
    return k.T
