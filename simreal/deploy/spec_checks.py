"""One validation of a whole ``deploy.yaml``: nothing in it may make the robot side publish
NaN, park a joint at a limit, or move faster than the velocity limits allow.

Each check raises SpecError naming the field (``action.scale``, ``max_step_per_tick[3]``)
and the value it found, and what a valid value is.
"""

from __future__ import annotations

import math
import numbers

from simreal.errors import SimrealError

# Physical ranges (generous: any industrial or research arm sits well inside them).
CONTROL_PERIOD_RANGE_S = (1e-3, 1.0)  # 1 kHz (ros2_control's usual top rate) .. 1 Hz
MAX_ABS_JOINT_POS_RAD = 4 * math.pi  # two turns each way; Franka's widest joint is 2.9 rad, UR's 2 pi
MAX_JOINT_VEL_RAD_S = 50.0  # fastest arm joints are a few rad/s (Franka 2.6, UR 3.14 (datasheets))
MAX_ACTION_SCALE = 10.0
MAX_ACTION_CLIP = 100.0
MAX_OBS_SCALE = 1e4
MAX_HISTORY = 1000
MAX_TARGET_ERROR_RAD = 2 * math.pi
MAX_WORKSPACE_M = 10.0  # a tool-point box coordinate, robot base frame
MAX_GRIPPER_WIDTH_M = 0.5
MAX_GRIPPER_SPEED_M_S = 2.0
MAX_NOISE = 100.0  # a term's training noise (std), in the term's units
STEP_SLACK = 1e-6  # relative: max_step_per_tick may equal vel_limit * period up to rounding


class SpecError(SimrealError):
    """A deploy.yaml that is incomplete, inconsistent or outside physical ranges."""


def check_number(field: str, value, lo: float = -math.inf, hi: float = math.inf, lo_open: bool = False,
                 what: str = "", error: type[Exception] = SpecError) -> float:
    """``value`` as a float, finite and in [lo, hi] (``(lo, hi]`` with lo_open); else ``error``
    naming ``field`` and the value."""
    ok_type = isinstance(value, numbers.Real) and not isinstance(value, bool)
    x = float(value) if ok_type else math.nan
    inside = math.isfinite(x) and (x > lo if lo_open else x >= lo) and x <= hi
    if not inside:
        rng = f"{'(' if lo_open else '['}{lo:g}, {hi:g}]"
        raise error(f"{field} is {value!r}; it must be a finite number in {rng}{what}")
    return x


def _integer(field: str, value, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise SpecError(f"{field} is {value!r}; it must be an integer in [{lo}, {hi}]")
    return value


def _vector(field: str, values, n: int) -> list:
    if not isinstance(values, (list, tuple)) or len(values) != n:
        count = len(values) if isinstance(values, (list, tuple)) else type(values).__name__
        raise SpecError(f"{field} has {count} entries but there are {n} joint_names; "
                        f"give one per joint in joint_names order")
    return list(values)


def _string(field: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise SpecError(f"{field} is {value!r}; it must be a non-empty string")
    return value


def check_spec(spec, format_version: int, obs_sources, action_types) -> None:
    """Raise SpecError on the first field of ``spec`` (a DeploySpec) that is not valid."""
    if spec.format_version != format_version:
        raise SpecError(f"format_version {spec.format_version!r} is not supported "
                        f"(this simreal reads {format_version})")
    _string("robot", spec.robot)
    names = spec.joint_names
    if not isinstance(names, list) or not names:
        raise SpecError(f"joint_names must be a non-empty list, got {names!r}")
    for i, name in enumerate(names):
        _string(f"joint_names[{i}]", name)
    if len(set(names)) != len(names):
        dup = sorted({j for j in names if names.count(j) > 1})
        raise SpecError(f"joint_names lists {dup} more than once")
    n = len(names)

    period = check_number("control_period_s", spec.control_period_s, *CONTROL_PERIOD_RANGE_S, what=" s")
    limits = _vector("joint_pos_limits", spec.joint_pos_limits, n)
    for i, pair in enumerate(limits):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise SpecError(f"joint_pos_limits[{i}] ({names[i]}) is {pair!r}; it must be [lower, upper] in rad")
        lo = check_number(f"joint_pos_limits[{i}][0] ({names[i]})", pair[0], -MAX_ABS_JOINT_POS_RAD,
                          MAX_ABS_JOINT_POS_RAD)
        hi = check_number(f"joint_pos_limits[{i}][1] ({names[i]})", pair[1], -MAX_ABS_JOINT_POS_RAD,
                          MAX_ABS_JOINT_POS_RAD)
        if not lo < hi:
            raise SpecError(f"joint_pos_limits[{i}] ({names[i]}) is {lo}..{hi}: "
                            "the lower limit must be below the upper")
    for i, q in enumerate(_vector("default_joint_pos", spec.default_joint_pos, n)):
        lo, hi = limits[i]
        check_number(f"default_joint_pos[{i}] ({names[i]})", q, lo, hi, what=" rad (the joint's position limits)")
    vel = [check_number(f"joint_vel_limits[{i}] ({names[i]})", v, 0.0, MAX_JOINT_VEL_RAD_S, lo_open=True, what=" rad/s")
           for i, v in enumerate(_vector("joint_vel_limits", spec.joint_vel_limits, n))]
    for i, step in enumerate(_vector("max_step_per_tick", spec.max_step_per_tick, n)):
        bound = vel[i] * period
        check_number(f"max_step_per_tick[{i}] ({names[i]})", step, 0.0, bound * (1 + STEP_SLACK), lo_open=True,
                what=f" rad: above 0 and at most joint_vel_limits[{i}] * control_period_s = {bound:.6g}")

    a = spec.action
    if a.type not in action_types:
        from simreal.actions import action_types as known

        why = known()[a.type].not_deployable if a.type in known() else "unknown action type"
        raise SpecError(f"action.type {a.type!r}: {why}; deployable types: {list(action_types)}")
    check_number("action.scale", a.scale, 0.0, MAX_ACTION_SCALE, lo_open=True)
    check_number("action.clip", a.clip, 0.0, MAX_ACTION_CLIP, lo_open=True)
    _check_action_columns(spec, n)
    if a.offset is not None:
        for i, q in enumerate(_vector("action.offset", a.offset, n)):
            lo, hi = limits[i]
            check_number(f"action.offset[{i}] ({names[i]})", q, lo, hi, what=" rad (the joint's position limits)")
    if a.max_target_error is not None:
        check_number("action.max_target_error", a.max_target_error, 0.0, MAX_TARGET_ERROR_RAD, lo_open=True,
                     what=" rad (or null: unbounded)")
    _check_workspace(a)
    _check_fingers(spec)
    _check_kinematics(spec)
    pads = _check_tactile(spec)

    if not isinstance(spec.observations, list) or not spec.observations:
        raise SpecError("observations must list at least one term")
    expected = {"joint_pos_rel": n, "joint_pos": n, "joint_vel": n, "last_action": a.num_actions, "pose_position": 3,
                "gripper_width": 1, "ee_pos": 3, "ee_rot6": 6, "tactile_summary": 3 * len(pads)}
    seen = set()
    for k, t in enumerate(spec.observations):
        where = f"observations[{k}]"
        _string(f"{where}.name", t.name)
        if t.name in seen:
            raise SpecError(f"{where}.name {t.name!r} appears twice")
        seen.add(t.name)
        where = f"observation term {t.name!r}"
        if t.source not in obs_sources:
            raise SpecError(f"{where}: unknown source {t.source!r}; supported: {list(obs_sources)}")
        if t.source == "tactile_summary" and not pads:
            raise SpecError(f"{where} reads tactile sensors but the spec has no tactile section (sensor, pads)")
        if t.dim != expected[t.source]:
            raise SpecError(f"{where} ({t.source}) has dim {t.dim!r}, expected {expected[t.source]}")
        check_number(f"{where}: scale", t.scale, -MAX_OBS_SCALE, MAX_OBS_SCALE)
        if t.scale == 0:
            raise SpecError(f"{where}: scale is 0, which hides the term from the policy")
        _integer(f"{where}: history", t.history, 1, MAX_HISTORY)
        for field in ("noise_std", "bias_std"):
            check_number(f"{where}: {field}", getattr(t, field), 0.0, MAX_NOISE, what=" (training's noise model)")
        if not isinstance(t.perceived, bool):
            raise SpecError(f"{where}: perceived is {t.perceived!r}; it must be true or false")
        if t.source == "pose_position":
            _string(f"{where}: input (the pose input it reads, e.g. target)", t.input)
            if "/" in t.input or not t.input.replace("_", "").isalnum():
                raise SpecError(f"{where}: input {t.input!r} must be a plain name (letters, digits, _): it names "
                                f"a topic")
        elif t.input is not None or t.perceived:
            raise SpecError(f"{where}: input and perceived are only for pose_position terms")
        if t.source == "gripper_width" and not spec.finger_joint_names:
            raise SpecError(f"{where} reads the gripper width but finger_joint_names is empty")

    if spec.recurrent_state is not None:
        if not isinstance(spec.recurrent_state, dict) or not spec.recurrent_state:
            raise SpecError(f"recurrent_state must map state names to shapes, got {spec.recurrent_state!r}")
        for key, shape in spec.recurrent_state.items():
            _string("recurrent_state name", key)
            if not isinstance(shape, list) or not shape:
                raise SpecError(f"recurrent_state.{key} is {shape!r}; it must be a list of positive integers")
            for d in shape:
                _integer(f"recurrent_state.{key} dimension", d, 1, 1 << 20)
    if not isinstance(spec.provenance, dict):
        raise SpecError(f"provenance must be a mapping, got {type(spec.provenance).__name__}")
    if not isinstance(spec.provenance.get("task_params", {}), dict):
        raise SpecError(f"provenance.task_params must be a mapping of the task's parameters, got "
                        f"{spec.provenance['task_params']!r}")


def _check_action_columns(spec, n: int) -> None:
    from simreal.actions import action_type

    a = spec.action
    tool_dims = action_type(a.type).tool_dims
    arm = tool_dims if tool_dims is not None else n
    want = arm + (1 if a.gripper is not None else 0)
    if a.num_actions != want:
        what = f"{tool_dims} tool-point columns" if tool_dims is not None else f"one column per arm joint ({n})"
        raise SpecError(f"action.num_actions is {a.num_actions!r}; {a.type} needs {what}"
                        f"{' plus the gripper column' if a.gripper is not None else ''} = {want}")
    g = a.gripper
    if g is not None:
        closed = check_number("action.gripper.closed_width", g.closed_width, 0.0, MAX_GRIPPER_WIDTH_M, what=" m")
        check_number("action.gripper.open_width", g.open_width, closed, MAX_GRIPPER_WIDTH_M, lo_open=True,
                     what=" m (above closed_width)")
        check_number("action.gripper.max_speed", g.max_speed, 0.0, MAX_GRIPPER_SPEED_M_S, lo_open=True, what=" m/s")
        if not spec.finger_joint_names:
            raise SpecError("action.gripper needs finger_joint_names (the finger joints that give the measured width)")


def _check_workspace(a) -> None:
    box = a.workspace
    if box is None:
        return
    if not a.type.startswith("ee_"):
        raise SpecError(f"action.workspace bounds a tool point; {a.type} actions have none")
    if not isinstance(box, (list, tuple)) or len(box) != 3:
        raise SpecError(f"action.workspace is {box!r}; it must be [[x_lo, x_hi], [y_lo, y_hi], [z_lo, z_hi]] m")
    for i, pair in enumerate(box):
        axis = "xyz"[i]
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise SpecError(f"action.workspace[{i}] ({axis}) is {pair!r}; it must be [lo, hi] m")
        lo = check_number(f"action.workspace[{i}][0] ({axis})", pair[0], -MAX_WORKSPACE_M, MAX_WORKSPACE_M, what=" m")
        check_number(f"action.workspace[{i}][1] ({axis})", pair[1], lo, MAX_WORKSPACE_M, lo_open=True,
                     what=" m (above the lower bound)")


def _check_fingers(spec) -> None:
    names = spec.finger_joint_names
    if not isinstance(names, list):
        raise SpecError(f"finger_joint_names must be a list of joint names, got {names!r}")
    for i, name in enumerate(names):
        _string(f"finger_joint_names[{i}]", name)
    both = sorted(set(names) & set(spec.joint_names) | {j for j in names if names.count(j) > 1})
    if both:
        raise SpecError(f"finger_joint_names lists {both} twice or among the arm's joint_names")


def _check_tactile(spec) -> list:
    """The tactile pads (empty without a tactile section)."""
    from simreal.sensors.tactile.sensors import SENSORS

    tac = spec.tactile
    if tac is None:
        return []
    sensor = _string("tactile.sensor", tac.sensor)
    if sensor not in SENSORS:
        raise SpecError(f"tactile.sensor {sensor!r} is not a known sensor model; known: {sorted(SENSORS)}")
    if not isinstance(tac.pads, list) or not tac.pads or len(tac.pads) > 16:
        raise SpecError(f"tactile.pads must list 1 to 16 pad names, got {tac.pads!r}")
    for i, pad in enumerate(tac.pads):
        _string(f"tactile.pads[{i}]", pad)
        if not pad.replace("_", "").isalnum():
            raise SpecError(f"tactile.pads[{i}] {pad!r} must be a plain name (letters, digits, _): it names a topic")
    if len(set(tac.pads)) != len(tac.pads):
        raise SpecError(f"tactile.pads {tac.pads} names a pad twice")
    return list(tac.pads)


def _check_kinematics(spec) -> None:
    k = spec.kinematics
    if k is None:
        if spec.needs_kinematics():
            raise SpecError(f"action.type {spec.action.type} or an ee_pos / ee_rot6 term needs the arm's kinematics, "
                            f"and this deploy.yaml has none (kinematics: file, site); re-export the bundle")
        return
    f = _string("kinematics.file", k.file)
    if "/" in f or "\\" in f or f.startswith(".") or not f.endswith(".xml"):
        raise SpecError(f"kinematics.file is {f!r}; it must be an .xml file name inside the bundle (no path)")
    _string("kinematics.site", k.site)
