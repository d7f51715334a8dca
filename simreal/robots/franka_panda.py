"""Franka Emika Panda, as modelled in MuJoCo Menagerie's ``franka_emika_panda/panda.xml``."""

import mujoco

from simreal.errors import InputError
from simreal.robots.registry import RobotCfg, register_robot

_MENAGERIE = "MuJoCo Menagerie franka_emika_panda/panda.xml"
_FRANKA_LIMITS = "Franka Control Interface docs, 'Robot and interface specifications' (Panda limits table)"

FRANKA_PANDA = register_robot(
    RobotCfg(
        name="franka_panda",
        mjcf="franka_emika_panda/panda.xml",
        joint_names=tuple(f"joint{i}" for i in range(1, 8)),
        actuator_names=tuple(f"actuator{i}" for i in range(1, 8)),
        default_joint_pos=(0.0, 0.0, 0.0, -1.57079, 0.0, 1.57079, -0.7853),
        joint_pos_limits=(
            (-2.8973, 2.8973),
            (-1.7628, 1.7628),
            (-2.8973, 2.8973),
            (-3.0718, -0.0698),
            (-2.8973, 2.8973),
            (-0.0175, 3.7525),
            (-2.8973, 2.8973),
        ),
        joint_vel_limits=(2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61),
        joint_effort_limits=(87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0),
        actuator_kp=(4500.0, 4500.0, 3500.0, 3500.0, 2000.0, 2000.0, 2000.0),
        actuator_kv=(450.0, 450.0, 350.0, 350.0, 200.0, 200.0, 200.0),
        ee_body="hand",
        ee_offset=(0.0, 0.0, 0.1034),
        gripper_joint_names=("finger_joint1", "finger_joint2"),
        gripper_actuator="actuator8",
        gripper_ctrl_open=255.0,
        gripper_ctrl_closed=0.0,
        sources={
            "joint_names": _MENAGERIE,
            "default_joint_pos": _MENAGERIE + ", keyframe 'home'",
            "joint_pos_limits": _MENAGERIE + " joint ranges (equal to " + _FRANKA_LIMITS + ")",
            "joint_vel_limits": _FRANKA_LIMITS,
            "joint_effort_limits": _FRANKA_LIMITS + "; the model's forcerange",
            "actuator_kp": _MENAGERIE + ", actuator gainprm",
            "actuator_kv": _MENAGERIE + ", actuator biasprm[2]",
            "ee_offset": "Franka hand: flange to TCP 0.1034 m (Franka Hand product manual)",
            "gripper": _MENAGERIE + ", actuator8: ctrl 0..255 maps to finger width 0..0.04 m",
        },
    )
)


FRANKA_HAND_FORCE_N = 70.0  # continuous grasping force (Franka Hand product manual)


def firm_grip(spec: mujoco.MjSpec, gripper_actuator: str = "actuator8", gain_scale: float = 10.0) -> None:
    """Scene hook: make the Franka hand hold parts: Menagerie's position gripper (kp 100 N/m) squeezes a
    12 mm peg with about 0.5 N, far under the real hand's 70 N; scale its gains (force capped
    at 70 N) and use elliptic friction cones with impratio 10, so held parts do not creep."""
    act = spec.actuator(gripper_actuator)
    if act is None:
        raise InputError(f"the model has no actuator {gripper_actuator!r}")
    act.gainprm[0] *= gain_scale
    act.biasprm[1] *= gain_scale
    act.biasprm[2] *= gain_scale
    act.forcerange = [-FRANKA_HAND_FORCE_N, FRANKA_HAND_FORCE_N]
    spec.option.impratio = 10.0
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
