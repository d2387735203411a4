import math

import torch
from jaxtyping import Float
from torch import Tensor


def attention_stable(q: Float[Tensor, "n dk"], k: Float[Tensor, "m dk"],
                     v: Float[Tensor, "m dv"]) -> Float[Tensor, "n dv"]:
    """Attention with the numerically stable softmax spelled out by hand."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    shifted = scores - scores.amax(dim=-1, keepdim=True)
    weights = torch.exp(shifted)
    p = weights / weights.sum(dim=-1, keepdim=True)
    return p @ v
