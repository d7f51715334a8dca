"""Actors. Each reads the observation groups its config names, normalizes them with its
own :class:`EmpiricalNormalizer`, and maps them to actions; ``forward`` is the
deterministic policy that export and deployment use."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.distributions import Normal

from simreal.rl.models.features import GroupModel
from simreal.rl.models.mlp import mlp


class GaussianActor(GroupModel):
    """Diagonal Gaussian with a state-independent std (PPO)."""

    def __init__(self, obs, groups: list[str], num_actions: int, hidden: list[int], activation: str = "elu",
                 init_std: float = 1.0, normalize: bool = True, images: dict | None = None):
        super().__init__(obs, groups, normalize, images)
        self.num_actions = num_actions
        self.mean_net = mlp(self.features.out_dim, hidden, num_actions, activation, out_gain=0.01)
        self.log_std = nn.Parameter(torch.full((num_actions,), math.log(init_std)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic action (the mean) for concatenated observations x (B, obs_dim)."""
        return self.mean_net(self.features(x))

    def distribution(self, x: torch.Tensor) -> Normal:
        mean = self.forward(x)
        return Normal(mean, self.log_std.exp().expand_as(mean))

    @property
    def std(self) -> torch.Tensor:
        return self.log_std.exp()


class SquashedGaussianActor(GroupModel):
    """tanh-squashed Gaussian with state-dependent std (SAC, DSAC-T). Actions in
    (-1, 1) times ``action_scale`` plus ``action_bias``."""

    LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0

    def __init__(self, obs, groups: list[str], num_actions: int, hidden: list[int], activation: str = "relu",
                 normalize: bool = True, action_scale: torch.Tensor | float = 1.0,
                 action_bias: torch.Tensor | float = 0.0,
                 images: dict | None = None):
        super().__init__(obs, groups, normalize, images)
        self.num_actions = num_actions
        self.net = mlp(self.features.out_dim, hidden, 2 * num_actions, activation)
        self.register_buffer("action_scale",
                             torch.as_tensor(action_scale, dtype=torch.float32).expand(num_actions).clone())
        self.register_buffer("action_bias",
                             torch.as_tensor(action_bias, dtype=torch.float32).expand(num_actions).clone())

    def _mean_log_std(self, x):
        mean, log_std = self.net(self.features(x)).chunk(2, dim=-1)
        return mean, log_std.clamp(self.LOG_STD_MIN, self.LOG_STD_MAX)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic action tanh(mean), scaled."""
        mean, _ = self._mean_log_std(x)
        return torch.tanh(mean) * self.action_scale + self.action_bias

    def sample(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterized sample and its log-probability (B,), tanh correction included."""
        mean, log_std = self._mean_log_std(x)
        u = mean + log_std.exp() * torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        a = torch.tanh(u)
        # log|det d tanh(u)/du| = sum log(1 - tanh(u)^2), written stably
        log_prob = Normal(mean, log_std.exp()).log_prob(u).sum(-1)
        log_prob = log_prob - (2.0 * (math.log(2.0) - u - nn.functional.softplus(-2.0 * u))).sum(-1)
        log_prob = log_prob - torch.log(self.action_scale).sum()
        return a * self.action_scale + self.action_bias, log_prob
