"""Procedural articulated objects with known joints, for the twin benchmark and tasks.

``generate(kind, seed) -> GenObject``: part meshes (watertight, one per rigid part,
built with manifold booleans) and ground-truth joints, for cabinets with doors and
drawers, boxes with lids, laptops, microwaves, ovens and faucets with random dimensions
and part counts, under a random yaw. ``export(obj, dir)`` writes ``parts/*.obj`` and a
ground-truth ``gt.urdf``. Dimensions are in metres; z is up; the front faces -y before yaw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import trimesh

from simreal.errors import UnknownNameError

KINDS = ("cabinet", "box", "laptop", "microwave", "oven", "faucet")
WALL = 0.018  # m, panel thickness of furniture boards (18 mm MDF)
GAP = 0.004  # m, clearance between moving parts and the body


@dataclass
class GtJoint:
    child: str
    type: str
    axis: np.ndarray
    origin: np.ndarray
    limits: tuple[float, float] | None
    parent: str = "body"


@dataclass
class GenObject:
    kind: str
    seed: int
    parts: dict[str, trimesh.Trimesh]
    joints: list[GtJoint] = field(default_factory=list)


def box(lo, hi) -> trimesh.Trimesh:
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    return trimesh.creation.box(extents=hi - lo, transform=trimesh.transformations.translation_matrix((lo + hi) / 2))


def cylinder(centre, radius, length, axis: int) -> trimesh.Trimesh:
    tf = np.eye(4)
    if axis == 0:
        tf[:3, :3] = trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0])[:3, :3]
    elif axis == 1:
        tf[:3, :3] = trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0])[:3, :3]
    tf[:3, 3] = centre
    return trimesh.creation.cylinder(radius=radius, height=length, sections=32, transform=tf)


def _have_manifold() -> bool:
    try:
        import manifold3d  # noqa: F401
    except ImportError:
        return False
    return True


HAVE_MANIFOLD = _have_manifold()


def union(*meshes) -> trimesh.Trimesh:
    """One closed surface (manifold3d booleans); without manifold3d, the closed pieces side
    by side in one mesh (still watertight, the pipeline treats each piece as a component)."""
    if HAVE_MANIFOLD:
        return trimesh.boolean.union(list(meshes), engine="manifold")
    return trimesh.util.concatenate(list(meshes))


def hollow(lo, hi, open_side: str, wall: float = WALL) -> trimesh.Trimesh:
    """A box with walls of ``wall`` and one open side ('-y' front, '+z' top)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    ilo, ihi = lo + wall, hi - wall
    axis, sign = {"-y": (1, -1), "+z": (2, 1)}[open_side]
    if sign < 0:
        ilo[axis] = lo[axis] - 0.01
    else:
        ihi[axis] = hi[axis] + 0.01
    if HAVE_MANIFOLD:
        return trimesh.boolean.difference([box(lo, hi), box(ilo, ihi)], engine="manifold")
    walls = []  # the same shell as boards: slabs of the outer box outside the inner one, per axis
    for a in range(3):
        for side in (0, 1):
            wlo, whi = lo.copy(), hi.copy()
            for b in range(a):  # earlier axes' slabs already cover the corners
                wlo[b], whi[b] = max(lo[b], ilo[b]), min(hi[b], ihi[b])
            if side == 0:
                whi[a] = ilo[a]
            else:
                wlo[a] = ihi[a]
            if np.all(whi - wlo > 1e-9):
                walls.append(box(wlo, whi))
    return trimesh.util.concatenate(walls)


def bar_handle(centre, length, axis: int, out: float = 0.035) -> trimesh.Trimesh:
    """A U-shaped pull on a front (-y) face: a bar ``out`` m in front on two posts."""
    c = np.asarray(centre, float)
    r = 0.008
    along = np.zeros(3)
    along[axis] = length / 2 - r
    posts = [box(c + p - [r, 0, r] - [0, out, 0], c + p + [r, 0.002, r]) for p in (along, -along)]
    bar_c = c - [0, out - r, 0]
    half = np.full(3, r)
    half[axis] = length / 2
    return union(box(bar_c - half, bar_c + half), *posts)


# --------------------------------------------------------------------------- object kinds
def _front_panel(rng, lo, hi, y_front, handle_at: str | None):
    """An 18 mm overlay panel in front of y_front spanning x/z in [lo, hi], with a pull."""
    panel = box([lo[0], y_front - WALL, lo[1]], [hi[0], y_front, hi[1]])
    if handle_at is None:
        return panel
    w, h = hi[0] - lo[0], hi[1] - lo[1]
    cx, cz = (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2
    inset = 0.05
    if rng is not None and rng.random() < 0.35:  # a round pull knob instead of a bar
        x = {"left": lo[0] + inset, "right": hi[0] - inset}.get(handle_at, cx)
        z = hi[1] - inset if handle_at == "top" else cz
        return union(panel, cylinder([x, y_front - WALL - 0.012, z], 0.015, 0.026, axis=1))
    if handle_at in ("left", "right"):
        x = lo[0] + inset if handle_at == "left" else hi[0] - inset
        pull = bar_handle([x, y_front - WALL, cz], min(0.25, 0.5 * h), axis=2)
    else:  # "top" / "centre"
        z = hi[1] - inset if handle_at == "top" else cz
        pull = bar_handle([cx, y_front - WALL, z], min(0.3, 0.5 * w), axis=0)
    return union(panel, pull)


def _door(name, rng, lo, hi, y_front, hinge: str) -> tuple[trimesh.Trimesh, GtJoint]:
    """A door over the opening [lo, hi] (x, z), hinged on ``hinge`` (left/right/bottom)."""
    handle = {"left": "right", "right": "left", "bottom": "top"}[hinge]
    mesh = _front_panel(rng, lo, hi, y_front, handle)
    if hinge == "bottom":
        origin, axis = np.array([(lo[0] + hi[0]) / 2, y_front, lo[1]]), np.array([1.0, 0, 0])
    else:
        x = lo[0] if hinge == "left" else hi[0]
        origin, axis = np.array([x, y_front, (lo[1] + hi[1]) / 2]), np.array([0, 0, -1.0 if hinge == "left" else 1.0])
    return mesh, GtJoint(name, "revolute", axis, origin, (0.0, np.pi / 2))


def _drawer(name, rng, cell_lo, cell_hi, y_front, depth) -> tuple[trimesh.Trimesh, GtJoint]:
    """A drawer box in the cell (x, z ranges) of a body whose front is at y_front."""
    lo = np.array([cell_lo[0] + GAP, y_front, cell_lo[1] + GAP])
    hi = np.array([cell_hi[0] - GAP, y_front + depth, cell_hi[1] - GAP - 0.01])
    tray = hollow(lo, hi, "+z", wall=0.012)
    front = _front_panel(rng, [cell_lo[0] + 0.002, cell_lo[1] + 0.002], [cell_hi[0] - 0.002, cell_hi[1] - 0.002],
                         y_front, "centre")
    mesh = union(tray, front)
    return mesh, GtJoint(name, "prismatic", np.array([0, -1.0, 0]), (lo + hi) / 2, (0.0, 0.7 * depth))


def cabinet(rng) -> GenObject:
    W, D, H = rng.uniform(0.45, 0.9), rng.uniform(0.35, 0.55), rng.uniform(0.45, 1.0)
    y0 = -D / 2
    z, k = WALL, 0
    n_rows = int(rng.integers(1, 4))
    heights = rng.dirichlet(np.ones(n_rows) * 3) * (H - WALL * (n_rows + 1))
    shells = [hollow([-W / 2, y0, 0], [W / 2, D / 2, H], "-y")]
    parts, joints = {}, []
    for r, h in enumerate(heights):
        kind = ("drawers" if (h < 0.3 and rng.random() < 0.8)
                else rng.choice(["doors", "drawers"]) if h < 0.45 else "doors")
        ncol = int(rng.integers(1, 3)) if W > 0.55 else 1
        xs = np.linspace(-W / 2 + WALL, W / 2 - WALL, ncol + 1)
        for c in range(ncol):
            cell_lo, cell_hi = ([xs[c] + (WALL / 2 if c else 0), z],
                                [xs[c + 1] - (WALL / 2 if c < ncol - 1 else 0), z + h])
            if kind == "drawers":
                mesh, joint = _drawer(f"drawer_{k}", rng, cell_lo, cell_hi, y0, depth=D - WALL - 2 * GAP - 0.005)
            else:
                hinge = ("left" if c == 0 else "right") if ncol == 2 else rng.choice(["left", "right"])
                lo = [cell_lo[0] - WALL + 0.002 if c == 0 else cell_lo[0] - WALL / 2 + 0.002, cell_lo[1] - WALL / 2]
                hi = [cell_hi[0] + WALL - 0.002 if c == ncol - 1 else cell_hi[0] + WALL / 2 - 0.002,
                      cell_hi[1] + WALL / 2]
                lo[0], hi[0] = max(lo[0], -W / 2), min(hi[0], W / 2)
                lo[1], hi[1] = max(lo[1] + 0.0015, 0.0), min(hi[1] - 0.0015, H)
                mesh, joint = _door(f"door_{k}", rng, lo, hi, y0, hinge)
            parts[joint.child] = mesh
            joints.append(joint)
            k += 1
        if ncol == 2:
            shells.append(box([-WALL / 2, y0 + GAP, z], [WALL / 2, D / 2 - WALL, z + h]))
        z += h
        if r < n_rows - 1:
            shells.append(box([-W / 2 + WALL, y0, z], [W / 2 - WALL, D / 2 - WALL, z + WALL]))
            z += WALL
    return GenObject("cabinet", 0, {"body": union(*shells), **parts}, joints)


def chest(width: float, depth: float, height: float, n_drawers: int) -> GenObject:
    """A chest of ``n_drawers`` equal drawers stacked in one column (deterministic)."""
    y0, h = -depth / 2, (height - WALL * (n_drawers + 1)) / n_drawers
    shells = [hollow([-width / 2, y0, 0], [width / 2, depth / 2, height], "-y")]
    parts, joints, z = {}, [], WALL
    for k in range(n_drawers):
        mesh, joint = _drawer(f"drawer_{k}", None, [-width / 2 + WALL, z], [width / 2 - WALL, z + h], y0,
                              depth=depth - WALL - 2 * GAP - 0.005)
        parts[joint.child] = mesh
        joints.append(joint)
        z += h
        if k < n_drawers - 1:
            shells.append(box([-width / 2 + WALL, y0, z], [width / 2 - WALL, depth / 2 - WALL, z + WALL]))
            z += WALL
    return GenObject("chest", 0, {"body": union(*shells), **parts}, joints)


def lidded_box(rng) -> GenObject:
    W, D, H = rng.uniform(0.15, 0.5), rng.uniform(0.12, 0.4), rng.uniform(0.08, 0.3)
    t = rng.uniform(0.008, 0.02)
    body = hollow([-W / 2, -D / 2, 0], [W / 2, D / 2, H], "+z", wall=t)
    lid_t = rng.uniform(0.01, 0.025)
    lid = union(box([-W / 2, -D / 2, H], [W / 2, D / 2, H + lid_t]),  # a pull knob on top, near the front
                box([-0.02, -D / 2 + 0.008, H + lid_t - 0.001], [0.02, -D / 2 + 0.03, H + lid_t + 0.012]))
    joint = GtJoint("lid", "revolute", np.array([-1.0, 0, 0]), np.array([0, D / 2, H]), (0.0, np.pi / 2))
    return GenObject("box", 0, {"body": body, "lid": lid}, [joint])


def laptop(rng) -> GenObject:
    W, D = rng.uniform(0.28, 0.4), rng.uniform(0.2, 0.28)
    bt, st = rng.uniform(0.012, 0.022), rng.uniform(0.005, 0.01)
    lip = rng.uniform(0.02, 0.035)
    base = box([-W / 2, -D / 2, 0], [W / 2, D / 2, bt])
    screen = box([-W / 2, -D / 2 + lip, bt], [W / 2, D / 2, bt + st])
    joint = GtJoint("screen", "revolute", np.array([-1.0, 0, 0]), np.array([0, D / 2, bt]), (0.0, 0.65 * np.pi))
    return GenObject("laptop", 0, {"body": base, "screen": screen}, [joint])


def _knobs(rng, xs, z, y_front, prefix="knob") -> tuple[dict, list]:
    parts, joints = {}, []
    r = rng.uniform(0.015, 0.022)
    length = rng.uniform(0.015, 0.03)
    for i, x in enumerate(xs):
        name = f"{prefix}_{i}"
        parts[name] = cylinder([x, y_front - length / 2, z], r, length, axis=1)
        joints.append(GtJoint(name, "continuous", np.array([0, -1.0, 0]), np.array([x, y_front, z]), None))
    return parts, joints


def microwave(rng) -> GenObject:
    W, D, H = rng.uniform(0.4, 0.6), rng.uniform(0.3, 0.45), rng.uniform(0.25, 0.38)
    panel_w = rng.uniform(0.1, 0.15)
    xc = W / 2 - panel_w  # cavity / control panel split
    y0 = -D / 2
    body = union(hollow([-W / 2, y0, 0], [xc + WALL, D / 2, H], "-y"), box([xc, y0, 0], [W / 2, D / 2, H]))
    door, joint = _door("door", rng, [-W / 2, 0.0], [xc - 0.003, H], y0, "left")
    knobs, kj = _knobs(rng, [(xc + W / 2) / 2], H * rng.uniform(0.55, 0.75), y0)
    return GenObject("microwave", 0, {"body": body, "door": door, **knobs}, [joint, *kj])


def oven(rng) -> GenObject:
    W, D, H = rng.uniform(0.5, 0.7), rng.uniform(0.45, 0.6), rng.uniform(0.6, 0.9)
    strip = rng.uniform(0.1, 0.15)
    y0 = -D / 2
    body = union(hollow([-W / 2, y0, 0], [W / 2, D / 2, H - strip], "-y"),
                 box([-W / 2, y0, H - strip], [W / 2, D / 2, H]))
    door, joint = _door("door", rng, [-W / 2, 0.02], [W / 2, H - strip - 0.003], y0, "bottom")
    n = int(rng.integers(2, 5))
    knobs, kj = _knobs(rng, np.linspace(-W / 2, W / 2, n + 2)[1:-1], H - strip / 2, y0)
    return GenObject("oven", 0, {"body": body, "door": door, **knobs}, [joint, *kj])


def faucet(rng) -> GenObject:
    R, Hb = rng.uniform(0.025, 0.04), rng.uniform(0.12, 0.25)
    plate = box([-0.07, -0.05, 0], [0.07, 0.05, 0.01])
    body = union(plate, cylinder([0, 0, 0.01 + Hb / 2], R, Hb, axis=2))
    top = 0.01 + Hb
    collar_h, reach = rng.uniform(0.02, 0.04), rng.uniform(0.12, 0.22)
    arm = box([-0.012, -reach, top + collar_h - 0.024], [0.012, 0.0, top + collar_h])
    spout = union(cylinder([0, 0, top + collar_h / 2], R * 0.8, collar_h, axis=2), arm,
                  box([-0.012, -reach, top + collar_h - 0.06], [0.012, -reach + 0.024, top + collar_h - 0.01]))
    kr, kl = rng.uniform(0.015, 0.022), rng.uniform(0.02, 0.035)
    zk = 0.01 + Hb * 0.6
    joints = [GtJoint("spout", "revolute", np.array([0, 0, 1.0]), np.array([0, 0, top]), (-np.pi / 2, np.pi / 2))]
    if rng.random() < 0.5:  # a round knob spins
        handle = cylinder([R + kl / 2 - 0.002, 0, zk], kr, kl, axis=0)
        joints.append(GtJoint("handle", "continuous", np.array([1.0, 0, 0]), np.array([R, 0, zk]), None))
    else:  # a lever on a stem turns through a limited range
        arm = rng.uniform(0.06, 0.1)
        handle = union(cylinder([R + kl / 2 - 0.002, 0, zk], kr * 0.7, kl, axis=0),
                       box([R + kl - 0.012, -0.01, zk - 0.01], [R + kl, 0.01, zk + arm]))
        joints.append(GtJoint("handle", "revolute", np.array([1.0, 0, 0]), np.array([R, 0, zk]),
                              (-np.pi / 2, np.pi / 2)))
    return GenObject("faucet", 0, {"body": body, "spout": spout, "handle": handle}, joints)


MAKERS = {"cabinet": cabinet, "box": lidded_box, "laptop": laptop, "microwave": microwave, "oven": oven,
          "faucet": faucet}


def generate(kind: str, seed: int, yaw: float | None = None) -> GenObject:
    """One object of ``kind`` (see KINDS); a random yaw unless given (radians)."""
    if kind not in MAKERS:
        raise UnknownNameError(f"unknown object kind {kind!r}; choose one of {list(KINDS)}")
    rng = np.random.default_rng(seed)
    obj = MAKERS[kind](rng)
    obj.seed = seed
    yaw = float(rng.uniform(-np.pi, np.pi)) if yaw is None else yaw
    rot = trimesh.transformations.rotation_matrix(yaw, [0, 0, 1])
    for mesh in obj.parts.values():
        mesh.apply_transform(rot)
    for j in obj.joints:
        j.axis = rot[:3, :3] @ j.axis
        j.origin = rot[:3, :3] @ j.origin
    return obj


def benchmark_set(n: int, seed: int = 0, kinds: list[str] | None = None) -> list[tuple[str, int]]:
    """``n`` (kind, seed) pairs cycling through ``kinds`` (default: all, cabinets twice as often)."""
    cycle = list(kinds) if kinds else ["cabinet", "box", "laptop", "cabinet", "microwave", "oven", "faucet"]
    unknown = set(cycle) - set(KINDS)
    if unknown:
        raise UnknownNameError(f"unknown object kinds {sorted(unknown)}; choose from {list(KINDS)}")
    return [(cycle[i % len(cycle)], seed * 100003 + i) for i in range(n)]


def export(obj: GenObject, out_dir) -> Path:
    """Write ``parts/<name>.obj`` and ``gt.urdf`` (links framed at their joint origins)."""
    from simreal.twin.metric import write_gt_urdf

    out = Path(out_dir)
    (out / "parts").mkdir(parents=True, exist_ok=True)
    for name, mesh in obj.parts.items():
        (out / "parts" / f"{name}.obj").write_text(trimesh.exchange.obj.export_obj(mesh, include_normals=False))
    write_gt_urdf(obj, out / "gt.urdf")
    return out
