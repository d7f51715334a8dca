"""Small batched rotation helpers (torch), MuJoCo conventions."""

from __future__ import annotations

import torch


def quat_to_rotmat(q: torch.Tensor) -> torch.Tensor:
    """(..., 4) unit quaternions (w, x, y, z), MuJoCo's order -> (..., 3, 3)."""
    w, x, y, z = q.unbind(-1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
        2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
        2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
    ], dim=-1).reshape(*q.shape[:-1], 3, 3)


def orientation_error(current: torch.Tensor, desired: torch.Tensor) -> torch.Tensor:
    """(..., 3) world-frame rotation vector that turns ``current`` towards ``desired``
    (rotation matrices, (..., 3, 3)): half the sum of the cross products of their columns.
    Exact in direction, and sin(angle) times the axis in size, below 90 degrees."""
    return 0.5 * torch.cross(current, desired, dim=-2).sum(dim=-1)
