"""Empirical observation normalizer, kept inside each model so export carries it."""

from __future__ import annotations

import torch
from torch import nn


class EmpiricalNormalizer(nn.Module):
    """(x - mean) / (std + eps), with mean and variance accumulated over every sample seen
    while the module is in training mode and ``update`` is on. Frozen in eval mode, so
    evaluation, export and deployment use exactly the statistics training ended with.
    """

    def __init__(self, dim: int, eps: float = 1e-2, clip: float = 5.0):
        super().__init__()
        self.eps = eps
        self.clip = clip
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("var", torch.ones(dim))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp((x - self.mean) / (torch.sqrt(self.var) + self.eps), -self.clip, self.clip)

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Fold a batch (B, dim) into the running statistics (parallel-variance formula)."""
        if not self.training:
            return
        x = x.reshape(-1, x.shape[-1]).to(self.mean.dtype)
        n = x.shape[0]
        if n == 0:
            return
        batch_mean = x.mean(dim=0)
        batch_var = x.var(dim=0, unbiased=False)
        total = self.count + n
        delta = batch_mean - self.mean
        w = float(n / total)
        self.mean += delta * w
        self.var.copy_(self.var * (1 - w) + batch_var * w + delta**2 * w * (1 - w))
        self.count.copy_(total)
