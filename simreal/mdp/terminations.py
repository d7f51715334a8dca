"""Termination terms: ``term(env, **params) -> bool Tensor (num_envs,)``."""

from __future__ import annotations

import torch


def body_below(env, body: str, min_height: float) -> torch.Tensor:
    """The body fell below ``min_height`` (m), e.g. through the floor."""
    return env.body_pos(body)[:, 2] < min_height


def body_out_of_reach(env, body: str, max_distance: float) -> torch.Tensor:
    """The body's horizontal distance from the robot base exceeds ``max_distance`` (m)."""
    return torch.linalg.norm(env.body_pos(body)[:, :2], dim=1) > max_distance
