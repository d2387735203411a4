import math

import torch
from jaxtyping import Float
from torch import Tensor


def attention(q: Float[Tensor, "n dk"], k: Float[Tensor, "m dk"],
              v: Float[Tensor, "m dv"]) -> Float[Tensor, "n dv"]:
    """Scaled dot-product attention, as the PyTorch reference writes it."""
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1) @ v
