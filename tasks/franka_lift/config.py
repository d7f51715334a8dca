"""franka-lift: grasp a cube lying in front of the Panda and lift it to a target height.

Success: at the episode's last step the cube's centre is within ``SUCCESS_TOL_M`` of
the target height (the target sits above the cube's start position).

Actions: joint-position deltas (``franka-lift``, what the deployment node streams) or
tool-point position deltas by differential IK with the hand kept top-down and the tool
above the floor (``franka-lift-ik``, as ManiSkill's ``pd_ee_delta_pos``); both with a binary
gripper column. Rewards, after Isaac Lab's lift and ManiSkill's PickCube: reach the cube,
hold it (:func:`simreal.mdp.rewards.body_grasped`), and, while holding it, bring it to the
target height; a bonus once it is off the floor.
"""

from __future__ import annotations

import torch

from simreal.envs.config import ActionCfg, EnvCfg, EventTerm, ObsGroupCfg, ObsTerm, RewardTerm, TerminationTerm
from simreal.mdp import events, rewards, terminations
from simreal.mdp import observations as obs
from simreal.robots.franka_panda import firm_grip
from simreal.sim.scene import BoxCfg, MarkerCfg, SceneCfg

CUBE_HALF_M = 0.02
SUCCESS_TOL_M = 0.03
LIFTED_M = 0.06  # cube centre above this counts as lifted (resting height is 0.02)
TARGET_HEIGHT_M = (0.15, 0.30)
# the tool point's box for ee actions: its floor (the cube's centre height) keeps the fingertips off the ground
WORKSPACE_M = ((0.25, 0.75), (-0.35, 0.35), (0.02, 0.6))


def cube_at_target_height(env) -> torch.Tensor:
    z = env.body_pos("cube")[:, 2]
    return (z - env.buffers["target"][:, 2]).abs() < SUCCESS_TOL_M


def franka_lift_cfg(action: str = "joint_position_delta") -> EnvCfg:
    policy = ObsGroupCfg(
        terms={
            **obs.arm_joint_terms(noisy=True),
            "gripper_width": ObsTerm(obs.gripper_width, noise_std=0.001),
            # cube position from a camera-based estimator: per-episode offset plus jitter
            "cube_pos": ObsTerm(obs.body_pos, params={"body": "cube"}, noise_std=0.002, bias_std=0.003),
            "target": ObsTerm(obs.buffer, params={"name": "target"}),
            "last_action": ObsTerm(obs.last_action),
        },
        noisy=True,
    )
    critic = ObsGroupCfg(
        terms={
            **obs.arm_joint_terms(noisy=False),
            "gripper_width": ObsTerm(obs.gripper_width),
            "cube_pos": ObsTerm(obs.body_pos, params={"body": "cube"}),
            "cube_quat": ObsTerm(obs.body_quat, params={"body": "cube"}),
            "cube_vel": ObsTerm(obs.body_lin_vel, params={"joint": "cube_joint"}),
            "cube_to_ee": ObsTerm(obs.body_minus_ee, params={"body": "cube"}),
            "target": ObsTerm(obs.buffer, params={"name": "target"}),
            "last_action": ObsTerm(obs.last_action),
        },
        noisy=False,
    )
    return EnvCfg(
        scene=SceneCfg(
            robot="franka_panda",
            spec_hooks=[firm_grip],  # the real hand's 70 N grip, not Menagerie's ~4 N
            objects=[BoxCfg("cube", half_size=(CUBE_HALF_M,) * 3, pos=(0.5, 0.0, CUBE_HALF_M), mass=0.05)],
            markers=[MarkerCfg("target_marker")],
        ),
        # targets stay within 0.2 rad of the measured joints (a fast move lags by up to ~0.2 rad):
        # unbounded, a policy pressing on the floor wound them up by >1 rad and its actions stopped acting
        actions=ActionCfg(type="joint_position_delta", scale=0.05, gripper=True, max_target_error=0.2)
        if action == "joint_position_delta"
        else ActionCfg(type=action, scale=0.01, gripper=True, max_target_error=0.2, workspace=WORKSPACE_M),
        observations={"policy": policy, "critic": critic},
        rewards={
            "reach_cube": RewardTerm(rewards.ee_to_body_distance_tanh, weight=1.0,
                                     params={"body": "cube", "std": 0.25}),
            "grasp": RewardTerm(rewards.body_grasped, weight=2.0, params={"body": "cube", "width": 2 * CUBE_HALF_M}),
            "lifted": RewardTerm(rewards.body_height_above, weight=5.0,
                                 params={"body": "cube", "min_height": LIFTED_M}),
            "raise": RewardTerm(
                rewards.grasped_height_ramp,
                weight=5.0,
                params={"body": "cube", "width": 2 * CUBE_HALF_M, "low": CUBE_HALF_M, "high": LIFTED_M},
            ),
            "height": RewardTerm(
                rewards.grasped_height_to_target_tanh,
                weight=10.0,
                params={"body": "cube", "target": "target", "std": 0.1, "width": 2 * CUBE_HALF_M},
            ),
            "height_fine": RewardTerm(
                rewards.body_height_to_target_tanh,
                weight=5.0,
                params={"body": "cube", "target": "target", "std": 0.02, "min_height": LIFTED_M},
            ),
            "action_rate": RewardTerm(rewards.action_rate_l2, weight=-1e-4),
            "joint_vel": RewardTerm(rewards.joint_vel_l2, weight=-1e-4),
        },
        terminations={
            "cube_fell": TerminationTerm(terminations.body_below, params={"body": "cube", "min_height": -0.05}),
            "cube_away": TerminationTerm(terminations.body_out_of_reach, params={"body": "cube", "max_distance": 1.0}),
        },
        events={
            "reset_joints": EventTerm(events.reset_joints_uniform, params={"offset_rad": (-0.1, 0.1)}),
            "reset_cube": EventTerm(
                events.reset_free_body_uniform,
                params={"joint": "cube_joint", "x": (0.4, 0.6), "y": (-0.15, 0.15), "z": CUBE_HALF_M,
                        "yaw": (-0.8, 0.8)},
            ),
            "target": EventTerm(
                events.target_above_body,
                params={"name": "target", "joint": "cube_joint", "height": TARGET_HEIGHT_M, "marker": "target_marker"},
            ),
            "cube_mass": EventTerm(events.randomize_body_mass, params={"body": "cube", "scale": (0.5, 2.0)}),
            "cube_friction": EventTerm(events.randomize_geom_friction, params={"geom": "cube", "scale": (0.7, 1.3)}),
            "actuator_gains": EventTerm(events.randomize_actuator_gains, params={"scale": (0.8, 1.2)}),
            "joint_damping": EventTerm(events.randomize_joint_damping, params={"scale": (0.5, 1.5)}),
            "joint_armature": EventTerm(events.randomize_joint_armature, params={"scale": (0.8, 1.2)}),
        },
        success=cube_at_target_height,
        episode_length_s=5.0,
        decimation=10,
    )
