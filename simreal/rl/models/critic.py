"""Critics: a state value V(s) for PPO, Q(s, a) for SAC, and a Gaussian return
distribution Z(s, a) ~ N(mean, std^2) for DSAC-T. Each reads its own observation
groups (typically privileged) and keeps its own normalizer."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from simreal.rl.models.features import GroupModel
from simreal.rl.models.mlp import mlp


class _Critic(GroupModel):
    def __init__(self, obs, groups: list[str], extra_in: int, out: int, hidden: list[int], activation: str,
                 normalize: bool, images: dict | None = None):
        super().__init__(obs, groups, normalize, images)
        self.net = mlp(self.features.out_dim + extra_in, hidden, out, activation)


class ValueCritic(_Critic):
    def __init__(self, obs, groups, hidden, activation="elu", normalize=True, images=None):
        super().__init__(obs, groups, 0, 1, hidden, activation, normalize, images)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,) state values."""
        return self.net(self.features(x)).squeeze(-1)


class QCritic(_Critic):
    def __init__(self, obs, groups, num_actions, hidden, activation="relu", normalize=True, images=None):
        super().__init__(obs, groups, num_actions, 1, hidden, activation, normalize, images)

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([self.features(x), a], dim=-1)).squeeze(-1)


class GaussianQCritic(_Critic):
    """Return distribution N(mean, std^2); std = softplus(raw) + min_std."""

    def __init__(self, obs, groups, num_actions, hidden, activation="relu", normalize=True, min_std: float = 1e-3,
                 images=None):
        super().__init__(obs, groups, num_actions, 2, hidden, activation, normalize, images)
        self.min_std = min_std

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, raw = self.net(torch.cat([self.features(x), a], dim=-1)).unbind(-1)
        return mean, F.softplus(raw) + self.min_std
