"""Derive a RobotCfg from any Menagerie arm's MJCF, so new arms need no code."""

from __future__ import annotations

from functools import lru_cache

from simreal.errors import InputError
from simreal.robots.registry import RobotCfg, resolve_mjcf

_HINGE, _SLIDE = 3, 2  # mjtJoint values
_POSITION_BIAS = 1  # mjBIAS_AFFINE


@lru_cache(maxsize=None)
def robot_from_mjcf(relpath: str, ee_body: str | None = None) -> RobotCfg:
    """Constants read from the MJCF at ``<menagerie root>/<relpath>``.

    Arm joints: hinge joints driven by an actuator, in actuator order. Default pose:
    keyframe ``home`` if the model has one, else ``qpos0``. Limits: joint ranges and
    actuator force ranges. Gains: position-servo ``kp = gainprm[0]``, ``kv = -biasprm[2]``.
    Velocity limits are not in an MJCF; they are left at infinity (set them in code).
    ee_body: the last body of the chain unless given.
    """
    from simreal.mjcf import compile_mjcf

    path = resolve_mjcf(relpath)
    m = compile_mjcf(path)
    joints, actuators = [], []
    for a in range(m.nu):
        if m.actuator_trntype[a] != 0:  # joint transmission only
            continue
        j = int(m.actuator_trnid[a, 0])
        if m.jnt_type[j] == _HINGE:
            joints.append(j)
            actuators.append(a)
    if not joints:
        raise InputError(f"{path}: no hinge joint is driven by an actuator; cannot derive an arm")
    qpos = m.key_qpos[m.key("home").id] if _has_key(m, "home") else m.qpos0
    sources = {"all": f"derived from {path} by simreal.robots.derive"}
    last_body = int(m.jnt_bodyid[joints[-1]])
    return RobotCfg(
        name=f"menagerie:{relpath}",
        mjcf=relpath,
        joint_names=tuple(m.joint(j).name for j in joints),
        actuator_names=tuple(m.actuator(a).name for a in actuators),
        default_joint_pos=tuple(float(qpos[m.jnt_qposadr[j]]) for j in joints),
        joint_pos_limits=tuple((float(m.jnt_range[j, 0]), float(m.jnt_range[j, 1])) for j in joints),
        joint_vel_limits=tuple(float("inf") for _ in joints),
        joint_effort_limits=tuple(float(m.actuator_forcerange[a, 1]) or float("inf") for a in actuators),
        actuator_kp=tuple(float(m.actuator_gainprm[a, 0]) for a in actuators),
        actuator_kv=tuple(float(-m.actuator_biasprm[a, 2]) for a in actuators),
        ee_body=ee_body or m.body(last_body).name,
        sources=sources,
    )


def _has_key(m, name: str) -> bool:
    try:
        m.key(name)
        return True
    except KeyError:
        return False
