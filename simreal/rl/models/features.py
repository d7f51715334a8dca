"""What a model makes of its observation groups before its MLP: vector groups through the
empirical normalizer, image groups (e.g. tactile images) through a small CNN each.

Inputs stay one flat tensor (B, sum of group dims), as the env delivers them and the
storage keeps them; an image group's slice is (S, H, W, C) images flattened, S sensors.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from simreal.errors import InputError
from simreal.rl.models.mlp import gather_groups
from simreal.rl.models.normalizer import EmpiricalNormalizer


class ImageEncoder(nn.Module):
    """S images (H, W, C) -> S * 3 * channels features, shared across the S sensors: three
    convolutions (stride 2 while the map's short side is 16 px or more, so an 80x60 tactile
    image and a 10x14 force field both keep a usable map), then per channel its mean
    activation (how strong) and its spatial-softmax keypoint (x, y in [-1, 1]: where).
    Global average pooling alone cannot tell where on the pad a contact sits, which is what
    an insertion policy needs from touch."""

    def __init__(self, shape: list[int], channels: int = 32):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)  # (S, H, W, C)
        S, H, W, C = self.shape
        layers, side = [], min(H, W)
        for cin, cout, k in ((C, 16, 5), (16, 32, 3), (32, channels, 3)):
            stride = 2 if side >= 16 else 1
            side = (side + stride - 1) // stride
            layers += [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2), nn.ELU()]
        self.net = nn.Sequential(*layers)
        # keypoint sharpness (inverse softmax temperature), learned; at 1 a fresh network's
        # small activations give near-uniform softmaxes whose keypoints hardly move
        self.log_sharpness = nn.Parameter(torch.tensor(math.log(10.0)))
        self.out_dim = S * 3 * channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        S, H, W, C = self.shape
        B = x.shape[0]
        f = self.net(x.reshape(B * S, H, W, C).permute(0, 3, 1, 2))  # (B*S, channels, h, w)
        h, w = f.shape[-2:]
        p = torch.softmax(f.flatten(2) * self.log_sharpness.exp(), dim=-1).reshape_as(f)
        kx = (p.sum(2) * _coords(w, f)).sum(-1)  # softmax mass per column, times the column's x
        ky = (p.sum(3) * _coords(h, f)).sum(-1)
        return torch.cat([f.mean(dim=(2, 3)), kx, ky], dim=-1).reshape(B, -1)


def _coords(n: int, like: torch.Tensor) -> torch.Tensor:
    """n cell centres spanning [-1, 1] (0 for a single cell)."""
    return torch.linspace(-1.0, 1.0, n, device=like.device, dtype=like.dtype) if n > 1 else like.new_zeros(1)


class GroupFeatures(nn.Module):
    def __init__(self, obs, groups: list[str], normalize: bool = True, images: dict | None = None):
        super().__init__()
        images = images or {}
        unknown = set(images) - set(groups)
        if unknown:
            raise InputError(f"image groups {sorted(unknown)} are not among the model's groups {groups}")
        self.slices: list[tuple[str, int, int]] = []  # (group, start, end) in the flat input
        vec_cols, start = [], 0
        for g in groups:
            dim = int(gather_groups(obs, [g]).shape[-1])
            if g in images:
                S, H, W, C = images[g]
                if S * H * W * C != dim:
                    raise InputError(f"image group {g!r} has {dim} values, but its shape {images[g]} needs "
                                     f"{S * H * W * C}")
            else:
                vec_cols.extend(range(start, start + dim))
            self.slices.append((g, start, start + dim))
            start += dim
        self.in_dim = start
        self.plain = not images  # fast path: the whole input is one normalized vector
        self.register_buffer("vec_cols", torch.tensor(vec_cols, dtype=torch.long), persistent=False)
        self.normalizer = EmpiricalNormalizer(len(vec_cols)) if normalize else nn.Identity()
        self.cnns = nn.ModuleDict({g: ImageEncoder(shape) for g, shape in images.items()})
        self.out_dim = len(vec_cols) + sum(c.out_dim for c in self.cnns.values())

    def vectors(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.plain else x.index_select(-1, self.vec_cols)

    def update(self, x: torch.Tensor) -> None:
        if isinstance(self.normalizer, EmpiricalNormalizer):
            self.normalizer.update(self.vectors(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.plain:
            return self.normalizer(x)
        parts = [self.normalizer(self.vectors(x))]
        parts += [self.cnns[g](x[..., s:e]) for g, s, e in self.slices if g in self.cnns]
        return torch.cat(parts, dim=-1)


class GroupModel(nn.Module):
    """Base of every actor and critic: the observation groups it reads (``groups``, their
    concatenated width ``obs_dim``) and its :class:`GroupFeatures` (normalizer, CNNs)."""

    def __init__(self, obs, groups: list[str], normalize: bool, images: dict | None):
        super().__init__()
        self.groups = list(groups)
        self.obs_dim = int(gather_groups(obs, self.groups).shape[-1])
        self.features = GroupFeatures(obs, self.groups, normalize, images)

    def inputs(self, obs) -> torch.Tensor:
        """The groups this model reads, concatenated: (B, obs_dim)."""
        return gather_groups(obs, self.groups)

    @property
    def normalizer(self) -> nn.Module:
        return self.features.normalizer

    def update_normalizer(self, x: torch.Tensor) -> None:
        self.features.update(x)
