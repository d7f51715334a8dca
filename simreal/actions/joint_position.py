"""``joint_position``: absolute arm targets, ``clip(offset + scale * clip(a, -clip, clip),
limits)`` with ``offset`` the default pose, as Isaac Lab's joint-position action (what
``simreal import-rsl-rl`` bundles run). Latency, ``max_target_error`` and the gripper
column behave as in ``joint_position_delta``."""

from __future__ import annotations

import numpy as np

from simreal.actions import ActionType
from simreal.actions.arm import ArmTarget, f32
from simreal.actions.joint_position_delta import JointPositionDeltaAction, check
from simreal.lazy import LazyModule

torch = LazyModule("torch")  # the robot side imports this module without torch


class JointPositionAction(JointPositionDeltaAction):
    def __init__(self, env, cfg):
        super().__init__(env, cfg)
        self.offset = torch.tensor(env.robot.default_joint_pos, dtype=torch.float32, device=env.device)

    def proposed(self, arm_actions: torch.Tensor) -> torch.Tensor:
        return self.offset + self.cfg.scale * arm_actions


class Processor(ArmTarget):
    def __init__(self, spec, kinematics=None):
        super().__init__(spec, kinematics)
        a = spec.action
        self.offset = f32(a.offset if a.offset is not None else spec.default_joint_pos)

    def proposed(self, clipped, joint_pos) -> np.ndarray:
        return self.offset + self.scale * clipped


TYPES = [ActionType("joint_position", "absolute arm targets: default pose + scale * a", check,
                    JointPositionAction, Processor)]
