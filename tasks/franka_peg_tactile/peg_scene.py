"""A peg and a socket for the peg-in-hole tasks (project-made geometry, metres).

The peg is a free cylinder (axis = its body z). The socket is a mocap body (moved per
env through ``mocap_pos``) with four walls around a square hole, standing on the floor.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco


@dataclass(frozen=True)
class PegSocketCfg:
    peg_radius: float = 0.006  # 12 mm peg (TacSL's insertion peg is of this order)
    peg_half_length: float = 0.025
    peg_mass: float = 0.03  # kg
    clearance: float = 0.001  # hole half-width minus peg radius
    wall: float = 0.01  # wall thickness
    socket_height: float = 0.02  # depth of the hole


def add_peg_and_socket(spec: mujoco.MjSpec, cfg: PegSocketCfg = PegSocketCfg()) -> None:
    """Add body ``peg`` (free joint ``peg_joint``, geom ``peg``) and mocap body ``socket``."""
    peg = spec.worldbody.add_body(name="peg", pos=[0.5, 0.0, 0.3])
    peg.add_freejoint(name="peg_joint")
    peg.add_geom(name="peg", type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[cfg.peg_radius, cfg.peg_half_length, 0],
                 mass=cfg.peg_mass, friction=[1.0, 0.005, 0.0001], condim=4, rgba=[0.85, 0.6, 0.15, 1])
    socket = spec.worldbody.add_body(name="socket", mocap=True, pos=[0.5, 0.0, 0.0])
    hole = cfg.peg_radius + cfg.clearance
    h = cfg.socket_height / 2
    half_out = hole + cfg.wall
    for i, (x, y, sx, sy) in enumerate([
        (hole + cfg.wall / 2, 0, cfg.wall / 2, half_out), (-hole - cfg.wall / 2, 0, cfg.wall / 2, half_out),
        (0, hole + cfg.wall / 2, hole, cfg.wall / 2), (0, -hole - cfg.wall / 2, hole, cfg.wall / 2),
    ]):
        socket.add_geom(name=f"socket_wall{i}", type=mujoco.mjtGeom.mjGEOM_BOX, size=[sx, sy, h], pos=[x, y, h],
                        rgba=[0.3, 0.45, 0.7, 1], condim=4)
