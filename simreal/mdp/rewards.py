"""Reward terms: ``term(env, **params) -> Tensor (num_envs,)``; weights live in the task config."""

from __future__ import annotations

import torch


def ee_to_target_distance_l2(env, target: str) -> torch.Tensor:
    """Euclidean distance between the tool point and ``env.buffers[target]``, m."""
    return torch.linalg.norm(env.buffers[target] - env.ee_pos, dim=1)


def ee_to_target_distance_tanh(env, target: str, std: float) -> torch.Tensor:
    """1 at the target, falling to 0 over a distance of a few ``std`` (m)."""
    return 1.0 - torch.tanh(ee_to_target_distance_l2(env, target) / std)


def ee_to_body_distance_tanh(env, body: str, std: float) -> torch.Tensor:
    d = torch.linalg.norm(env.body_pos(body) - env.ee_pos, dim=1)
    return 1.0 - torch.tanh(d / std)


def ee_z_axis_down_cos(env) -> torch.Tensor:
    """cos of the angle between the tool z axis and world -z (1 = pointing straight down)."""
    return -env.ee_rotmat[:, 2, 2]


def body_height_above(env, body: str, min_height: float) -> torch.Tensor:
    """1 where the body's centre is above ``min_height`` (m), else 0."""
    return (env.body_pos(body)[:, 2] > min_height).float()


def body_height_to_target_tanh(env, body: str, target: str, std: float, min_height: float) -> torch.Tensor:
    """Reward for bringing a lifted body to the target height ``env.buffers[target][:, 2]``."""
    z = env.body_pos(body)[:, 2]
    err = (env.buffers[target][:, 2] - z).abs()
    return (z > min_height).float() * (1.0 - torch.tanh(err / std))


def action_rate_l2(env) -> torch.Tensor:
    return torch.sum((env.action.last_action - env.action.prev_action) ** 2, dim=1)


def joint_vel_l2(env) -> torch.Tensor:
    return torch.sum(env.joint_vel**2, dim=1)
