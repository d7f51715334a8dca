"""Action terms: turn policy outputs into actuator controls, with optional latency."""

from __future__ import annotations

import torch

from simreal.errors import InputError
from simreal.envs.config import ActionCfg


class JointPositionDeltaAction:
    """Arm joint targets move by ``scale * a`` per control step, clipped to joint limits.

    The target accumulates (it is the commanded pose, not the measured one), which is
    also what the deployment node streams to a forward position controller;
    ``max_target_error`` keeps it near the measured pose. With
    ``gripper``, the last action column opens (> 0) or closes (<= 0) the gripper.
    Latency: each env plays the action it was given ``latency[env]`` control steps ago.
    """

    def __init__(self, env, cfg: ActionCfg):
        if cfg.type != "joint_position_delta":
            raise InputError(f"unsupported action type {cfg.type!r}; supported: 'joint_position_delta'")
        if cfg.gripper and env.robot.gripper_actuator is None:
            raise InputError(f"robot {env.robot.name!r} has no gripper actuator; set actions.gripper=False")
        if cfg.workspace is not None:
            raise InputError("actions.workspace bounds a tool point: it needs 'ee_position_delta' or 'ee_pose_delta' actions")
        self.env = env
        self.cfg = cfg
        n, dev = env.num_envs, env.device
        self.num_arm = env.robot.num_joints
        self.num_actions = self.num_arm + int(cfg.gripper)
        limits = torch.tensor(env.robot.joint_pos_limits, device=dev)
        self.lower, self.upper = limits[:, 0], limits[:, 1]
        self.target = torch.zeros(n, self.num_arm, device=dev)
        self.last_action = torch.zeros(n, self.num_actions, device=dev)
        self.prev_action = torch.zeros(n, self.num_actions, device=dev)
        self.history = torch.zeros(n, cfg.max_latency_steps + 1, self.num_actions, device=dev)
        self.latency = torch.zeros(n, dtype=torch.long, device=dev)
        self._rows = torch.arange(n, device=dev)

    def reset(self, env_ids: torch.Tensor) -> None:
        env = self.env
        self.target[env_ids] = env.joint_pos[env_ids]
        self.last_action[env_ids] = 0.0
        self.prev_action[env_ids] = 0.0
        self.history[env_ids] = 0.0
        if self.cfg.max_latency_steps > 0:
            self.latency[env_ids] = torch.randint(
                0, self.cfg.max_latency_steps + 1, (len(env_ids),), generator=env.rng, device=env.device
            )
        has_gripper = env.robot.gripper_actuator is not None  # every episode starts with an open gripper
        gripper = torch.ones(len(env_ids), 1, device=env.device) if has_gripper else None
        write_arm_ctrl(self.env, env_ids, self.target[env_ids], gripper)

    def apply(self, actions: torch.Tensor) -> None:
        """actions: (num_envs, num_actions), finite."""
        self.prev_action[:] = self.last_action
        self.last_action[:] = actions
        if self.cfg.max_latency_steps > 0:
            self.history[:] = torch.roll(self.history, 1, dims=1)
            self.history[:, 0] = actions
            actions = self.history[self._rows, self.latency]
        actions = actions.clamp(-self.cfg.clip, self.cfg.clip)
        self.target[:] = next_target(self, self.cfg.scale * actions[:, : self.num_arm])
        write_arm_ctrl(self.env, None, self.target, actions[:, self.num_arm :] if self.cfg.gripper else None)


def next_target(term, delta: torch.Tensor) -> torch.Tensor:
    """The action term's arm target moved by ``delta``: within ``max_target_error`` of the
    measured joint positions (if set), then within the joint limits. Shared by every action term."""
    target = term.target + delta
    bound = term.cfg.max_target_error
    if bound is not None:
        q = term.env.joint_pos
        target = torch.minimum(torch.maximum(target, q - bound), q + bound)
    return torch.clamp(target, term.lower, term.upper)


def write_arm_ctrl(env, env_ids, arm_target: torch.Tensor, gripper_action: torch.Tensor | None) -> None:
    """Write arm joint targets (and an open/close gripper command) into the backend's ctrl,
    for all envs (``env_ids`` None) or the given ones. Shared by every action term."""
    ctrl = env.backend.ctrl
    # index_copy_/index_select: advanced indexing of these strided views is ~50x slower
    if env_ids is None:
        ctrl.index_copy_(1, env.arm_ctrl_ids, arm_target.to(ctrl.dtype))
    else:
        rows = ctrl.index_select(0, env_ids)
        rows.index_copy_(1, env.arm_ctrl_ids, arm_target.to(ctrl.dtype))
        ctrl.index_copy_(0, env_ids, rows)
    if gripper_action is not None:
        robot = env.robot
        g = torch.where(gripper_action[:, 0] > 0, robot.gripper_ctrl_open, robot.gripper_ctrl_closed).to(ctrl.dtype)
        if env_ids is None:
            ctrl[:, env.gripper_ctrl_id] = g
        else:
            ctrl[env_ids, env.gripper_ctrl_id] = g
