"""franka-cabinet-drawer: open the top drawer of a chest of drawers in front of the Panda.

The chest is a digital twin made by the project itself: a procedural chest of drawers
exported as part meshes and run through ``simreal twin build`` on first use (cached under
``$SIMREAL_CACHE/twins``; see ``simreal.twin.assets``). Its drawers are prismatic joints
found by the twin pipeline, with the limits its critic swept.

Success: at the episode's last step the top drawer is open at least ``SUCCESS_OPEN_M``.
The critic sees the drawer's opening and speed and the exact handle position; the policy
sees the handle position as a camera-based estimate would give it (noise and offset).
"""

from __future__ import annotations

import torch

from simreal.envs.config import ActionCfg, EnvCfg, EventTerm, ObsGroupCfg, ObsTerm, RewardTerm
from simreal.mdp import events, rewards
from simreal.mdp import observations as obs
from simreal.sim.scene import MjcfObjectCfg, SceneCfg

CHEST_POS = (0.85, 0.0, 0.0)  # m; the chest's front faces the robot (-x), top drawer handle at ~0.6 m, 0.37 m high
DRAWER = "drawer_1"  # the top drawer
SUCCESS_OPEN_M = 0.15
HANDLE_BAR_RADIUS_M = 0.008  # the generator's pull bar (procedural.bar_handle)


def drawer_joint_name() -> str:
    return f"chest/{DRAWER}_joint"


def drawer_opening(env) -> torch.Tensor:
    """(num_envs, 1) how far the drawer is pulled out, m."""
    adr = int(env.model.joint(drawer_joint_name()).qposadr[0])
    return env.backend.qpos[:, adr : adr + 1].float()


def drawer_speed(env) -> torch.Tensor:
    adr = int(env.model.joint(drawer_joint_name()).dofadr[0])
    return env.backend.qvel[:, adr : adr + 1].float()


def handle_pos(env) -> torch.Tensor:
    """(num_envs, 3) the drawer handle's centre, world frame."""
    return obs.site_pos(env, "drawer_handle")


def handle_minus_ee(env) -> torch.Tensor:
    return handle_pos(env) - env.ee_pos


def ee_to_handle_tanh(env, std: float) -> torch.Tensor:
    return 1.0 - torch.tanh(torch.linalg.norm(handle_minus_ee(env), dim=1) / std)


def drawer_open_fraction(env, target_m: float) -> torch.Tensor:
    return torch.clamp(drawer_opening(env)[:, 0] / target_m, 0.0, 1.0)


def drawer_open(env) -> torch.Tensor:
    return drawer_opening(env)[:, 0] >= SUCCESS_OPEN_M


def _chest_object() -> MjcfObjectCfg:
    from simreal.twin.assets import chest_twin

    mjcf, report = chest_twin()
    origin = next(j["origin"] for j in report["joints"] if j["child"] == DRAWER)
    front_x = report["bbox"][0][0]  # the pull bars are the front-most geometry
    handle = (front_x + HANDLE_BAR_RADIUS_M - origin[0], 0.0, 0.0)
    return MjcfObjectCfg("chest", str(mjcf), pos=CHEST_POS, sites={"drawer_handle": (DRAWER, handle)})


def franka_cabinet_drawer_cfg() -> EnvCfg:
    policy = ObsGroupCfg(
        terms={
            **obs.arm_joint_terms(noisy=True),
            "gripper_width": ObsTerm(obs.gripper_width, noise_std=0.001),
            # camera estimate of the handle: from /objects/drawer_handle/pose on the robot
            "handle_pos": ObsTerm(obs.site_pos, params={"site": "drawer_handle"}, noise_std=0.002, bias_std=0.005),
            "last_action": ObsTerm(obs.last_action),
        },
        noisy=True,
    )
    critic = ObsGroupCfg(
        terms={
            **obs.arm_joint_terms(noisy=False),
            "gripper_width": ObsTerm(obs.gripper_width),
            "handle_pos": ObsTerm(handle_pos),
            "handle_to_ee": ObsTerm(handle_minus_ee),
            "drawer_opening": ObsTerm(drawer_opening),
            "drawer_speed": ObsTerm(drawer_speed),
            "last_action": ObsTerm(obs.last_action),
        },
        noisy=False,
    )
    return EnvCfg(
        scene=SceneCfg(robot="franka_panda", mjcf_objects=[_chest_object()]),
        actions=ActionCfg(type="joint_position_delta", scale=0.05, gripper=True),
        observations={"policy": policy, "critic": critic},
        rewards={
            "reach_handle": RewardTerm(ee_to_handle_tanh, weight=1.0, params={"std": 0.1}),
            "reach_handle_fine": RewardTerm(ee_to_handle_tanh, weight=1.0, params={"std": 0.02}),
            "open": RewardTerm(drawer_open_fraction, weight=10.0, params={"target_m": SUCCESS_OPEN_M}),
            "action_rate": RewardTerm(rewards.action_rate_l2, weight=-0.005),
            "joint_vel": RewardTerm(rewards.joint_vel_l2, weight=-0.001),
        },
        terminations={},
        events={
            "reset_joints": EventTerm(events.reset_joints_uniform, params={"offset_rad": (-0.1, 0.1)}),
            "actuator_gains": EventTerm(events.randomize_actuator_gains, params={"scale": (0.8, 1.2)}),
            "joint_damping": EventTerm(events.randomize_joint_damping, params={"scale": (0.5, 1.5)}),
        },
        success=drawer_open,
        episode_length_s=6.0,
        decimation=10,
    )
