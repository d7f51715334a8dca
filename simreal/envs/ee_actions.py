"""End-effector pose-delta actions, by damped least-squares differential IK.

Actions (num_envs, 6): tool-point translation (x, y, z, world frame) and rotation
(axis-angle, world frame) per control step, at ``scale`` metres and ``ROT_PER_M * scale``
radians for |a| = 1. The geometric Jacobian of the tool point is built in torch from the
arm's body poses and joint axes (hinge joints), so it runs batched on any backend.
The joint target accumulates like :class:`JointPositionDeltaAction`'s. With ``gripper``,
a 7th column opens (> 0) or closes (<= 0) the gripper; without it the gripper control
is left to events (e.g. closed on a held part).
"""

from __future__ import annotations

import torch

from simreal.envs.actions import write_arm_ctrl
from simreal.envs.config import ActionCfg
from simreal.math3d import quat_to_rotmat

ROT_PER_M = 10.0  # rad of rotation per metre of translation scale: 5 mm -> 0.05 rad per step
DAMPING = 0.05  # DLS damping (lambda), keeps steps bounded near singularities


class EePoseDeltaAction:
    def __init__(self, env, cfg: ActionCfg):
        if cfg.type != "ee_pose_delta":
            raise ValueError(f"EePoseDeltaAction needs actions.type 'ee_pose_delta', got {cfg.type!r}")
        if cfg.max_latency_steps:
            raise ValueError("ee_pose_delta actions do not model latency; set actions.max_latency_steps=0")
        m, dev, n = env.model, env.device, env.num_envs
        self.env, self.cfg = env, cfg
        self.num_arm = env.robot.num_joints
        self.num_actions = 6 + int(cfg.gripper)
        limits = torch.tensor(env.robot.joint_pos_limits, device=dev)
        self.lower, self.upper = limits[:, 0], limits[:, 1]
        jids = [m.joint(j).id for j in env.robot.joint_names]
        if any(int(m.jnt_type[j]) != 3 for j in jids):  # mjJNT_HINGE
            raise ValueError(f"ee_pose_delta needs hinge joints; robot {env.robot.name!r} has others")
        self.body_ids = torch.tensor([int(m.jnt_bodyid[j]) for j in jids], device=dev)
        self.axis = torch.tensor(m.jnt_axis[jids], dtype=torch.float32, device=dev)  # (J, 3) body frame
        self.anchor = torch.tensor(m.jnt_pos[jids], dtype=torch.float32, device=dev)
        self.target = torch.zeros(n, self.num_arm, device=dev)
        self.last_action = torch.zeros(n, self.num_actions, device=dev)
        self.prev_action = torch.zeros(n, self.num_actions, device=dev)

    def jacobian(self) -> torch.Tensor:
        """(num_envs, 6, num_joints) tool-point Jacobian: linear rows, then angular, world frame."""
        b = self.env.backend
        rot = quat_to_rotmat(b.xquat.index_select(1, self.body_ids).float())  # (N, J, 3, 3)
        pos = b.xpos.index_select(1, self.body_ids).float()
        axis = (rot @ self.axis.unsqueeze(-1)).squeeze(-1)
        anchor = pos + (rot @ self.anchor.unsqueeze(-1)).squeeze(-1)
        lin = torch.cross(axis, self.env.ee_pos.unsqueeze(1) - anchor, dim=-1)
        return torch.cat([lin, axis], dim=-1).transpose(1, 2)

    def reset(self, env_ids: torch.Tensor) -> None:
        self.target[env_ids] = self.env.joint_pos[env_ids]
        self.last_action[env_ids] = 0.0
        self.prev_action[env_ids] = 0.0
        opened = torch.ones(len(env_ids), 1, device=self.env.device) if self.cfg.gripper else None
        write_arm_ctrl(self.env, env_ids, self.target[env_ids], opened)  # episodes start with an open hand

    def apply(self, actions: torch.Tensor) -> None:
        self.prev_action[:] = self.last_action
        self.last_action[:] = actions
        a = actions.clamp(-self.cfg.clip, self.cfg.clip)
        delta = torch.cat([a[:, :3] * self.cfg.scale, a[:, 3:6] * (self.cfg.scale * ROT_PER_M)], dim=1)
        J = self.jacobian()
        eye = torch.eye(6, device=J.device) * DAMPING ** 2
        dq = (J.transpose(1, 2) @ torch.linalg.solve(J @ J.transpose(1, 2) + eye, delta.unsqueeze(-1))).squeeze(-1)
        self.target[:] = torch.clamp(self.target + dq, self.lower, self.upper)
        write_arm_ctrl(self.env, None, self.target, a[:, 6:] if self.cfg.gripper else None)
