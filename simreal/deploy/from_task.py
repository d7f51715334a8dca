"""Derive a ``deploy.yaml`` from a simreal task, so nobody writes one by hand.

The observation terms of the task's actor groups map onto deployable sources by the
term function itself (not by name); a term with no deployable source is an error that
names it, rather than a silently different observation on the robot. Each term carries
training's noise model (``noise_std``, ``bias_std``), so a user can see what accuracy
their perception must reach.
"""

from __future__ import annotations

from simreal.deploy.spec import (
    ActionSpec,
    DeploySpec,
    GripperSpec,
    KinematicsSpec,
    ObsTermSpec,
    SpecError,
    TactileSpec,
    max_step_from_vel_limits,
)

# The hand's width command moves at most this fast on the robot side (m/s). Training's hand is
# a position servo that closes at up to ~0.7 m/s of width (measured: 0.080 -> 0.066 m in the
# first 20 ms step), so this bound only stops jumps; a real Franka hand moves at most 0.05 m/s
# per finger (product manual), a gap docs/DEPLOY.md names.
GRIPPER_MAX_SPEED_M_S = 1.0


def _source_of(term) -> tuple[str, str | None, bool]:
    """(source, pose input, perceived) of an observation term."""
    from simreal.mdp import observations as obs

    plain = {obs.joint_pos_rel: "joint_pos_rel", obs.joint_vel: "joint_vel", obs.last_action: "last_action",
             obs.gripper_width: "gripper_width", obs.ee_pos: "ee_pos", obs.ee_rot6: "ee_rot6"}
    if term.func in plain:
        return plain[term.func], None, False
    if term.func is obs.buffer:  # a goal the task sets, e.g. a target: from a pose topic, set once
        return "pose_position", term.params["name"], False
    if term.func is obs.body_pos:  # an object the robot perceives, e.g. a cube: a streamed pose topic
        return "pose_position", term.params["body"], True
    if term.func is obs.site_pos:  # a point on an object, e.g. a drawer handle
        return "pose_position", term.params["site"], True
    if getattr(term.func, "perceived_pose", None):  # a task's own term, marked obs.perceived_pose(name)
        return "pose_position", term.func.perceived_pose, True
    from simreal.sensors.tactile.observations import tactile_contact_summary

    if term.func is tactile_contact_summary:  # per pad, from its camera frames through the contact reader
        return "tactile_summary", None, False
    raise SpecError(
        f"observation term function {term.func.__module__}.{term.func.__name__} has no deployable source; "
        f"deployable terms: joint_pos_rel, joint_vel, last_action, gripper_width, ee_pos, ee_rot6, "
        f"buffer (a goal pose), body_pos, site_pos and terms marked obs.perceived_pose (perceived object "
        f"poses), tactile_contact_summary (GelSight frames read on the robot)"
    )


def pose_sources_of(cfg, group: str | list[str] = "policy") -> list[tuple]:
    """The pose inputs the ``group`` observations read, as (input name, perceived, noise_std,
    bias_std, read(env) -> (num_envs, 3) true position): what a task cell publishes."""
    out = {}
    for g in [group] if isinstance(group, str) else list(group):
        grp = cfg.observations[g]
        for term in grp.terms.values():
            source, inp, perceived = _source_of(term)
            if source == "pose_position" and inp not in out:
                out[inp] = (inp, perceived, term.noise_std if grp.noisy else 0.0, term.bias_std if grp.noisy else 0.0,
                            lambda env, t=term: t.func(env, **t.params))
    return list(out.values())


def pad_name(site: str) -> str:
    """A tactile pad's input name from its sensor site: ``left_finger/sensor`` -> ``left_finger``."""
    return site.split("/")[0].replace("-", "_")


def tactile_spec_of(terms) -> TactileSpec | None:
    """The sensor and pads of the ``tactile_contact_summary`` terms (one sensor, one pad list)."""
    found = {(t.params["sensor"], tuple(pad_name(s) for s in t.params["sites"])) for t in terms}
    if len(found) > 1:
        raise SpecError(f"the actor reads tactile summaries of different sensors or pads {sorted(found)}; "
                        f"a deployment reads one sensor model on one set of pads")
    if not found:
        return None
    sensor, pads = found.pop()
    return TactileSpec(sensor=sensor, pads=list(pads))


def _gripper_widths(cfg, robot) -> tuple[float, float]:
    """(closed, open) width of the hand, m: the sums of the finger joints' ranges."""
    from simreal.sim.scene import build_scene

    model = build_scene(cfg.scene)
    ranges = [model.jnt_range[model.joint(j).id] for j in robot.gripper_joint_names]
    return float(sum(r[0] for r in ranges)), float(sum(r[1] for r in ranges))


def deploy_spec_from_cfg(cfg, task_id: str = "", group: str | list[str] = "policy",
                         provenance: dict | None = None) -> DeploySpec:
    """A DeploySpec for the ``group`` observations (one group, or several concatenated in
    order, as a multi-group actor reads them) and the action term of an ``EnvCfg``."""
    from simreal.actions import action_type
    from simreal.robots import get_robot

    robot = get_robot(cfg.scene.robot)
    where = f"task {task_id or '<cfg>'}"
    a = cfg.actions
    kind = action_type(a.type)
    if kind.processor is None:
        raise SpecError(f"{where}: {kind.not_deployable}")
    groups = [group] if isinstance(group, str) else list(group)
    n = robot.num_joints
    period = cfg.scene.timestep * cfg.decimation
    terms, tactile_terms = [], []
    for g in groups:
        if g not in cfg.observations:
            raise SpecError(f"{where} has no observation group {g!r}; groups: {list(cfg.observations)}")
        grp = cfg.observations[g]
        for name, term in grp.terms.items():
            source, inp, perceived = _source_of(term)
            if source == "tactile_summary":
                tactile_terms.append(term)
            dim = {"pose_position": 3, "ee_pos": 3, "ee_rot6": 6, "gripper_width": 1,
                   "tactile_summary": 3 * len(term.params.get("sites", ()))}.get(source, n)
            if source == "last_action":
                dim = 0  # filled in below, once the action's columns are known
            if any(t.name == name for t in terms):
                name = f"{g}.{name}"
            terms.append(ObsTermSpec(name=name, source=source, dim=dim, scale=float(term.scale), history=1,
                                     input=inp, perceived=perceived,
                                     noise_std=float(term.noise_std) if grp.noisy else 0.0,
                                     bias_std=float(term.bias_std) if grp.noisy else 0.0))
    fingers = list(robot.gripper_joint_names) if a.gripper or any(t.source == "gripper_width" for t in terms) else []
    if a.gripper and not robot.gripper_actuator:
        raise SpecError(f"{where}: the gripper action needs a robot with a gripper; {robot.name} has none")
    gripper = None
    if a.gripper:
        closed, opened = _gripper_widths(cfg, robot)
        gripper = GripperSpec(open_width=opened, closed_width=closed, max_speed=GRIPPER_MAX_SPEED_M_S)
    num_actions = (kind.tool_dims if kind.tool_dims is not None else n) + int(bool(a.gripper))
    for t in terms:
        if t.source == "last_action":
            t.dim = num_actions
    spec = DeploySpec(
        robot=robot.name,
        joint_names=list(robot.joint_names),
        default_joint_pos=[float(x) for x in robot.default_joint_pos],
        control_period_s=float(period),
        action=ActionSpec(type=a.type, scale=float(a.scale), clip=float(a.clip), offset=None, num_actions=num_actions,
                          max_target_error=None if a.max_target_error is None else float(a.max_target_error),
                          workspace=[[float(lo), float(hi)] for lo, hi in a.workspace] if a.workspace else None,
                          gripper=gripper),
        observations=terms,
        joint_pos_limits=[[float(lo), float(hi)] for lo, hi in robot.joint_pos_limits],
        joint_vel_limits=[float(v) for v in robot.joint_vel_limits],
        max_step_per_tick=max_step_from_vel_limits(robot.joint_vel_limits, period),
        provenance={"task": task_id, "obs_group": groups[0] if len(groups) == 1 else groups, **(provenance or {})},
        finger_joint_names=fingers,
        tactile=tactile_spec_of(tactile_terms),
    )
    if spec.needs_kinematics():
        from simreal.sim.scene import EE_SITE

        spec.kinematics = KinematicsSpec(file="kinematics.xml", site=EE_SITE)
    return spec.validate()


def deploy_spec_from_task(task_id: str, group: str | list[str] = "policy",
                          provenance: dict | None = None) -> DeploySpec:
    """``deploy_spec_from_task("franka-lift")``: joint names, default pose, control period,
    action type/scale/clip/bounds and gripper, ordered observation terms with scales and
    noise, limits, and whether the arm's kinematics must travel with the bundle."""
    from simreal.registry import task_cfg

    return deploy_spec_from_cfg(task_cfg(task_id), task_id=task_id, group=group, provenance=provenance)
