"""``joint_position_delta``: each arm joint's target moves by ``scale * clip(a, -clip, clip)``
per control step from where it was, within the joint limits (and, with
``max_target_error``, within that much of the measured pose). The target starts at the
measured pose at every reset. With ``gripper``, the last action column opens (> 0) or
closes (<= 0) the gripper."""

from __future__ import annotations

import numpy as np

from simreal.actions import ActionType
from simreal.actions.arm import ActionDelay, ArmTarget, bounded_target, check_arm, no_workspace, write_arm_ctrl
from simreal.errors import InputError
from simreal.lazy import LazyModule

torch = LazyModule("torch")  # the robot side imports this module without torch


def check(cfg) -> None:
    check_arm(cfg)
    no_workspace(cfg)


class JointPositionDeltaAction:
    """Arm joint targets move by ``scale * a`` per control step, clipped to joint limits (batched torch).

    The target accumulates (it is the commanded pose, not the measured one), which is
    also what the deployment node streams to a forward position controller;
    ``max_target_error`` keeps it near the measured pose. With
    ``gripper``, the last action column opens (> 0) or closes (<= 0) the gripper.
    Latency: :class:`~simreal.actions.arm.ActionDelay`.
    """

    def __init__(self, env, cfg):
        check(cfg)
        if cfg.gripper and env.robot.gripper_actuator is None:
            raise InputError(f"robot {env.robot.name!r} has no gripper actuator; set actions.gripper=False")
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
        self.delay = ActionDelay(env, self.num_actions, cfg.max_latency_steps)

    def reset(self, env_ids: torch.Tensor) -> None:
        env = self.env
        self.target[env_ids] = env.joint_pos[env_ids]
        self.last_action[env_ids] = 0.0
        self.prev_action[env_ids] = 0.0
        self.delay.reset(env_ids)
        has_gripper = env.robot.gripper_actuator is not None  # every episode starts with an open gripper
        gripper = torch.ones(len(env_ids), 1, device=env.device) if has_gripper else None
        write_arm_ctrl(self.env, env_ids, self.target[env_ids], gripper)

    def apply(self, actions: torch.Tensor) -> None:
        """actions: (num_envs, num_actions), finite."""
        self.prev_action[:] = self.last_action
        self.last_action[:] = actions
        actions = self.delay(actions).clamp(-self.cfg.clip, self.cfg.clip)
        self.target[:] = bounded_target(self, self.proposed(actions[:, : self.num_arm]))
        write_arm_ctrl(self.env, None, self.target, actions[:, self.num_arm :] if self.cfg.gripper else None)

    def proposed(self, arm_actions: torch.Tensor) -> torch.Tensor:
        """The new arm target for clipped arm actions, before bounds (what a subclass changes)."""
        return self.target + self.cfg.scale * arm_actions


class Processor(ArmTarget):
    """The robot side (numpy, one arm): the same accumulation from the measured pose."""

    def proposed(self, clipped, joint_pos) -> np.ndarray:
        return self.target + self.scale * clipped


TYPES = [ActionType("joint_position_delta", "arm joint targets move by scale * a per step", check,
                    JointPositionDeltaAction, Processor)]
