import math

import torch
from jaxtyping import Float
from torch import Tensor


def example5_attention(q: Float[Tensor, "n dk"], k: Float[Tensor, "n dk"],
                       v: Float[Tensor, "n dv"]) -> Float[Tensor, "n dv"]:
    """MOA_RULES.md worked example 5: attention, O = softmax(Q K^T / sqrt(dk)) V."""
    scores = q @ k.T / math.sqrt(q.size(-1))
    return torch.softmax(scores, dim=-1) @ v
