"""Collision geometry: convex pieces per part.

- a thin wall (sheet) -> one oriented box;
- a watertight part -> its connected components; a convex component is kept as is, an
  axis-aligned union of boards is split exactly into boxes (``boxes.py``), any other
  non-convex one goes through CoACD (Wei et al. 2022, approximate convex decomposition),
  cached on disk by a hash of the mesh and the parameters;
- a part that is not watertight -> the convex hull of each component (CoACD needs a
  closed surface), with a note.

Cache directory: ``$SIMREAL_CACHE/coacd`` (default ``~/.cache/simreal/coacd``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

import numpy as np
import trimesh

from simreal.cache import cache_dir
from simreal.twin.boxes import polycube_boxes
from simreal.twin.cleaning import Part

# CoACD settings: concavity threshold 0.05 of the part's size (its default) with a
# shallower tree search than the default, measured ~1-5 s per hollow part on 2 cores.
COACD_PARAMS = dict(threshold=0.05, max_convex_hull=24, preprocess_mode="off", resolution=1000,
                    mcts_iterations=40, mcts_max_depth=2, mcts_nodes=10, seed=0)
CONVEX_SLACK = 0.03  # a component whose hull is at most 3 % larger than itself counts as convex


@dataclass
class Piece:
    """One convex collision piece in the object frame: a hull mesh or a box."""

    vertices: np.ndarray | None = None  # (V, 3) for kind "mesh"
    faces: np.ndarray | None = None
    box_center: np.ndarray | None = None  # for kind "box"
    box_rot: np.ndarray | None = None  # (3, 3) box axes as columns
    box_half: np.ndarray | None = None

    @property
    def kind(self) -> str:
        return "box" if self.box_half is not None else "mesh"

    def volume(self) -> float:
        if self.kind == "box":
            return float(8 * np.prod(self.box_half))
        return float(trimesh.Trimesh(self.vertices, self.faces).convex_hull.volume)

    def trimesh(self) -> trimesh.Trimesh:
        if self.kind == "box":
            tf = np.eye(4)
            tf[:3, :3], tf[:3, 3] = self.box_rot, self.box_center
            return trimesh.creation.box(extents=2 * self.box_half, transform=tf)
        return trimesh.Trimesh(self.vertices, self.faces).convex_hull


def mesh_hash(mesh: trimesh.Trimesh, params: dict) -> str:
    h = hashlib.sha256()
    h.update(np.round(np.asarray(mesh.vertices, dtype=np.float64), 7).tobytes())
    h.update(np.asarray(mesh.faces, dtype=np.int64).tobytes())
    h.update(json.dumps(params, sort_keys=True).encode())
    return h.hexdigest()[:32]


def coacd_pieces(mesh: trimesh.Trimesh, params: dict | None = None) -> list[Piece]:
    """CoACD convex pieces of a closed mesh, read from the cache when the same mesh was seen."""
    params = dict(COACD_PARAMS if params is None else params)
    path = cache_dir("coacd") / f"{mesh_hash(mesh, params)}.npz"
    if path.is_file():
        data = np.load(path)
        n = int(data["n"])
        return [Piece(data[f"v{i}"], data[f"f{i}"]) for i in range(n)]
    import coacd

    coacd.set_log_level("error")
    result = coacd.run_coacd(coacd.Mesh(np.asarray(mesh.vertices), np.asarray(mesh.faces)), **params)
    pieces = [Piece(np.asarray(v, dtype=np.float64), np.asarray(f, dtype=np.int64)) for v, f in result]
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"n": np.array(len(pieces))}
    for i, p in enumerate(pieces):
        arrays[f"v{i}"], arrays[f"f{i}"] = p.vertices, p.faces
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
    return pieces


def box_piece(mesh: trimesh.Trimesh) -> Piece:
    obb = mesh.bounding_box_oriented
    tf = np.asarray(obb.primitive.transform)
    half = np.maximum(np.asarray(obb.primitive.extents) / 2, 0.0005)  # at least 1 mm thick
    return Piece(box_center=tf[:3, 3].copy(), box_rot=tf[:3, :3].copy(), box_half=half)


def hull_piece(mesh: trimesh.Trimesh) -> Piece:
    hull = mesh.convex_hull
    return Piece(np.asarray(hull.vertices), np.asarray(hull.faces))


def part_pieces(part: Part, frame: np.ndarray | None = None) -> tuple[list[Piece], str]:
    """Convex pieces of one part and how they were made (``frame``: object axes, for the
    exact box decomposition of axis-aligned boards)."""
    if part.thin:
        return [box_piece(part.mesh)], "box (thin wall)"
    comps = [c for c in part.mesh.split(only_watertight=False) if len(c.faces) >= 4]
    if any(c.is_watertight and c.volume < 0 for c in comps):
        comps = [part.mesh]  # a closed cavity: its inner surface belongs with the outer one
    if not comps:
        return [box_piece(part.mesh)], "box (degenerate)"
    pieces, methods = [], set()
    for comp in comps:
        closed = comp.is_watertight and comp.volume > 1e-12
        if not closed:
            pieces.append(hull_piece(comp))
            methods.add("convex hull (open surface)")
            continue
        hull = comp.convex_hull
        if hull.volume <= (1 + CONVEX_SLACK) * comp.volume:
            pieces.append(Piece(np.asarray(hull.vertices), np.asarray(hull.faces)))
            methods.add("convex components")
        else:
            boxes = polycube_boxes(comp, np.eye(3) if frame is None else frame)
            if boxes is not None:
                pieces.extend(Piece(box_center=c, box_rot=r, box_half=h) for c, r, h in boxes)
                methods.add("exact boxes")
            else:
                pieces.extend(coacd_pieces(comp))
                methods.add("CoACD")
    return pieces, " + ".join(sorted(methods))
