"""Scenes: a robot from the registry plus simple objects, compiled into one MjModel."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import mujoco

from simreal.mjcf import ModelError, compile_mjcf  # noqa: F401  (ModelError: part of this module's API)
from simreal.robots import RobotCfg, get_robot, resolve_mjcf

EE_SITE = "ee"  # site at the robot's tool point, added to every scene


@dataclass
class BoxCfg:
    """A free-floating box. Sizes are half-extents in metres."""

    name: str
    half_size: tuple[float, float, float] = (0.02, 0.02, 0.02)
    pos: tuple[float, float, float] = (0.5, 0.0, 0.02)
    mass: float = 0.05  # kg
    friction: tuple[float, float, float] = (1.0, 0.005, 0.0001)  # MuJoCo defaults, sliding raised to 1
    rgba: tuple[float, float, float, float] = (0.85, 0.25, 0.2, 1.0)


@dataclass
class MarkerCfg:
    """A non-colliding mocap sphere, e.g. to show a target; moved via ``mocap_pos``."""

    name: str
    radius: float = 0.015
    rgba: tuple[float, float, float, float] = (0.1, 0.8, 0.2, 0.5)


@dataclass
class MjcfObjectCfg:
    """An MJCF model (e.g. a ``simreal twin build`` output) attached to the world at ``pos``
    / ``quat`` (w, x, y, z). Its names get the prefix ``"<name>/"``; ``sites`` adds marker
    sites: site name -> (body name inside the MJCF, position in that body's frame)."""

    name: str
    path: str
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    quat: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    sites: dict[str, tuple[str, tuple[float, float, float]]] = field(default_factory=dict)


@dataclass
class SceneCfg:
    robot: str = "franka_panda"
    objects: list[BoxCfg] = field(default_factory=list)
    markers: list[MarkerCfg] = field(default_factory=list)
    timestep: float = 0.002  # s; Menagerie's Panda default
    floor: bool = True
    mjcf_objects: list[MjcfObjectCfg] = field(default_factory=list)
    # False: only the hand and fingers collide (as MuJoCo Playground's Panda); the arm
    # links keep their meshes for rendering and inertia. Several times cheaper to step.
    arm_link_collisions: bool = False
    # Functions ``hook(spec)`` that add to the scene before it compiles (gel pads, pegs,
    # sockets); they live in simreal.sim, the only package that imports MuJoCo.
    spec_hooks: list = field(default_factory=list)

    LIMITS: ClassVar[dict] = {"timestep": (1e-5, 0.1)}


def build_scene(cfg: SceneCfg) -> mujoco.MjModel:
    """Compile the robot, floor, objects and markers of ``cfg`` into one model."""
    robot = get_robot(cfg.robot)
    path = resolve_mjcf(robot.mjcf)
    try:
        robot_spec = mujoco.MjSpec.from_file(str(path))
    except Exception as err:
        raise ModelError(f"MuJoCo could not load {path}: {err}") from err
    for key in list(robot_spec.keys):
        robot_spec.delete(key)  # simreal sets poses itself; keyframe sizes would not match the scene
    _add_tool_site(robot_spec, robot)
    if not cfg.arm_link_collisions:
        _disable_arm_collisions(robot_spec, robot)

    spec = robot_spec  # the robot's MJCF is the base: its defaults, assets and options carry over
    spec.modelname = f"{robot.name}_scene"
    spec.option.timestep = cfg.timestep
    spec.visual.global_.offwidth = 1280
    spec.visual.global_.offheight = 960
    world = spec.worldbody
    world.add_light(name="key", pos=[0.5, -0.5, 2.0], dir=[-0.2, 0.2, -1.0],
                    type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL)
    world.add_camera(name="overview", pos=[1.45, -1.05, 0.95], xyaxes=[0.707, 0.707, 0, -0.302, 0.302, 0.905])
    if cfg.floor:
        world.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 0.05], rgba=[0.55, 0.6, 0.65, 1])
    for box in cfg.objects:
        body = world.add_body(name=box.name, pos=list(box.pos))
        body.add_freejoint(name=f"{box.name}_joint")
        body.add_geom(
            name=box.name, type=mujoco.mjtGeom.mjGEOM_BOX, size=list(box.half_size), mass=box.mass,
            friction=list(box.friction), rgba=list(box.rgba), condim=4,
        )
    for marker in cfg.markers:
        body = world.add_body(name=marker.name, mocap=True)
        body.add_geom(
            type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[marker.radius, 0, 0], rgba=list(marker.rgba),
            contype=0, conaffinity=0, group=1,
        )
    for hook in cfg.spec_hooks:
        hook(spec)
    for obj in cfg.mjcf_objects:
        _attach_mjcf(spec, obj)
    return compile_mjcf(spec)


def kinematics_xml(robot_name: str) -> str:
    """The robot's kinematics alone as MJCF text: bodies, joints, inertials and the tool site
    (``EE_SITE``), no geoms, meshes, actuators or tendons; a few kB. Deploy bundles carry
    it, so the robot side computes the tool pose and Jacobian of the training model."""
    robot = get_robot(robot_name)
    path = resolve_mjcf(robot.mjcf)
    try:
        spec = mujoco.MjSpec.from_file(str(path))
    except Exception as err:
        raise ModelError(f"MuJoCo could not load {path}: {err}") from err
    for key in list(spec.keys):
        spec.delete(key)
    _add_tool_site(spec, robot)
    for kind in ("geoms", "actuators", "tendons", "equalities", "sensors", "excludes", "meshes", "materials",
                 "textures", "lights", "cameras"):
        for element in list(getattr(spec, kind)):
            spec.delete(element)
    spec.compiler.inertiafromgeom = mujoco.mjtInertiaFromGeom.mjINERTIAFROMGEOM_FALSE
    spec.modelname = f"{robot.name}_kinematics"
    return spec.to_xml()


def _attach_mjcf(spec: mujoco.MjSpec, obj: MjcfObjectCfg) -> None:
    path = Path(obj.path)
    try:
        child = mujoco.MjSpec.from_file(str(path))
    except Exception as err:
        raise ModelError(f"MuJoCo could not load {path} (scene object {obj.name!r}): {err}") from err
    base = (path.parent / (child.meshdir or "")).resolve()
    for mesh in child.meshes:  # absolute paths: the scene's own meshdir must not apply to them
        if mesh.file and not Path(mesh.file).is_absolute():
            mesh.file = str(base / mesh.file)
    child.meshdir = ""
    frame = spec.worldbody.add_frame(pos=list(obj.pos), quat=list(obj.quat))
    spec.attach(child, prefix=f"{obj.name}/", frame=frame)
    for site, (body, pos) in obj.sites.items():
        target = spec.body(f"{obj.name}/{body}")
        if target is None:
            raise ModelError(f"scene object {obj.name!r}: no body {body!r} in {path} for site {site!r}")
        target.add_site(name=site, pos=list(pos), size=[0.01, 0, 0], group=4)


def _add_tool_site(spec: mujoco.MjSpec, robot: RobotCfg) -> None:
    body = spec.body(robot.ee_body)
    if body is None:
        raise ModelError(f"robot {robot.name!r}: ee_body {robot.ee_body!r} is not a body of {robot.mjcf}")
    body.add_site(name=EE_SITE, pos=list(robot.ee_offset), size=[0.005, 0, 0], group=4)


def _disable_arm_collisions(spec: mujoco.MjSpec, robot: RobotCfg) -> None:
    """Turn off collisions of geoms on bodies above the tool body (the arm links)."""
    keep = set()
    ee = spec.body(robot.ee_body)
    stack = [ee]
    while stack:  # the tool body and everything below it keep colliding
        body = stack.pop()
        keep.add(body.name)
        stack.extend(body.bodies)
    for geom in spec.geoms:
        if geom.parent.name not in keep:
            geom.contype = 0
            geom.conaffinity = 0
