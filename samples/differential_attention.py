"""A small, readable differential-attention layer: open this file and ask Attention Inspector what a model attends to."""
import math

import torch
import torch.nn.functional as F


def lambda_init(layer: int) -> float:
    # Deeper layers start with a larger λ: 0.8 − 0.6·exp(−0.3·l).
    return 0.8 - 0.6 * math.exp(-0.3 * layer)


def diff_attention(q1, k1, q2, k2, v, lam):
    """A1 − λ·A2: two softmax maps whose difference cancels common-mode attention noise."""
    d = q1.shape[-1]
    mask = torch.triu(torch.ones(q1.shape[-2], k1.shape[-2], dtype=torch.bool), 1)
    a1 = F.softmax((q1 @ k1.transpose(-1, -2) / math.sqrt(d)).masked_fill(mask, -math.inf), dim=-1)
    a2 = F.softmax((q2 @ k2.transpose(-1, -2) / math.sqrt(d)).masked_fill(mask, -math.inf), dim=-1)
    return (a1 - lam * a2) @ v  # rows sum to 1 − λ, and weights may be negative
