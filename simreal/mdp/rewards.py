"""Reward terms: ``term(env, **params) -> Tensor (num_envs,)``; weights live in the task config."""

from __future__ import annotations

import torch

from simreal.mdp.observations import gripper_width


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


def _height_to_target_tanh(env, body: str, target: str, std: float) -> torch.Tensor:
    """1 with the body at the target height ``env.buffers[target][:, 2]``, falling over a few ``std`` (m)."""
    return 1.0 - torch.tanh((env.buffers[target][:, 2] - env.body_pos(body)[:, 2]).abs() / std)


def body_height_to_target_tanh(env, body: str, target: str, std: float, min_height: float) -> torch.Tensor:
    """Reward for bringing a lifted body (centre above ``min_height``) to the target height."""
    return body_height_above(env, body, min_height) * _height_to_target_tanh(env, body, target, std)


def body_grasped(env, body: str, width: float, max_distance: float = 0.03, slack: float = 0.015) -> torch.Tensor:
    """1 where the gripper holds ``body``: the tool point within ``max_distance`` (m) of the
    body's centre, the gripper commanded closed (when the policy drives it) and the fingers
    closed onto the body (width between ``width / 2`` and ``width + slack``: narrower is a
    grasp on nothing, wider an open hand). Without the command check a policy learns to
    jam its open fingers against the floor until they pinch the body."""
    near = torch.linalg.norm(env.body_pos(body) - env.ee_pos, dim=1) < max_distance
    w = gripper_width(env)[:, 0]
    held = near & (w > 0.5 * width) & (w < width + slack)
    return (held & gripper_commanded_closed(env)).float()


def gripper_commanded_closed(env) -> torch.Tensor:
    """(num_envs,) bool: the policy's gripper column asks to close (a <= 0); all True when the
    policy does not drive the gripper."""
    if not env.action.cfg.gripper:
        return torch.ones(env.num_envs, dtype=torch.bool, device=env.device)
    return env.action.last_action[:, -1] <= 0


def grasped_height_to_target_tanh(env, body: str, target: str, std: float, width: float) -> torch.Tensor:
    """Reward for carrying a grasped body towards the target height: dense from the moment
    of the grasp (no minimum lift), 0 without a grasp so a thrown body earns nothing."""
    return body_grasped(env, body, width) * _height_to_target_tanh(env, body, target, std)


def grasped_height_ramp(env, body: str, width: float, low: float, high: float) -> torch.Tensor:
    """Reward for raising a grasped body: 0 with its centre at ``low`` (m), rising linearly
    to 1 at ``high``: a steep first slope, where a tanh of the distance to a far target is flat."""
    z = env.body_pos(body)[:, 2]
    return body_grasped(env, body, width) * ((z - low) / (high - low)).clamp(0.0, 1.0)


def action_rate_l2(env) -> torch.Tensor:
    return torch.sum((env.action.last_action - env.action.prev_action) ** 2, dim=1)


def joint_vel_l2(env) -> torch.Tensor:
    return torch.sum(env.joint_vel**2, dim=1)
