"""Derive a ``deploy.yaml`` from a simreal task, so nobody writes one by hand.

The observation terms of the task's policy group map onto deployable sources by the
term function itself (not by name); a term with no deployable source is an error that
names it, rather than a silently different observation on the robot.
"""

from __future__ import annotations

from simreal.deploy.spec import ActionSpec, DeploySpec, ObsTermSpec, SpecError, max_step_from_vel_limits


def _source_of(term) -> tuple[str, str | None]:
    from simreal.mdp import observations as obs

    if term.func is obs.joint_pos_rel:
        return "joint_pos_rel", None
    if term.func is obs.joint_vel:
        return "joint_vel", None
    if term.func is obs.last_action:
        return "last_action", None
    if term.func is obs.buffer:
        return "pose_position", term.params["name"]
    raise SpecError(
        f"observation term function {term.func.__module__}.{term.func.__name__} has no deployable source; "
        f"deployable terms: joint_pos_rel, joint_vel, last_action, buffer (a 3-D pose input)"
    )


def deploy_spec_from_cfg(cfg, task_id: str = "", group: str = "policy", provenance: dict | None = None) -> DeploySpec:
    """A DeploySpec for the ``group`` observations and the action term of an ``EnvCfg``."""
    from simreal.actions import action_type
    from simreal.robots import get_robot

    robot = get_robot(cfg.scene.robot)
    kind = action_type(cfg.actions.type)
    if kind.processor is None:
        raise SpecError(f"task {task_id or '<cfg>'}: {kind.not_deployable}")
    if cfg.actions.gripper:
        raise SpecError(f"task {task_id or '<cfg>'}: gripper actions are not deployable yet (arm joints only)")
    if cfg.actions.max_target_error is not None:
        raise SpecError(f"task {task_id or '<cfg>'}: actions.max_target_error is not deployable yet "
                        "(the robot-side target accumulates without a bound); set it to None")
    if group not in cfg.observations:
        raise SpecError(f"task {task_id or '<cfg>'} has no observation group {group!r}; "
                        f"groups: {list(cfg.observations)}")
    n = robot.num_joints
    period = cfg.scene.timestep * cfg.decimation
    terms = []
    for name, term in cfg.observations[group].terms.items():
        source, inp = _source_of(term)
        dim = 3 if source == "pose_position" else n
        terms.append(ObsTermSpec(name=name, source=source, dim=dim, scale=float(term.scale), history=1, input=inp))
    return DeploySpec(
        robot=robot.name,
        joint_names=list(robot.joint_names),
        default_joint_pos=[float(x) for x in robot.default_joint_pos],
        control_period_s=float(period),
        action=ActionSpec(type=cfg.actions.type, scale=float(cfg.actions.scale), clip=float(cfg.actions.clip),
                          offset=None, num_actions=n),
        observations=terms,
        joint_pos_limits=[[float(lo), float(hi)] for lo, hi in robot.joint_pos_limits],
        joint_vel_limits=[float(v) for v in robot.joint_vel_limits],
        max_step_per_tick=max_step_from_vel_limits(robot.joint_vel_limits, period),
        provenance={"task": task_id, "obs_group": group, **(provenance or {})},
    ).validate()


def deploy_spec_from_task(task_id: str, group: str = "policy", provenance: dict | None = None) -> DeploySpec:
    """``deploy_spec_from_task("franka-reach")``: joint names, default pose, control period,
    action type/scale/clip, ordered observation terms with scales, limits."""
    from simreal.registry import task_cfg

    return deploy_spec_from_cfg(task_cfg(task_id), task_id=task_id, group=group, provenance=provenance)
