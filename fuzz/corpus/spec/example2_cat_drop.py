import torch
from jaxtyping import Float
from torch import Tensor


def example2_cat_drop(b: Float[Tensor, "2 4"], c: Float[Tensor, "4 6"]) -> Float[Tensor, "5 4"]:
    """MOA_RULES.md worked example 2: A = B ++ (<1 2> drop C)."""
    return torch.cat([b, c[1:, 2:]])
