"""End-effector pose-delta actions, by damped least-squares differential IK.

``ee_pose_delta`` actions (num_envs, 6): tool-point translation (x, y, z, world frame) and
rotation (axis-angle, world frame) per control step, at ``scale`` metres and
``ROT_PER_M * scale`` radians for |a| = 1. ``ee_position_delta`` actions (num_envs, 3):
the translation only; the tool keeps the orientation it had at reset, as a top-down
pick-and-place arm does: each step turns the *commanded* orientation (the joint target's, to
first order) back toward the held one, at most ``ROT_PER_M * scale`` radians. Servoing the
commanded rather than the measured orientation keeps the loop stable when commands reach the
arm late: a measured error the target already corrects is not corrected again each step.
The tool-point Jacobian comes from the env's :class:`~simreal.envs.kinematics.ArmKinematics`.
The joint target accumulates like :class:`JointPositionDeltaAction`'s (``max_target_error`` bounds it). With
``gripper``, the last column opens (> 0) or closes (<= 0) the gripper; without it the
gripper control is left to events (e.g. closed on a held part). ``workspace`` keeps the
commanded tool point inside a box (e.g. above the table), so pressing into it winds nothing up.
Latency (``max_latency_steps``): the action played is one given up to that many steps ago
(:class:`~simreal.actions.arm.ActionDelay`), applied to the arm as it is now.
"""

from __future__ import annotations

import numpy as np

from simreal.actions import ActionType
from simreal.actions.arm import ActionDelay, ArmTarget, bounded_target, check_arm, f32, write_arm_ctrl
from simreal.errors import InputError
from simreal.lazy import LazyModule

torch = LazyModule("torch")  # the robot side imports this module without torch

ROT_PER_M = 10.0  # rad of rotation per metre of translation scale: 5 mm -> 0.05 rad per step
DAMPING = 0.05  # DLS damping (lambda), keeps steps bounded near singularities


def check(cfg) -> None:
    check_arm(cfg)
    box = cfg.workspace
    try:
        ok = box is None or (len(box) == 3 and all(len(b) == 2 and float(b[0]) < float(b[1]) for b in box))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(f"actions.workspace must be ((x_lo, x_hi), (y_lo, y_hi), (z_lo, z_hi)) with lo < hi, "
                         f"got {box!r}")


class EePoseDeltaAction:
    def __init__(self, env, cfg):
        check(cfg)
        dev, n = env.device, env.num_envs
        self.env, self.cfg = env, cfg
        self.num_arm = env.robot.num_joints
        self.num_pose = 6 if cfg.type == "ee_pose_delta" else 3
        self.num_actions = self.num_pose + int(cfg.gripper)
        limits = torch.tensor(env.robot.joint_pos_limits, device=dev)
        self.lower, self.upper = limits[:, 0], limits[:, 1]
        self.kinematics = env.kinematics
        self.target = torch.zeros(n, self.num_arm, device=dev)
        self.held_rotmat = torch.eye(3, device=dev).repeat(n, 1, 1)  # ee_position_delta: orientation kept
        self.box = torch.tensor(cfg.workspace, dtype=torch.float32, device=dev) if cfg.workspace is not None else None
        self.last_action = torch.zeros(n, self.num_actions, device=dev)
        self.prev_action = torch.zeros(n, self.num_actions, device=dev)
        self.delay = ActionDelay(env, self.num_actions, cfg.max_latency_steps)

    def reset(self, env_ids: torch.Tensor) -> None:
        self.target[env_ids] = self.env.joint_pos[env_ids]
        self.held_rotmat[env_ids] = self.env.ee_rotmat[env_ids]
        self.last_action[env_ids] = 0.0
        self.prev_action[env_ids] = 0.0
        self.delay.reset(env_ids)
        opened = torch.ones(len(env_ids), 1, device=self.env.device) if self.cfg.gripper else None
        write_arm_ctrl(self.env, env_ids, self.target[env_ids], opened)  # episodes start with an open hand

    def apply(self, actions: torch.Tensor) -> None:
        self.prev_action[:] = self.last_action
        self.last_action[:] = actions
        a = self.delay(actions).clamp(-self.cfg.clip, self.cfg.clip)
        max_rot = self.cfg.scale * ROT_PER_M
        J = self.kinematics.jacobian()
        if self.num_pose == 3 or self.box is not None:  # the target's tool pose - now's, to first order
            ahead = (J @ (self.target - self.env.joint_pos).unsqueeze(-1)).squeeze(-1)
        if self.num_pose == 6:
            rot = a[:, 3:6] * max_rot
        else:  # servo the commanded orientation back to the held one, at most max_rot per step
            from simreal.math3d import orientation_error

            rot = orientation_error(self.env.ee_rotmat, self.held_rotmat) - ahead[:, 3:]
            rot = rot * (max_rot / rot.norm(dim=1, keepdim=True).clamp(min=max_rot))
        move = a[:, :3] * self.cfg.scale
        if self.box is not None:  # keep the commanded tool point inside the box
            commanded = self.env.ee_pos + ahead[:, :3]
            inside = torch.maximum(torch.minimum(commanded + move, self.box[:, 1]), self.box[:, 0])
            move = (inside - commanded).clamp(-self.cfg.scale, self.cfg.scale)
        delta = torch.cat([move, rot], dim=1)
        eye = torch.eye(6, device=J.device) * DAMPING ** 2
        dq = (J.transpose(1, 2) @ torch.linalg.solve(J @ J.transpose(1, 2) + eye, delta.unsqueeze(-1))).squeeze(-1)
        self.target[:] = bounded_target(self, self.target + dq)
        write_arm_ctrl(self.env, None, self.target, a[:, self.num_pose :] if self.cfg.gripper else None)


class Processor(ArmTarget):
    """The robot side (numpy float32, one arm): the same damped least-squares step on the
    bundle's kinematics (the tool pose and Jacobian at the measured joint positions)."""

    def __init__(self, spec, kinematics=None):
        from simreal.errors import InputError

        super().__init__(spec, kinematics)
        if kinematics is None:
            raise InputError(f"{spec.action.type} actions need the arm's kinematics (the bundle's kinematics.xml)")
        self.num_pose = 6 if spec.action.type == "ee_pose_delta" else 3
        box = spec.action.workspace
        self.box = f32(box) if box is not None else None
        self.max_rot = np.float32(self.scale * np.float32(ROT_PER_M))
        self.held_rotmat = np.eye(3, dtype=np.float32)

    def reset(self, measured_joint_pos) -> None:
        super().reset(measured_joint_pos)
        self.held_rotmat = f32(self.kinematics.tool_rotmat(measured_joint_pos))

    def proposed(self, a, joint_pos) -> np.ndarray:
        k = self.kinematics
        J = f32(k.jacobian(joint_pos))
        if self.num_pose == 3 or self.box is not None:  # the target's tool pose - now's, to first order
            ahead = J @ (self.target - joint_pos)
        if self.num_pose == 6:
            rot = a[3:6] * self.max_rot
        else:  # servo the commanded orientation back to the held one (math3d.orientation_error)
            current = f32(k.tool_rotmat(joint_pos))
            rot = np.float32(0.5) * np.cross(current.T, self.held_rotmat.T).sum(axis=0) - ahead[3:]
            rot = rot * (self.max_rot / max(np.float32(np.linalg.norm(rot)), self.max_rot))
        move = a[:3] * self.scale
        if self.box is not None:  # keep the commanded tool point inside the box
            commanded = f32(k.tool_pos(joint_pos)) + ahead[:3]
            inside = np.maximum(np.minimum(commanded + move, self.box[:, 1]), self.box[:, 0])
            move = np.clip(inside - commanded, -self.scale, self.scale)
        delta = np.concatenate([move, rot]).astype(np.float32)
        eye = np.eye(6, dtype=np.float32) * np.float32(DAMPING ** 2)
        dq = J.T @ np.linalg.solve(J @ J.T + eye, delta)
        return (self.target + dq).astype(np.float32)


TYPES = [ActionType(name, summary, check, EePoseDeltaAction, Processor, tool_dims=dims) for name, summary, dims in (
    ("ee_pose_delta", "tool-point translation and rotation per step, by damped least-squares IK", 6),
    ("ee_position_delta", "tool-point translation per step (orientation held), by damped least-squares IK", 3))]
