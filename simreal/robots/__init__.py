"""Robots simreal knows, with the constants (and their sources) everything else relies on."""

from simreal.robots import franka_panda  # noqa: F401  (registers "franka_panda")
from simreal.robots.registry import (
    MENAGERIE_ENV,
    RobotCfg,
    get_robot,
    list_robots,
    menagerie_roots,
    register_robot,
    resolve_mjcf,
)

__all__ = ["MENAGERIE_ENV", "RobotCfg", "get_robot", "list_robots", "menagerie_roots", "register_robot", "resolve_mjcf"]
