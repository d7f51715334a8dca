"""franka-reach: bring the Panda's tool point to a random target in front of it.

Success: the tool point is within ``SUCCESS_RADIUS_M`` of the target at the episode's
last step. The target is a position; the reward also asks the tool to point down, as
a grasp approach would.
"""

from __future__ import annotations

import torch

from simreal.envs.config import ActionCfg, EnvCfg, EventTerm, ObsGroupCfg, ObsTerm, RewardTerm
from simreal.mdp import events, rewards
from simreal.mdp import observations as obs
from simreal.sim.scene import MarkerCfg, SceneCfg

SUCCESS_RADIUS_M = 0.02
TARGET_LOW = (0.35, -0.3, 0.15)  # m, robot base frame
TARGET_HIGH = (0.65, 0.3, 0.55)


def reached(env) -> torch.Tensor:
    return rewards.ee_to_target_distance_l2(env, target="target") < SUCCESS_RADIUS_M


def franka_reach_cfg() -> EnvCfg:
    policy = ObsGroupCfg(
        terms={
            **obs.arm_joint_terms(noisy=True),
            "target": ObsTerm(obs.buffer, params={"name": "target"}),
            "last_action": ObsTerm(obs.last_action),
        },
        noisy=True,
    )
    critic = ObsGroupCfg(
        terms={
            **obs.arm_joint_terms(noisy=False),
            "target": ObsTerm(obs.buffer, params={"name": "target"}),
            "last_action": ObsTerm(obs.last_action),
            "ee_pos": ObsTerm(obs.ee_pos),
            "ee_to_target": ObsTerm(obs.buffer_minus_ee, params={"name": "target"}),
        },
        noisy=False,
    )
    return EnvCfg(
        scene=SceneCfg(robot="franka_panda", markers=[MarkerCfg("target_marker")]),
        actions=ActionCfg(type="joint_position_delta", scale=0.05, gripper=False),
        observations={"policy": policy, "critic": critic},
        rewards={
            "distance": RewardTerm(rewards.ee_to_target_distance_l2, weight=-0.5, params={"target": "target"}),
            "distance_fine": RewardTerm(rewards.ee_to_target_distance_tanh, weight=0.5,
                                        params={"target": "target", "std": 0.05}),
            "point_down": RewardTerm(rewards.ee_z_axis_down_cos, weight=0.05),
            "action_rate": RewardTerm(rewards.action_rate_l2, weight=-0.005),
            "joint_vel": RewardTerm(rewards.joint_vel_l2, weight=-0.001),
        },
        terminations={},
        events={
            "reset_joints": EventTerm(events.reset_joints_uniform, params={"offset_rad": (-0.2, 0.2)}),
            "target": EventTerm(
                events.sample_target_uniform,
                params={"name": "target", "low": TARGET_LOW, "high": TARGET_HIGH, "marker": "target_marker"},
            ),
            "actuator_gains": EventTerm(events.randomize_actuator_gains, params={"scale": (0.8, 1.2)}),
            "joint_damping": EventTerm(events.randomize_joint_damping, params={"scale": (0.5, 1.5)}),
        },
        success=reached,
        episode_length_s=3.0,
        decimation=10,  # 0.002 s physics, 50 Hz control
    )
