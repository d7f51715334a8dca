"""The articulated model both writers serialize: links with frames, meshes and inertia,
and joints between them. Every link frame is parallel to the object frame; a moving
link's origin is on its joint axis, a fixed link's at its part's centre.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import trimesh

from simreal.twin.collision import Piece


@dataclass
class Link:
    name: str
    origin: np.ndarray  # (3,) link frame origin in the object frame
    visual: trimesh.Trimesh  # in the link frame
    pieces: list[Piece]  # in the object frame (writers shift them)
    mass: float
    com: np.ndarray  # in the object frame
    inertia: np.ndarray  # (3, 3) about com
    rgba: tuple = (0.7, 0.7, 0.7, 1.0)


@dataclass
class Joint:
    name: str
    type: str  # revolute | prismatic | continuous | fixed
    parent: str
    child: str
    axis: np.ndarray
    limits: tuple[float, float] | None
    confidence: float = 1.0
    damping: float = 0.02


@dataclass
class Articulation:
    name: str
    links: list[Link]  # parents before children; links[0] is the base
    joints: list[Joint] = field(default_factory=list)

    def link(self, name: str) -> Link:
        return next(link for link in self.links if link.name == name)


PALETTE = [(0.72, 0.6, 0.45, 1), (0.35, 0.55, 0.8, 1), (0.85, 0.45, 0.35, 1), (0.45, 0.75, 0.45, 1),
           (0.8, 0.7, 0.3, 1), (0.6, 0.45, 0.75, 1), (0.4, 0.7, 0.75, 1), (0.75, 0.5, 0.6, 1)]


def rpy_from_matrix(rot: np.ndarray) -> tuple[float, float, float]:
    """URDF roll-pitch-yaw (fixed x, y, z) of a rotation matrix."""
    pitch = float(np.arcsin(-np.clip(rot[2, 0], -1, 1)))
    if abs(np.cos(pitch)) > 1e-6:
        roll = float(np.arctan2(rot[2, 1], rot[2, 2]))
        yaw = float(np.arctan2(rot[1, 0], rot[0, 0]))
    else:
        roll, yaw = float(np.arctan2(-rot[1, 2], rot[1, 1])), 0.0
    return roll, pitch, yaw


def quat_from_matrix(rot: np.ndarray) -> np.ndarray:
    """(w, x, y, z) of a rotation matrix."""
    homogeneous = np.pad(rot, ((0, 1), (0, 1))) + np.diag([0, 0, 0, 1])
    return np.asarray(trimesh.transformations.quaternion_from_matrix(homogeneous))


def fmt(values, digits: int = 6) -> str:
    return " ".join(f"{float(v):.{digits}g}" if abs(float(v)) > 1e-12 else "0" for v in np.ravel(values))
