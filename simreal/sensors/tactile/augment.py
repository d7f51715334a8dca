"""Tactile image augmentation, per episode and per step, batched over envs.

Per episode (resampled for the envs that reset): colour gain and offset per channel,
a channel permutation, and a crop/zoom (scale >= 1 about a shifted centre). Per step:
small extra gain jitter and pixel noise. Images are (B, H, W, 3) floats in [0, 255].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class AugmentCfg:
    gain: tuple[float, float] = (0.9, 1.1)  # per-episode multiplicative colour jitter per channel
    offset: float = 8.0  # per-episode additive jitter per channel, +- levels
    channel_swap_prob: float = 0.0  # probability that an episode permutes the RGB channels
    zoom: tuple[float, float] = (1.0, 1.1)  # per-episode crop/zoom factor
    shift: float = 0.03  # per-episode crop centre shift, fraction of the image
    step_gain: float = 0.02  # per-step gain jitter (std)
    step_noise: float = 2.0  # per-step pixel noise (std, levels)


class TactileAugment:
    """Holds each env's episode parameters; :meth:`resample` at reset, :meth:`apply` each step."""

    def __init__(self, cfg: AugmentCfg, num_envs: int, generator: torch.Generator | None = None, device="cpu"):
        self.cfg, self.num_envs, self.device = cfg, num_envs, torch.device(device)
        self.rng = generator
        self.gain = torch.ones(num_envs, 3, device=device)
        self.offset = torch.zeros(num_envs, 3, device=device)
        self.perm = torch.arange(3, device=device).repeat(num_envs, 1)
        self.theta = torch.eye(2, 3, device=device).repeat(num_envs, 1, 1)
        self.resample(torch.arange(num_envs, device=device))

    def _u(self, *shape, lo=0.0, hi=1.0):
        return lo + (hi - lo) * torch.rand(*shape, generator=self.rng, device=self.device)

    def resample(self, env_ids: torch.Tensor) -> None:
        n, c = len(env_ids), self.cfg
        if n == 0:
            return
        self.gain[env_ids] = self._u(n, 3, lo=c.gain[0], hi=c.gain[1])
        self.offset[env_ids] = self._u(n, 3, lo=-c.offset, hi=c.offset)
        swap = self._u(n) < c.channel_swap_prob
        perms = torch.argsort(self._u(n, 3), dim=1)
        self.perm[env_ids] = torch.where(swap.unsqueeze(1), perms, torch.arange(3, device=self.device))
        z = self._u(n, lo=c.zoom[0], hi=c.zoom[1])
        theta = torch.zeros(n, 2, 3, device=self.device)
        theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / z
        theta[:, :, 2] = self._u(n, 2, lo=-c.shift, hi=c.shift) * 2
        self.theta[env_ids] = theta

    def apply(self, images: torch.Tensor) -> torch.Tensor:
        """Augmented copy of images (num_envs, H, W, 3)."""
        B, H, W, _ = images.shape
        c = self.cfg
        x = images.permute(0, 3, 1, 2)
        x = torch.gather(x, 1, self.perm.view(B, 3, 1, 1).expand(B, 3, H, W))
        grid = F.affine_grid(self.theta, (B, 3, H, W), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        gain = self.gain * (1 + c.step_gain * torch.randn(B, 3, generator=self.rng, device=self.device))
        x = x * gain.view(B, 3, 1, 1) + self.offset.view(B, 3, 1, 1)
        if c.step_noise > 0:
            x = x + c.step_noise * torch.randn(x.shape, generator=self.rng, device=self.device)
        return x.clamp(0, 255).permute(0, 2, 3, 1)
