import math

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor


def mha_attention(q: Float[Tensor, "b h n dk"], k: Float[Tensor, "b h m dk"],
                  v: Float[Tensor, "b h m dv"]) -> Float[Tensor, "b h n dv"]:
    """Batched multi-head attention: the batch and head dimensions lead."""
    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.size(-1))
    return F.softmax(scores, dim=-1) @ v
