"""What every action term shares: the accumulating arm target (bounded by the servo's
following error and the joint limits), writing it and the gripper into the backend's
controls, and the float32 numpy mirror of the same target for one arm on a robot."""

from __future__ import annotations

import numpy as np

from simreal.errors import InputError
from simreal.lazy import LazyModule

torch = LazyModule("torch")  # the robot side imports this module without torch


def check_arm(cfg) -> None:
    """The ActionCfg fields every type reads: finite, positive scale and clip, sane latency."""
    import math

    for name in ("scale", "clip"):
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise InputError(f"actions.{name} must be a finite number > 0, got {value!r}")
    if not isinstance(cfg.max_latency_steps, int) or cfg.max_latency_steps < 0:
        raise InputError(f"actions.max_latency_steps must be an integer >= 0, got {cfg.max_latency_steps!r}")
    if not isinstance(cfg.bound_step, bool):
        raise InputError(f"actions.bound_step must be true or false, got {cfg.bound_step!r}")
    bound = cfg.max_target_error
    if bound is not None and not (isinstance(bound, (int, float)) and math.isfinite(bound) and bound > 0):
        raise InputError(f"actions.max_target_error must be None or a finite number > 0, got {bound!r}")


def no_workspace(cfg) -> None:
    if cfg.workspace is not None:
        raise InputError(f"actions.workspace bounds a tool point: it needs 'ee_position_delta' or 'ee_pose_delta' "
                         f"actions, not {cfg.type!r}")


def bounded_target(term, target: torch.Tensor) -> torch.Tensor:
    """A proposed arm target kept within ``max_target_error`` of the measured joint
    positions (if set), within a step of ``term.target`` (the last target) of the velocity
    limits times the control period (``bound_step``: the deployed safety filter's step
    bound), then within the joint limits."""
    bound = term.cfg.max_target_error
    if bound is not None:
        q = term.env.joint_pos
        target = torch.minimum(torch.maximum(target, q - bound), q + bound)
    if term.cfg.bound_step:
        env = term.env
        step = torch.tensor(env.robot.joint_vel_limits, dtype=target.dtype, device=target.device) * env.step_dt
        target = torch.minimum(torch.maximum(target, term.target - step), term.target + step)
    return torch.clamp(target, term.lower, term.upper)


def write_arm_ctrl(env, env_ids, arm_target: torch.Tensor, gripper_action: torch.Tensor | None) -> None:
    """Write arm joint targets (and an open/close gripper command) into the backend's ctrl,
    for all envs (``env_ids`` None) or the given ones."""
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


class ActionDelay:
    """Action latency in training: each env plays the action it was given ``latency[env]``
    control steps ago, a delay drawn per episode from 0..``max_steps`` (``actions.max_latency_steps``)."""

    def __init__(self, env, num_actions: int, max_steps: int):
        self.env, self.max_steps = env, max_steps
        n, dev = env.num_envs, env.device
        self.history = torch.zeros(n, max_steps + 1, num_actions, device=dev)
        self.latency = torch.zeros(n, dtype=torch.long, device=dev)
        self._rows = torch.arange(n, device=dev)

    def reset(self, env_ids: torch.Tensor) -> None:
        self.history[env_ids] = 0.0
        if self.max_steps > 0:
            self.latency[env_ids] = torch.randint(0, self.max_steps + 1, (len(env_ids),), generator=self.env.rng,
                                                  device=self.env.device)

    def __call__(self, actions: torch.Tensor) -> torch.Tensor:
        """The actions to play now, given this step's."""
        if self.max_steps == 0:
            return actions
        self.history[:] = torch.roll(self.history, 1, dims=1)
        self.history[:, 0] = actions
        return self.history[self._rows, self.latency]


def f32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).astype(np.float32)


class ArmTarget:
    """The robot side's arm target, float32 as in training: ``reset`` to the measured pose
    (the env does this at every reset), ``sync`` to what was actually commanded (after a
    safety-filter intervention); subclasses define ``proposed(action, joint_pos)``, and
    ``process(action, joint_pos) -> target`` bounds it as :func:`bounded_target` does."""

    def __init__(self, spec, kinematics=None):
        a = spec.action
        self.scale, self.clip = np.float32(a.scale), np.float32(a.clip)
        self.bound = None if a.max_target_error is None else np.float32(a.max_target_error)
        limits = f32(spec.joint_pos_limits)
        self.lower, self.upper = limits[:, 0], limits[:, 1]
        self.target = f32(spec.default_joint_pos)
        self.kinematics = kinematics

    def reset(self, measured_joint_pos) -> None:
        self.target = f32(measured_joint_pos)

    def sync(self, commanded_joint_pos) -> None:
        self.target = f32(commanded_joint_pos)

    def clipped(self, action) -> np.ndarray:
        return np.clip(np.asarray(action, dtype=np.float32), -self.clip, self.clip)

    def process(self, action, joint_pos) -> np.ndarray:
        """The next joint target for the arm columns of one action, from the measured joint positions."""
        q = f32(joint_pos)
        target = self.proposed(self.clipped(action), q)
        if self.bound is not None:
            target = np.minimum(np.maximum(target, q - self.bound), q + self.bound)
        self.target = np.clip(target, self.lower, self.upper)
        return self.target.copy()


class GripperCommand:
    """The robot side of the gripper column: > 0 opens, <= 0 closes (training's semantics),
    as a width command (m) moving toward the open or closed width at most ``max_speed``
    per second; it starts from the measured width at every reset."""

    def __init__(self, gripper, period_s: float):
        self.open, self.closed = float(gripper.open_width), float(gripper.closed_width)
        self.max_step = float(gripper.max_speed) * float(period_s)
        self.width = self.open

    def reset(self, measured_width: float) -> None:
        self.width = float(np.clip(measured_width, self.closed, self.open))

    def process(self, column: float) -> float:
        goal = self.open if column > 0 else self.closed
        self.width = float(np.clip(goal, self.width - self.max_step, self.width + self.max_step))
        return self.width
