"""Mass and inertia from a density over the collision volume.

Solid parts: the convex pieces' mass properties combined with the parallel-axis theorem.
Thin walls and open surfaces: a shell of ``SHELL_THICKNESS_M`` (or the wall's own
thickness) over the surface area, inertia from area-weighted surface samples. The result
is made positive definite and to satisfy the triangle inequality (as MuJoCo requires).
"""

from __future__ import annotations

import numpy as np

from simreal.twin.cleaning import Part
from simreal.twin.collision import Piece

DEFAULT_DENSITY = 600.0  # kg/m^3, wood / MDF (typ. 500-800), the usual furniture material
SHELL_THICKNESS_M = 0.002
MIN_MASS_KG = 0.01


def _point_inertia(points: np.ndarray, masses: np.ndarray, about: np.ndarray) -> np.ndarray:
    r = points - about
    return np.eye(3) * np.sum(masses * np.sum(r * r, axis=1)) - (r * masses[:, None]).T @ r


def make_plausible(inertia: np.ndarray, mass: float) -> np.ndarray:
    """Symmetric, eigenvalues >= 1 % of the largest (and a floor), A + B >= C."""
    inertia = (inertia + inertia.T) / 2
    vals, vecs = np.linalg.eigh(inertia)
    floor = max(1e-2 * vals.max(), 1e-7 * mass, 1e-9)
    vals = np.maximum(vals, floor)
    vals = np.sort(vals)
    vals[2] = min(vals[2], 0.999 * (vals[0] + vals[1]))
    order = np.argsort(np.linalg.eigh(inertia)[0])
    return vecs[:, order] @ np.diag(vals) @ vecs[:, order].T


def mass_properties(part: Part, pieces: list[Piece], density: float = DEFAULT_DENSITY):
    """(mass kg, centre of mass (3,), inertia (3, 3) about the centre of mass, object axes, method)."""
    if part.thin or not part.watertight:
        ext = np.sort(part.mesh.bounding_box_oriented.extents)
        thickness = max(float(ext[0]), SHELL_THICKNESS_M) if part.thin else SHELL_THICKNESS_M
        mass = max(density * part.mesh.area * thickness, MIN_MASS_KG)
        pts = part.samples
        m = np.full(len(pts), mass / len(pts))
        com = pts.mean(axis=0)
        inertia = _point_inertia(pts, m, com) + np.eye(3) * mass * thickness**2 / 12
        return mass, com, make_plausible(inertia, mass), "shell"
    masses, coms, inertias = [], [], []
    for piece in pieces:
        mesh = piece.trimesh()
        vol = abs(float(mesh.volume))
        if vol <= 1e-12:
            continue
        mesh.density = density
        masses.append(mesh.mass)
        coms.append(np.asarray(mesh.center_mass))
        inertias.append(np.asarray(mesh.moment_inertia))
    if not masses:
        as_thin_shell = Part(part.name, part.mesh, part.samples, part.normals, part.dense, False, True)
        return mass_properties(as_thin_shell, pieces, density)
    masses = np.array(masses)
    coms = np.array(coms)
    mass = float(masses.sum())
    com = (masses[:, None] * coms).sum(axis=0) / mass
    inertia = sum(I + m * (np.dot(c - com, c - com) * np.eye(3) - np.outer(c - com, c - com))
                  for I, m, c in zip(inertias, masses, coms))
    if mass < MIN_MASS_KG:
        inertia, mass = inertia * MIN_MASS_KG / mass, MIN_MASS_KG
    return mass, com, make_plausible(inertia, mass), "solid (collision volume)"
