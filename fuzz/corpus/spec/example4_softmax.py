import math

import torch
from jaxtyping import Float
from torch import Tensor


def example4_softmax(q: Float[Tensor, "n dk"], k: Float[Tensor, "n dk"]) -> Float[Tensor, "n n"]:
    """MOA_RULES.md worked example 4: the scores S = s * Q K^T with s = 1/sqrt(dk), and P = softmax(S)."""
    scores = q @ k.T * (1 / math.sqrt(q.size(-1)))
    P = torch.softmax(scores, dim=-1)
    return P
