"""The arm's tool-point kinematics on the batched state: the geometric Jacobian built in
torch from the arm's body poses and joint axes (hinge joints), so it runs on any backend.
Action terms (tool-point actions) and reset events (IK to a start pose) both use it."""

from __future__ import annotations

import torch

from simreal.errors import InputError
from simreal.math3d import quat_to_rotmat


class ArmKinematics:
    def __init__(self, env):
        m, dev = env.model, env.device
        self.env = env
        jids = [m.joint(j).id for j in env.robot.joint_names]
        if any(int(m.jnt_type[j]) != 3 for j in jids):  # mjJNT_HINGE
            raise InputError(f"the tool-point Jacobian needs hinge joints; robot {env.robot.name!r} has others")
        self.body_ids = torch.tensor([int(m.jnt_bodyid[j]) for j in jids], device=dev)
        self.axis = torch.tensor(m.jnt_axis[jids], dtype=torch.float32, device=dev)  # (J, 3) body frame
        self.anchor = torch.tensor(m.jnt_pos[jids], dtype=torch.float32, device=dev)
        limits = torch.tensor(env.robot.joint_pos_limits, dtype=torch.float32, device=dev)
        self.lower, self.upper = limits[:, 0], limits[:, 1]

    def jacobian(self) -> torch.Tensor:
        """(num_envs, 6, num_joints) tool-point Jacobian: linear rows, then angular, world frame."""
        b = self.env.backend
        rot = quat_to_rotmat(b.xquat.index_select(1, self.body_ids).float())  # (N, J, 3, 3)
        pos = b.xpos.index_select(1, self.body_ids).float()
        axis = (rot @ self.axis.unsqueeze(-1)).squeeze(-1)
        anchor = pos + (rot @ self.anchor.unsqueeze(-1)).squeeze(-1)
        lin = torch.cross(axis, self.env.ee_pos.unsqueeze(1) - anchor, dim=-1)
        return torch.cat([lin, axis], dim=-1).transpose(1, 2)
