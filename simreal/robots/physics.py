"""An arm's physics as a file: the joint and servo parameters a real arm has and the robot
model only estimates. ``simreal sim-robot --physics FILE.yaml`` runs an arm (or a task
cell) with them; a system-identification fit writes the same format.

Keys, each optional, per joint in the robot's canonical order::

    joint_damping: [7 floats]        # N m s / rad, absolute
    joint_frictionloss: [7 floats]   # N m, absolute
    joint_armature: [7 floats]       # kg m^2, absolute
    actuator_kp_scale: 1.0           # multiplies the position servos' stiffness
    actuator_kv_scale: 1.0           # multiplies their damping
    command_latency_s: 0.0           # commands take effect this much later
    pm95: {key: 95 % half-width}     # a fit's uncertainty (simreal sysid writes it), each shaped like its key

A key left out keeps the robot model's value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path

import mujoco
import numpy as np
import yaml

from simreal.errors import InputError

PER_JOINT = ("joint_damping", "joint_frictionloss", "joint_armature")
SCALARS = ("actuator_kp_scale", "actuator_kv_scale", "command_latency_s")
#: MjModel fields of the per-joint keys (dof-indexed)
MODEL_FIELD = {"joint_damping": "dof_damping", "joint_frictionloss": "dof_frictionloss",
               "joint_armature": "dof_armature"}
MAX_LATENCY_S = 1.0  # beyond this a "latency" is a dead link, not physics


@dataclass(frozen=True)
class ArmPhysics:
    """``None``: the model's own value."""

    joint_damping: tuple[float, ...] | None = None
    joint_frictionloss: tuple[float, ...] | None = None
    joint_armature: tuple[float, ...] | None = None
    actuator_kp_scale: float = 1.0
    actuator_kv_scale: float = 1.0
    command_latency_s: float = 0.0
    #: a fit's 95 % half-widths, per key as the key's own shape (None: not identified); training
    #: on a fit takes its randomization widths from them (simreal.mdp.events.fit_widths)
    pm95: dict | None = None

    def to_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v, tuple) else v)
                for f in fields(self) if (v := getattr(self, f.name)) is not None}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_yaml())
        return path

    def to_yaml(self) -> str:
        """The ``--physics`` file's text."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)


def physics_from_dict(raw, num_joints: int, where: str = "physics") -> ArmPhysics:
    """Check every key (known, right length, finite, non-negative; servo stiffness scale
    above zero; latency at most 1 s) and build the physics; an error names the key."""
    if not isinstance(raw, dict):
        raise InputError(f"{where}: must be a mapping of {list(PER_JOINT + SCALARS)}, got {type(raw).__name__}")
    unknown = sorted(set(map(str, raw)) - set(PER_JOINT + SCALARS + ("pm95",)))
    if unknown:
        raise InputError(f"{where}: unknown key(s) {unknown}; known keys are {list(PER_JOINT + SCALARS + ('pm95',))}")
    values = {}
    for key in PER_JOINT:
        if key not in raw:
            continue
        v = raw[key]
        if not isinstance(v, (list, tuple)) or len(v) != num_joints:
            raise InputError(f"{where}: {key} must be a list of {num_joints} numbers (one per joint, in the "
                             f"robot's canonical order), got {v!r}")
        values[key] = tuple(_number(where, f"{key}[{i}]", x) for i, x in enumerate(v))
    for key in SCALARS:
        if key in raw:
            values[key] = _number(where, key, raw[key])
    if raw.get("pm95") is not None:
        values["pm95"] = _pm95(raw["pm95"], num_joints, where)
    if values.get("actuator_kp_scale", 1.0) == 0.0:
        raise InputError(f"{where}: actuator_kp_scale must be above 0 (a servo without stiffness holds nothing)")
    if values.get("command_latency_s", 0.0) > MAX_LATENCY_S:
        raise InputError(f"{where}: command_latency_s {values['command_latency_s']} s is above {MAX_LATENCY_S} s")
    return ArmPhysics(**values)


def _pm95(raw, num_joints: int, where: str) -> dict:
    """A fit's half-widths: a mapping of the physics keys, each shaped like its value, every
    entry a non-negative number or null (not identified)."""
    if not isinstance(raw, dict):
        raise InputError(f"{where}: pm95 must be a mapping of {list(PER_JOINT + SCALARS)}, got {raw!r}")
    unknown = sorted(set(map(str, raw)) - set(PER_JOINT + SCALARS))
    if unknown:
        raise InputError(f"{where}: pm95 has unknown key(s) {unknown}; known keys are {list(PER_JOINT + SCALARS)}")
    out = {}
    for key, v in raw.items():
        if key in PER_JOINT:
            if not isinstance(v, (list, tuple)) or len(v) != num_joints:
                raise InputError(f"{where}: pm95.{key} must be a list of {num_joints} numbers or nulls, got {v!r}")
            out[key] = [None if x is None else _number(where, f"pm95.{key}[{i}]", x) for i, x in enumerate(v)]
        else:
            out[key] = None if v is None else _number(where, f"pm95.{key}", v)
    return out


def _number(where: str, key: str, x) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise InputError(f"{where}: {key} must be a number, got {x!r}")
    x = float(x)
    if not math.isfinite(x) or x < 0:
        raise InputError(f"{where}: {key} must be finite and non-negative, got {x}")
    return x


def load_physics(path: str | Path, num_joints: int) -> ArmPhysics:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as e:
        raise InputError(f"cannot read physics file {path}: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise InputError(f"physics file {path} is not valid YAML: {e}") from None
    if raw is None:
        raise InputError(f"physics file {path} is empty (write {{}} for the robot model's own physics)")
    return physics_from_dict(raw, num_joints, where=str(path))


def model_values(model: mujoco.MjModel, dof_ids, ctrl_ids) -> dict:
    """The robot model's own values of the per-joint keys and its servo gains (kp, kv)."""
    dof_ids, ctrl_ids = np.asarray(dof_ids), np.asarray(ctrl_ids)
    out = {key: getattr(model, MODEL_FIELD[key])[dof_ids].tolist() for key in PER_JOINT}
    out["actuator_kp"] = model.actuator_gainprm[ctrl_ids, 0].tolist()
    out["actuator_kv"] = (-model.actuator_biasprm[ctrl_ids, 2]).tolist()
    return out


def apply_to_model(model: mujoco.MjModel, physics: ArmPhysics, dof_ids, ctrl_ids) -> None:
    """Write the physics into ``model`` in place (position servos: gainprm[0] = kp,
    biasprm[1] = -kp, biasprm[2] = -kv). Latency is the command path's, not the model's."""
    dof_ids, ctrl_ids = np.asarray(dof_ids), np.asarray(ctrl_ids)
    for key in PER_JOINT:
        v = getattr(physics, key)
        if v is not None:
            getattr(model, MODEL_FIELD[key])[dof_ids] = v
    model.actuator_gainprm[ctrl_ids, 0] *= physics.actuator_kp_scale
    model.actuator_biasprm[ctrl_ids, 1] *= physics.actuator_kp_scale
    model.actuator_biasprm[ctrl_ids, 2] *= physics.actuator_kv_scale
    if physics.joint_armature is not None:
        mujoco.mj_setConst(model, mujoco.MjData(model))


def draw_physics(rng: np.random.Generator, nominal: dict) -> ArmPhysics:
    """An arm whose physics the model never saw: joint damping and armature x0.3-3 of the
    model's (log-uniform), friction loss 0-1 N m, servo stiffness and damping +-30 %,
    command latency 0-30 ms (``nominal``: :func:`model_values`)."""
    n = len(nominal["joint_damping"])

    def log_scale():
        return np.exp(rng.uniform(np.log(0.3), np.log(3.0), n))

    return ArmPhysics(joint_damping=tuple(float(x) for x in np.asarray(nominal["joint_damping"]) * log_scale()),
                      joint_frictionloss=tuple(float(x) for x in rng.uniform(0.0, 1.0, n)),
                      joint_armature=tuple(float(x) for x in np.asarray(nominal["joint_armature"]) * log_scale()),
                      actuator_kp_scale=float(rng.uniform(0.7, 1.3)), actuator_kv_scale=float(rng.uniform(0.7, 1.3)),
                      command_latency_s=float(rng.uniform(0.0, 0.03)))
