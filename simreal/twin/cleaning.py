"""Cleaning: trimesh repair of each part, a watertightness report, thin parts detected.

``clean_parts(meshes) -> (parts, notes)`` returns ``Part`` records with surface samples
used by every later stage. Parts with no area are dropped (with a note).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import trimesh

from simreal.twin.errors import TwinInputError

SAMPLES_PER_PART = 2500
DENSE_SPACING_M = 0.004
MAX_DENSE = 60000
THIN_ABS_M = 0.003  # a part thinner than this (or 2 % of its size) is a thin wall: box collision, shell inertia
THIN_REL = 0.02


@dataclass
class Part:
    name: str
    mesh: trimesh.Trimesh  # metres, object frame (z up)
    samples: np.ndarray  # (SAMPLES_PER_PART, 3) area-weighted surface points
    normals: np.ndarray  # (SAMPLES_PER_PART, 3) face normals at the samples
    dense: np.ndarray  # (M, 3) surface points about DENSE_SPACING_M apart (contact queries)
    watertight: bool
    thin: bool  # a wall thinner than THIN_ABS_M / THIN_REL of its size
    notes: list[str] = field(default_factory=list)

    @property
    def extent(self) -> float:
        return float(np.max(self.mesh.extents))


def sample_surface(mesh: trimesh.Trimesh, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(count, 3) points uniform over the surface area (deterministic for a seed) and their face normals."""
    rng = np.random.default_rng(seed)
    tri = mesh.triangles
    area = mesh.area_faces
    face = rng.choice(len(tri), size=count, p=area / area.sum())
    u, v = rng.random(count), rng.random(count)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = tri[face]
    points = t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])
    return points, mesh.face_normals[face]


def clean_mesh(mesh: trimesh.Trimesh) -> tuple[trimesh.Trimesh, list[str]]:
    """Merge vertices, drop degenerate and duplicate faces, make normals consistent."""
    notes = []
    mesh = trimesh.Trimesh(np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces), process=False)
    finite = np.isfinite(mesh.vertices).all(axis=1)
    if not finite.all():
        mesh.update_faces(finite[mesh.faces].all(axis=1))
        notes.append(f"dropped faces with non-finite vertices ({int((~finite).sum())} vertices)")
    n0 = len(mesh.faces)
    mesh.merge_vertices()
    mesh.update_faces(mesh.nondegenerate_faces())
    mesh.update_faces(mesh.unique_faces())
    mesh.remove_unreferenced_vertices()
    if len(mesh.faces) < n0:
        notes.append(f"removed {n0 - len(mesh.faces)} degenerate or duplicate faces")
    if len(mesh.faces) and not mesh.is_watertight:
        trimesh.repair.fill_holes(mesh)
    if len(mesh.faces):
        trimesh.repair.fix_normals(mesh)
    return mesh, notes


def clean_parts(meshes: dict[str, trimesh.Trimesh]) -> tuple[list[Part], list[str]]:
    notes: list[str] = []
    parts = []
    for k, (name, raw) in enumerate(meshes.items()):
        mesh, part_notes = clean_mesh(raw)
        if len(mesh.faces) == 0 or mesh.area <= 1e-10:
            notes.append(f"part {name!r} has no surface area after repair; dropped it")
            continue
        if len(mesh.vertices) < 4:
            raise TwinInputError(f"part {name!r} has only {len(mesh.vertices)} vertices "
                                 f"({len(mesh.faces)} triangle(s)); "
                                 f"a part needs at least 4 vertices, not all in one plane, for MuJoCo to load it. "
                                 f"Fix or remove its mesh")
        watertight = bool(mesh.is_watertight)
        if not watertight:
            part_notes.append("not watertight after repair: collision from convex hulls of its pieces, shell inertia")
        elif mesh.volume <= 1e-12:
            part_notes.append("zero volume: treated as a thin wall")
        extents = np.sort(mesh.bounding_box_oriented.extents)
        thin = bool(extents[0] < max(THIN_ABS_M, THIN_REL * extents[-1])) or (watertight and mesh.volume <= 1e-12)
        if thin:
            part_notes.append(f"thin part ({extents[0] * 1000:.1f} mm): box collision, shell inertia")
        n_dense = int(np.clip(mesh.area / DENSE_SPACING_M**2, SAMPLES_PER_PART, MAX_DENSE))
        dense = np.concatenate([sample_surface(mesh, n_dense, seed=1000 + k)[0], mesh.vertices])
        parts.append(Part(name, mesh, *sample_surface(mesh, SAMPLES_PER_PART, seed=k), dense, watertight, thin,
                          part_notes))
        notes.extend(f"part {name!r}: {n}" for n in part_notes)
    if len(parts) < 2:
        raise TwinInputError(f"only {len(parts)} usable part(s) left after cleaning; an articulated object needs at "
                             f"least 2")
    return parts, notes
