"""Environment configuration: plain dataclasses, filled in by task factory functions.

No ``__post_init__`` logic: what a factory returns (plus command-line overrides) is
exactly what runs, and it is what a run writes next to its checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, ClassVar

from simreal.sim.scene import SceneCfg

Term = Callable[..., "object"]  # term(env, **params) -> Tensor (num_envs, ...)


@dataclass
class ObsTerm:
    """One observation term: ``func(env, **params) -> (num_envs, dim)``.

    In groups with ``noisy=True`` the term gets Gaussian noise (``noise_std`` per step)
    plus a per-episode offset (``bias_std``, resampled at reset: a calibration error).
    The result is multiplied by ``scale`` after noise.
    """

    func: Term
    params: dict = field(default_factory=dict)
    noise_std: float = 0.0
    bias_std: float = 0.0
    scale: float = 1.0

    LIMITS: ClassVar[dict] = {"noise_std": (0.0, None), "bias_std": (0.0, None)}


@dataclass
class ObsGroupCfg:
    terms: dict[str, ObsTerm]
    noisy: bool = True  # False for privileged groups such as "critic"


@dataclass
class RewardTerm:
    func: Term
    weight: float
    params: dict = field(default_factory=dict)


@dataclass
class TerminationTerm:
    """``func(env, **params) -> bool (num_envs,)``; ``time_out`` terms truncate instead of terminate."""

    func: Term
    params: dict = field(default_factory=dict)
    time_out: bool = False


@dataclass
class EventTerm:
    """``func(env, env_ids, **params)``, run on ``mode`` "startup" (once) or "reset"."""

    func: Callable
    params: dict = field(default_factory=dict)
    mode: str = "reset"


@dataclass
class ActionCfg:
    """Arm actions, and optionally a binary-ish gripper. ``type`` names a
    :mod:`simreal.actions` type (``simreal.actions.action_types()``), whose module defines
    its maths and says which of these fields it reads: ``joint_position_delta``,
    ``joint_position``, ``ee_pose_delta``, ``ee_position_delta``. The gripper action (last
    column, if ``gripper``) opens for a > 0 and closes for a <= 0.
    """

    type: str = "joint_position_delta"
    scale: float = 0.05  # rad per control step at |a| = 1
    clip: float = 1.0  # actions are clipped to [-clip, clip] before scaling
    gripper: bool = False
    # action latency: each env, at reset, draws a delay of 0..max_latency_steps control steps
    max_latency_steps: int = 0
    # rad; keep each joint target within this of the measured position, as a servo's
    # following-error limit (None: the target accumulates without bound and winds up when
    # the arm is blocked, and actions then stop moving it)
    max_target_error: float | None = None
    # the robot side's safety filter in training: each joint target moves at most its velocity
    # limit times the control period per step (the step bound a deployed command is clipped to)
    bound_step: bool = False
    # ee actions: ((x_lo, x_hi), (y_lo, y_hi), (z_lo, z_hi)) m, world frame; the commanded tool
    # point stays inside this box, as a real arm's workspace limits keep it off the table
    workspace: tuple | None = None


@dataclass
class EnvCfg:
    scene: SceneCfg
    actions: ActionCfg
    observations: dict[str, ObsGroupCfg]
    rewards: dict[str, RewardTerm]
    terminations: dict[str, TerminationTerm]
    events: dict[str, EventTerm]
    success: Term  # success(env) -> bool (num_envs,), judged on the last step of an episode
    episode_length_s: float = 5.0
    decimation: int = 10  # physics steps per control step
    num_envs: int = 64
    seed: int = 0
    backend: str = "mujoco"
    device: str = "cpu"
    nthread: int = 0  # CPU backend threads, 0 = all cores
    # envs whose |qvel| exceeds this (or turns non-finite) count as diverged and are reset
    max_joint_speed: float = 100.0
    # observation groups to compute (None: all); training asks only for the groups its models
    # read, so a privileged teacher does not pay for tactile images it never sees
    obs_groups: list[str] | None = None
    # the arm's physics (a ``--physics`` file's keys, simreal.robots.physics; e.g. a sysid fit):
    # they become the model's nominal values, so the task's randomization centres on them
    physics: dict | None = None
    # with a fit's uncertainty in ``physics`` (its pm95): "fit" takes the arm-physics events' ranges
    # from it (simreal.mdp.events.fit_widths); "task" keeps the task's own ranges
    physics_widths: str = "fit"
    # automatic domain randomization over the reset events' scale ranges (simreal.mdp.adr): None, or
    # its settings ({} for the defaults)
    adr: dict | None = None

    LIMITS: ClassVar[dict] = {"episode_length_s": (1e-6, None), "decimation": (1, None), "num_envs": (1, None),
                              "nthread": (0, None), "max_joint_speed": (1e-6, None)}
