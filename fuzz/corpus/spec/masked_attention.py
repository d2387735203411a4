import math

import torch
from jaxtyping import Bool, Float
from torch import Tensor


def masked_attention(q: Float[Tensor, "n dk"], k: Float[Tensor, "m dk"], v: Float[Tensor, "m dv"],
                     mask: Bool[Tensor, "n m"]) -> Float[Tensor, "n dv"]:
    """Attention with a boolean mask; True takes part in attention, as in SDPA's attn_mask."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
