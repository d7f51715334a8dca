"""Structure: the object's frame, the part contact graph, the base and a kinematic tree.

Contacts come from distances between surface samples of the parts (KD-trees), with a
tolerance that scales with the object (gaps of a few mm between a door and its frame are
contact). The base touches the ground and is the largest such part; the tree grows from
it along the largest contacts first, discounted by depth, so a part hangs from the part
it touches most among those already placed, preferring parts nearer the base. A part touching
nothing hangs from the part it comes nearest (as if touching when the gap is small for its size).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import ConvexHull, cKDTree

from simreal.errors import InputError
from simreal.twin.cleaning import Part

DEPTH_DISCOUNT = 1 / 3
NEAR_GAP = 0.2  # a part this close to another (share of its own size) hangs from it as if touching


@dataclass
class Structure:
    frame: np.ndarray  # (3, 3) object axes as columns (third = world z)
    diag: float  # object bounding-box diagonal, m
    tol: float  # contact distance, m
    base: int
    parent: dict[int, int]  # child index -> parent index
    contact: dict[tuple[int, int], np.ndarray]  # (child, parent) -> child samples touching the parent
    floating: set[int] = field(default_factory=set)  # children attached to their nearest part: fixed joint
    order: list[int] = field(default_factory=list)  # parts from the base outward


def object_frame(points: np.ndarray) -> np.ndarray:
    """Axes of the smallest-area rectangle around the points seen from above, plus z."""
    xy = points[:, :2]
    try:
        hull = xy[ConvexHull(xy).vertices]
    except Exception:
        return np.eye(3)
    best, best_angle = np.inf, 0.0
    for a, b in zip(hull, np.roll(hull, -1, axis=0)):
        angle = np.arctan2(b[1] - a[1], b[0] - a[0]) % (np.pi / 2)
        c, s = np.cos(angle), np.sin(angle)
        proj = hull @ np.array([[c, -s], [s, c]])
        area = np.prod(proj.max(axis=0) - proj.min(axis=0))
        if area < best - 1e-12:
            best, best_angle = area, angle
    if best_angle > np.pi / 4:
        best_angle -= np.pi / 2  # the smaller of the two equivalent angles
    if abs(best_angle) < 1e-3:
        best_angle = 0.0
    c, s = np.cos(best_angle), np.sin(best_angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def build_structure(parts: list[Part], base_name: str | None = None) -> tuple[Structure, list[str]]:
    notes: list[str] = []
    points = np.concatenate([p.samples for p in parts])
    lo, hi = points.min(axis=0), points.max(axis=0)
    diag = float(np.linalg.norm(hi - lo))
    tol = max(0.005, 0.015 * diag)
    trees = [cKDTree(p.dense) for p in parts]
    n = len(parts)
    weight = np.zeros((n, n))
    min_dist = np.full((n, n), np.inf)
    touching: dict[tuple[int, int], np.ndarray] = {}
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            d, _ = trees[j].query(parts[i].samples)
            min_dist[i, j] = float(d.min())
            close = d < tol
            weight[i, j] = close.mean()
            touching[(i, j)] = parts[i].samples[close]
    weight = weight + weight.T

    if base_name is not None:
        names = [p.name for p in parts]
        if base_name not in names:
            raise InputError(f"hints name base {base_name!r}, which is not a part; parts are {names}")
        base = names.index(base_name)
    else:
        ground = [p.samples[:, 2].min() < lo[2] + tol for p in parts]
        size = [np.prod(p.mesh.extents) for p in parts]
        base = int(max(range(n), key=lambda i: (ground[i], size[i])))

    # grow the tree from the base along the largest contact first, each level down counting a
    # third (DEPTH_DISCOUNT): two doors side by side both hang from the cabinet, while a handle
    # that passes through a door and grazes the frame (30x less contact) hangs from the door
    parent: dict[int, int] = {}
    depth = {base: 0}
    floating = set()
    while len(depth) < n:
        links = [(weight[c, p] * DEPTH_DISCOUNT ** depth[p], -depth[p], c, p) for c in range(n) if c not in depth
                 for p in depth if weight[c, p] > 0]
        if links:
            _, _, child, par = max(links)
        else:  # a part touching nothing placed: the nearest one hangs from the part it comes nearest
            child, par = min(((c, p) for c in range(n) if c not in depth for p in depth), key=lambda cp: min_dist[cp])
            gap = min_dist[child, par]
            if gap <= NEAR_GAP * parts[child].extent:  # a small gap for its size (a knob modelled clear of its stove)
                touching[(child, par)] = parts[child].samples[trees[par].query(parts[child].samples)[0] < gap + tol]
                notes.append(f"part {parts[child].name!r} stands {gap * 100:.1f} cm clear of the rest, small for its "
                             f"size: taken as touching {parts[par].name!r} where it comes nearest")
            else:
                floating.add(child)
                notes.append(f"part {parts[child].name!r} floats {gap * 100:.1f} cm away from the rest; "
                             f"attached to {parts[par].name!r} by a fixed joint (low confidence)")
        parent[child] = par
        depth[child] = depth[par] + 1
    order = sorted(depth, key=lambda i: depth[i])
    contact = {(c, p): touching[(c, p)] for c, p in parent.items()}
    vertices = np.concatenate([p.mesh.vertices for p in parts])  # exact corners, unlike samples
    return Structure(object_frame(vertices), diag, tol, base, parent, contact, floating, order), notes
