"""Signed distance fields queried in batches with torch (same code on CPU and GPU).

Distances are negative inside the object. Points are ``(..., 3)`` in the object's own
frame and in the units the shape was made in (metres in simreal's scenes). Primitives
are exact; meshes are sampled on a grid once (see :mod:`mesh_sdf`) and interpolated
trilinearly, the gradient stored beside the distance so one lookup gives both.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from simreal.errors import InputError


class Sdf:
    """A shape's signed distance; subclasses implement :meth:`distance`."""

    def distance(self, p: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def distance_and_normal(self, p: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
        """(d (...), outward unit normal (..., 3)); by central differences unless overridden."""
        d = self.distance(p)
        offsets = torch.eye(3, dtype=p.dtype, device=p.device) * eps
        grad = torch.stack(
            [self.distance(p + offsets[i]) - self.distance(p - offsets[i]) for i in range(3)], dim=-1
        )
        return d, F.normalize(grad, dim=-1)

    def to(self, device) -> "Sdf":
        return self

    @property
    def lowest_z(self) -> float:
        """The object's lowest point along its own z axis (for placing indenters)."""
        raise NotImplementedError


class SphereSdf(Sdf):
    def __init__(self, radius: float):
        if radius <= 0:
            raise InputError(f"sphere radius must be positive, got {radius}")
        self.radius = float(radius)

    def distance(self, p):
        return p.norm(dim=-1) - self.radius

    def distance_and_normal(self, p, eps=0.0):
        r = p.norm(dim=-1)
        return r - self.radius, p / r.clamp_min(1e-12).unsqueeze(-1)

    @property
    def lowest_z(self):
        return -self.radius


class BoxSdf(Sdf):
    def __init__(self, half_size):
        self.half = torch.as_tensor(half_size, dtype=torch.float32)
        if self.half.shape != (3,) or (self.half <= 0).any():
            raise InputError(f"box half sizes must be 3 positive numbers, got {half_size}")

    def to(self, device):
        self.half = self.half.to(device)
        return self

    def distance(self, p):
        q = p.abs() - self.half.to(p)
        return q.clamp_min(0).norm(dim=-1) + q.max(dim=-1).values.clamp_max(0)

    @property
    def lowest_z(self):
        return -float(self.half[2])


class CylinderSdf(Sdf):
    """Cylinder along its local z axis."""

    def __init__(self, radius: float, half_length: float):
        if radius <= 0 or half_length <= 0:
            raise InputError(f"cylinder radius and half length must be positive, got {radius}, {half_length}")
        self.radius, self.half_length = float(radius), float(half_length)

    def distance(self, p):
        q = torch.stack([p[..., :2].norm(dim=-1) - self.radius, p[..., 2].abs() - self.half_length], dim=-1)
        return q.clamp_min(0).norm(dim=-1) + q.max(dim=-1).values.clamp_max(0)

    @property
    def lowest_z(self):
        return -self.half_length


class GridSdf(Sdf):
    """A sampled SDF: ``grid (4, D, H, W)`` holds distance and gradient (x, y, z) on a
    regular lattice from ``lo`` to ``hi`` (x along W, y along H, z along D)."""

    def __init__(self, grid: torch.Tensor, lo, hi, lowest_z: float | None = None):
        self.grid = grid.float().unsqueeze(0)  # (1, 4, D, H, W)
        self.lo = torch.as_tensor(lo, dtype=torch.float32, device=grid.device)
        self.hi = torch.as_tensor(hi, dtype=torch.float32, device=grid.device)
        self._lowest_z = lowest_z

    def to(self, device):
        self.grid, self.lo, self.hi = self.grid.to(device), self.lo.to(device), self.hi.to(device)
        return self

    @property
    def lowest_z(self):
        return self._lowest_z

    def _sample(self, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = p.shape[:-1]
        lo, hi = self.lo.to(p), self.hi.to(p)
        q = torch.minimum(torch.maximum(p, lo), hi)
        outside = (p - q).norm(dim=-1)  # beyond the lattice: distance to it plus its value there
        g = (2.0 * (q - lo) / (hi - lo) - 1.0).reshape(1, 1, 1, -1, 3)
        v = F.grid_sample(self.grid.to(p.dtype), g, mode="bilinear", padding_mode="border", align_corners=True)
        v = v.reshape(4, -1).T.reshape(*shape, 4)
        return v[..., 0] + outside, v[..., 1:]

    def distance(self, p):
        return self._sample(p)[0]

    def distance_and_normal(self, p, eps=0.0):
        d, grad = self._sample(p)
        return d, F.normalize(grad, dim=-1)


