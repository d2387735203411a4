#include "spec/builtins.h"

#include <utility>

#include "moa/error.h"

namespace moa::spec {
namespace {

const std::vector<std::pair<std::string, std::string>>& Builtins() {
  static const std::vector<std::pair<std::string, std::string>> kBuiltins = {
      {"attention", R"py(import math

import torch
from jaxtyping import Float
from torch import Tensor


def attention(q: Float[Tensor, "n dk"], k: Float[Tensor, "m dk"],
              v: Float[Tensor, "m dv"]) -> Float[Tensor, "n dv"]:
    """Scaled dot-product attention, as the PyTorch reference writes it."""
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1) @ v
)py"},
      {"attention_stable", R"py(import math

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
)py"},
      {"causal_attention", R"py(import math

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
)py"},
      {"mha_attention", R"py(import math

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor


def mha_attention(q: Float[Tensor, "b h n dk"], k: Float[Tensor, "b h m dk"],
                  v: Float[Tensor, "b h m dv"]) -> Float[Tensor, "b h n dv"]:
    """Batched multi-head attention: the batch and head dimensions lead."""
    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.size(-1))
    return F.softmax(scores, dim=-1) @ v
)py"},
      {"masked_attention", R"py(import math

import torch
from jaxtyping import Bool, Float
from torch import Tensor


def masked_attention(q: Float[Tensor, "n dk"], k: Float[Tensor, "m dk"], v: Float[Tensor, "m dv"],
                     mask: Bool[Tensor, "n m"]) -> Float[Tensor, "n dv"]:
    """Attention with a boolean mask; True takes part in attention, as in SDPA's attn_mask."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
)py"},
      {"example1_transpose", R"py(import torch
from jaxtyping import Float
from torch import Tensor


def example1_transpose(k: Float[Tensor, "n d"]) -> Float[Tensor, "d n"]:
    """MOA_RULES.md worked example 1: the transpose of K, which the DNF never materialises."""
    return k.T
)py"},
      {"example2_cat_drop", R"py(import torch
from jaxtyping import Float
from torch import Tensor


def example2_cat_drop(b: Float[Tensor, "2 4"], c: Float[Tensor, "4 6"]) -> Float[Tensor, "5 4"]:
    """MOA_RULES.md worked example 2: A = B ++ (<1 2> drop C)."""
    return torch.cat([b, c[1:, 2:]])
)py"},
      {"example3_take_reverse_drop", R"py(import torch
from jaxtyping import Float
from torch import Tensor


def example3_take_reverse_drop(a: Float[Tensor, "3 5 4"]) -> Float[Tensor, "2 5 4"]:
    """MOA_RULES.md worked example 3: X = (2 take reverse A) * (1 drop reverse A)."""
    return a.flip(0)[:2] * a.flip(0)[1:]
)py"},
      {"example4_softmax", R"py(import math

import torch
from jaxtyping import Float
from torch import Tensor


def example4_softmax(q: Float[Tensor, "n dk"], k: Float[Tensor, "n dk"]) -> Float[Tensor, "n n"]:
    """MOA_RULES.md worked example 4: the scores S = s * Q K^T with s = 1/sqrt(dk), and P = softmax(S)."""
    scores = q @ k.T * (1 / math.sqrt(q.size(-1)))
    P = torch.softmax(scores, dim=-1)
    return P
)py"},
      {"example5_attention", R"py(import math

import torch
from jaxtyping import Float
from torch import Tensor


def example5_attention(q: Float[Tensor, "n dk"], k: Float[Tensor, "n dk"],
                       v: Float[Tensor, "n dv"]) -> Float[Tensor, "n dv"]:
    """MOA_RULES.md worked example 5: attention, O = softmax(Q K^T / sqrt(dk)) V."""
    scores = q @ k.T / math.sqrt(q.size(-1))
    return torch.softmax(scores, dim=-1) @ v
)py"},
  };
  return kBuiltins;
}

}  // namespace

std::vector<std::string> BuiltinNames() {
  std::vector<std::string> names;
  for (const auto& [name, source] : Builtins()) names.push_back(name);
  return names;
}

const std::string& BuiltinSource(const std::string& name) {
  for (const auto& [n, source] : Builtins())
    if (n == name) return source;
  std::string known;
  for (const auto& [n, source] : Builtins()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown built-in spec '" + name + "'; the built-ins are: " + known);
}

}  // namespace moa::spec
