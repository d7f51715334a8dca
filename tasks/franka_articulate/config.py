"""franka-articulate: open (pull, turn or press) one joint of any digital twin in front of the Panda.

    simreal train franka-articulate --set env.twin=DIR --set env.joint=NAME [--set env.open_fraction=0.5]

``DIR`` is a ``simreal twin build`` output (its MJCF and report.json), ``NAME`` one of its
prismatic or revolute joints (default: the first). Without ``env.twin`` the twin is simreal's
own chest of drawers (as in franka-cabinet-drawer). :mod:`simreal.twin.grasp` reads, from the
twin's geometry, where to take hold (the handle, or the moving part's leading face; for a
hinge, its edge away from the axis) and turns and places the twin so that this grasp point
faces the robot at a comfortable reach; the twin's base is welded there.

Actions (``env.action``): tool-point position deltas by differential IK, the hand kept as it
was at reset (``ee_position_delta``, the default: a pull is a straight line in them), or joint
deltas (``joint_position_delta``); both with the gripper. Rewards: reach the grasp point, hold
it (the gripper closed on something there), and open the joint.

Success: at the episode's last step the joint has opened ``open_fraction`` of its travel from
rest. The critic sees the joint's opening and speed and the exact grasp point; the policy sees
the grasp point as a camera-based estimate would give it (noise and offset), on the robot
``/objects/grasp/pose``.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import torch

from simreal.envs.config import ActionCfg, EnvCfg, EventTerm, ObsGroupCfg, ObsTerm, RewardTerm
from simreal.errors import InputError
from simreal.mdp import events, rewards
from simreal.mdp import observations as obs
from simreal.sim.scene import MjcfObjectCfg, SceneCfg

OBJECT = "twin"  # the scene prefix of the twin's names
GRASP_SITE = "grasp"


def _qpos(env, joint: str) -> torch.Tensor:
    adr = int(env.model.joint(joint).qposadr[0])
    return env.backend.qpos[:, adr : adr + 1].float()


def opening(env, joint: str, sign: float) -> torch.Tensor:
    """(num_envs, 1) the joint's travel from rest toward open (m or rad; negative: pushed past rest)."""
    return sign * _qpos(env, joint)


def opening_speed(env, joint: str, sign: float) -> torch.Tensor:
    adr = int(env.model.joint(joint).dofadr[0])
    return sign * env.backend.qvel[:, adr : adr + 1].float()


def grasp_minus_ee(env) -> torch.Tensor:
    return obs.site_pos(env, GRASP_SITE) - env.ee_pos


def ee_to_grasp_tanh(env, std: float) -> torch.Tensor:
    return 1.0 - torch.tanh(torch.linalg.norm(grasp_minus_ee(env), dim=1) / std)


def grasp_held(env, max_distance: float = 0.03, min_width: float = 0.004) -> torch.Tensor:
    """1 where the tool point is within ``max_distance`` (m) of the grasp point, the gripper is
    commanded closed and its fingers stop at least ``min_width`` apart (closed on something:
    a handle, an edge), else 0."""
    near = torch.linalg.norm(grasp_minus_ee(env), dim=1) < max_distance
    closed = rewards.gripper_commanded_closed(env)
    return (near & closed & (obs.gripper_width(env)[:, 0] > min_width)).float()


def open_progress(env, joint: str, sign: float, travel: float, fraction: float) -> torch.Tensor:
    """0..1: the opening over ``fraction`` of the joint's travel."""
    return torch.clamp(opening(env, joint, sign)[:, 0] / (fraction * travel), 0.0, 1.0)


def is_open(env, joint: str, sign: float, travel: float, fraction: float) -> torch.Tensor:
    return opening(env, joint, sign)[:, 0] >= fraction * travel


def _twin(twin, joint):
    from simreal.twin.grasp import joint_grasp

    if twin is None:
        from simreal.twin.assets import chest_twin

        return joint_grasp(chest_twin()[0].parent, joint or "drawer_1_joint")
    if not isinstance(twin, (str, Path)) or not str(twin):
        raise InputError(f"env.twin must be a twin directory (simreal twin build --out DIR), got {twin!r}")
    if joint is not None and not isinstance(joint, str):
        raise InputError(f"env.joint must be a joint name of the twin, got {joint!r}")
    return joint_grasp(Path(twin).expanduser().resolve(), joint)


# the tool point's box for ee actions (robot base frame, m): off the floor, round the grasp
# point (simreal.twin.grasp.GRASP_AT) and wherever an opening joint takes it
WORKSPACE_M = ((0.2, 0.85), (-0.5, 0.5), (0.03, 0.8))
ACTIONS = {
    "ee_position_delta": ActionCfg(type="ee_position_delta", scale=0.01, gripper=True, max_target_error=0.2,
                                   workspace=WORKSPACE_M),
    "joint_position_delta": ActionCfg(type="joint_position_delta", scale=0.05, gripper=True),
}


def franka_articulate_cfg(twin: str | None = None, joint: str | None = None, open_fraction: float = 0.5,
                          action: str = "ee_position_delta") -> EnvCfg:
    if action not in ACTIONS:
        raise InputError(f"env.action must be one of {sorted(ACTIONS)}, got {action!r}")
    if isinstance(open_fraction, bool) or not isinstance(open_fraction, (int, float)) or not 0 < open_fraction <= 1:
        raise InputError(f"env.open_fraction must be a number in (0, 1], got {open_fraction!r}")
    g = _twin(twin, joint)
    joint = {"joint": f"{OBJECT}/{g.joint}", "sign": g.open_sign}
    goal = {**joint, "travel": g.travel, "fraction": float(open_fraction)}
    obj = MjcfObjectCfg(OBJECT, str(g.mjcf), pos=g.pos, quat=g.quat, sites={GRASP_SITE: (g.body, g.grasp_local)})
    policy = ObsGroupCfg(
        terms={
            **obs.arm_joint_terms(noisy=True),
            "gripper_width": ObsTerm(obs.gripper_width, noise_std=0.001),
            # camera estimate of the grasp point: from /objects/grasp/pose on the robot
            "grasp_pos": ObsTerm(obs.site_pos, params={"site": GRASP_SITE}, noise_std=0.002, bias_std=0.005),
            "last_action": ObsTerm(obs.last_action),
        },
        noisy=True,
    )
    critic = ObsGroupCfg(
        terms={
            **obs.arm_joint_terms(noisy=False),
            "gripper_width": ObsTerm(obs.gripper_width),
            "grasp_pos": ObsTerm(obs.site_pos, params={"site": GRASP_SITE}),
            "grasp_to_ee": ObsTerm(grasp_minus_ee),
            "opening": ObsTerm(opening, params=joint),
            "opening_speed": ObsTerm(opening_speed, params=joint),
            "last_action": ObsTerm(obs.last_action),
        },
        noisy=False,
    )
    return EnvCfg(
        scene=SceneCfg(robot="franka_panda", mjcf_objects=[obj]),
        actions=dataclasses.replace(ACTIONS[action]),
        observations={"policy": policy, "critic": critic},
        rewards={
            "reach_grasp": RewardTerm(ee_to_grasp_tanh, weight=1.0, params={"std": 0.1}),
            "reach_grasp_fine": RewardTerm(ee_to_grasp_tanh, weight=1.0, params={"std": 0.02}),
            "hold": RewardTerm(grasp_held, weight=1.0),
            "open": RewardTerm(open_progress, weight=10.0, params=goal),
            "action_rate": RewardTerm(rewards.action_rate_l2, weight=-0.005),
            "joint_vel": RewardTerm(rewards.joint_vel_l2, weight=-0.001),
        },
        terminations={},
        events={
            "reset_joints": EventTerm(events.reset_joints_uniform, params={"offset_rad": (-0.1, 0.1)}),
            "actuator_gains": EventTerm(events.randomize_actuator_gains, params={"scale": (0.8, 1.2)}),
            "joint_damping": EventTerm(events.randomize_joint_damping, params={"scale": (0.5, 1.5)}),
        },
        success=functools.partial(is_open, **goal),
        episode_length_s=6.0,
        decimation=10,
    )
