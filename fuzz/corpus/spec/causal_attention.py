import math

import torch
from jaxtyping import Float
from torch import Tensor


def causal_attention(q: Float[Tensor, "n dk"], k: Float[Tensor, "m dk"],
                     v: Float[Tensor, "m dv"]) -> Float[Tensor, "n dv"]:
    """Causal attention: query i sees keys j <= i (top-left aligned, as SDPA's is_causal)."""
    n, m = q.size(0), k.size(0)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    keep = torch.tril(torch.ones(n, m, dtype=torch.bool))
    scores = scores.masked_fill(~keep, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
