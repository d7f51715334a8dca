"""Where a robot takes hold of a twin's joint, and how to place the twin in front of it.

For one joint of a ``simreal twin build`` output (``DIR/<name>.xml`` + ``report.json``), from
the twin's own geometry at rest, on MuJoCo's compiled model:

- the **opening direction**: the joint moves from 0 toward the end of its range that lies
  farther from 0;
- the **approach**: the side of the moving part that faces out of the object (away from the
  rest of it), along the direction the part's shape says: a drawer or a button along its
  axis; a panel that slides in its own plane (a sliding door) along its normal; a part that
  swings about an axis off its centre (a door, a lid, a lever) along the way its far edge
  moves; a part turning about its own centre (a knob) along its axis;
- the **grasp point**: on the moving part (its body and the bodies below it), the points
  that stand out farthest along the approach, within ``LEAD_TOL_M`` (or a tenth of the part's depth
  along it, if less) of the outermost: a
  handle where there is one (a handle stands proud of the face it is on), else that face's
  centre. For a hinged panel only the outer part of its lever counts (at least
  ``LEVER_FRACTION`` of its largest distance from the axis): the edge away from the hinge;
- the **placement**: a yaw about z that turns the approach toward the robot (-x), and a
  position that puts the grasp point at ``GRASP_AT``, a comfortable reach of the Panda, at its
  own height within ``GRASP_Z_RANGE``, raised where the twin would otherwise reach below the
  floor (a tall cabinet whose handle is low). The twin's base is welded to the world there
  (a twin of a small object then hangs in the air, as if clamped).
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simreal.errors import InputError, MissingFileError

LEAD_TOL_M = 0.01
LEVER_FRACTION = 0.7
GRASP_AT = (0.6, 0.0, 0.35)  # m, robot base frame: the grasp point at rest
GRASP_Z_RANGE = (0.15, 0.6)
FLOOR_CLEARANCE_M = 0.002  # ... but raised so that the twin's lowest point clears the floor by this
SURFACE_SAMPLES = 20000  # the grasp point's height is kept where it was, inside this band


@dataclass
class JointGrasp:
    mjcf: Path
    joint: str  # the twin's joint name (without the scene's prefix)
    body: str  # the moving body the grasp point is fixed to
    kind: str  # "prismatic" | "revolute"
    range: tuple[float, float]
    open_sign: float  # +1: the joint opens toward range[1]; -1: toward range[0]
    grasp_local: tuple[float, float, float]  # in the body's frame
    pos: tuple[float, float, float]  # the twin's placement in the robot base frame
    quat: tuple[float, float, float, float]  # (w, x, y, z), a yaw
    approach: tuple[float, float, float]  # the side the grasp point faces, twin frame (turned to -x by quat)

    @property
    def travel(self) -> float:
        """How far the joint can open from rest (m or rad)."""
        return abs(self.range[1] if self.open_sign > 0 else self.range[0])


def twin_files(twin_dir: str | Path) -> tuple[Path, dict]:
    """(MJCF path, report) of a twin directory; a clear error for anything else."""
    d = Path(twin_dir).expanduser()
    report = d / "report.json"
    if not d.is_dir():
        raise MissingFileError(f"twin directory {d} does not exist (make one with simreal twin build PARTS --out DIR)")
    if not report.is_file():
        raise MissingFileError(f"{d} holds no report.json: not a simreal twin build output")
    try:
        data = json.loads(report.read_text())
        mjcf = d / data["files"]["mjcf"]
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{report} is not a twin report ({e})") from None
    if not mjcf.is_file():
        raise MissingFileError(f"the twin's MJCF {mjcf} (named in {report}) does not exist")
    return mjcf.resolve(), data


def _subtree(model, body: int) -> list[int]:
    out = [body]
    for b in range(model.nbody):
        if b not in out and int(model.body_parentid[b]) in out:
            out.append(b)
    return out


def _box_triangles(half: np.ndarray) -> np.ndarray:
    """(12, 3, 3) the triangles of a box's faces, centred at the origin."""
    corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) * half
    quads = [(0, 1, 3, 2), (4, 5, 7, 6), (0, 1, 5, 4), (2, 3, 7, 6), (0, 2, 6, 4), (1, 3, 7, 5)]
    return np.array([corners[list(tri)] for a, b, c, d in quads for tri in ((a, b, c), (a, c, d))])


def _part_points(model, data, bodies: list[int], samples: int = SURFACE_SAMPLES) -> np.ndarray:
    """World points of the given bodies at rest, spread evenly over their surfaces (a mesh's
    vertices crowd where it is finely tessellated, e.g. a round handle); a primitive by its
    bounding box's surface."""
    import mujoco

    tris = []
    for g in range(model.ngeom):
        if int(model.geom_bodyid[g]) not in bodies:
            continue
        pos, rot = data.geom_xpos[g], data.geom_xmat[g].reshape(3, 3)
        if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH:
            m = int(model.geom_dataid[g])
            verts = model.mesh_vert[model.mesh_vertadr[m]: model.mesh_vertadr[m] + model.mesh_vertnum[m]]
            faces = model.mesh_face[model.mesh_faceadr[m]: model.mesh_faceadr[m] + model.mesh_facenum[m]]
            tris.append((pos + verts @ rot.T)[faces])
        else:  # a primitive: the surface of its bounding box, at its own half-sizes
            r, t = model.geom_size[g], model.geom_type[g]
            kinds = mujoco.mjtGeom
            half = {int(kinds.mjGEOM_SPHERE): (r[0], r[0], r[0]), int(kinds.mjGEOM_CYLINDER): (r[0], r[0], r[1]),
                    int(kinds.mjGEOM_CAPSULE): (r[0], r[0], r[1] + r[0])}.get(int(t), tuple(r[:3]))
            tris.append(pos + _box_triangles(np.asarray(half, dtype=float)) @ rot.T)
    t = np.concatenate(tris) if tris else np.zeros((0, 3, 3))
    area = 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)
    if not area.sum() > 0:
        return np.zeros((0, 3))
    rng = np.random.default_rng(0)
    pick = rng.choice(len(t), size=samples, p=area / area.sum())
    u, v = rng.random((2, samples))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    a, b, c = t[pick, 0], t[pick, 1], t[pick, 2]
    return a + u[:, None] * (b - a) + v[:, None] * (c - a)


def _thin_axis(points: np.ndarray) -> tuple[np.ndarray, bool]:
    """(the direction of the part's least extent, whether it is clearly its least: a flat part,
    e.g. a panel, whose normal that is; a cap as tall as it is wide has none)."""
    _, sv, vt = np.linalg.svd(points - points.mean(axis=0), full_matrices=False)
    return vt[2], bool(sv[2] < 0.6 * sv[1])


def _outward(direction: np.ndarray, part: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """``direction`` or its opposite: the one that points from the rest of the object to the part."""
    d = direction / max(np.linalg.norm(direction), 1e-12)
    if len(rest) and float((part.mean(axis=0) - rest.mean(axis=0)) @ d) < 0:
        d = -d
    return d


def _approach(kind: str, sign: float, axis: np.ndarray, anchor: np.ndarray, pts: np.ndarray,
              rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the side to approach the moving part from, the part's points a grasp may use)."""
    if kind == "prismatic":
        opens = sign * axis
        offset = pts.mean(axis=0) - rest.mean(axis=0) if len(rest) else opens
        thin, flat = _thin_axis(pts)
        if float(offset @ opens) > 0:
            approach = opens  # it slides out of the object (a drawer): pulled from the side it comes out of
        elif abs(float(offset @ axis)) > 0.7 * np.linalg.norm(offset) or not flat or abs(float(thin @ axis)) > 0.7:
            approach = _outward(axis, pts, rest)  # it is pressed in (a button): from its outer face
        else:
            approach = _outward(thin, pts, rest)  # a panel sliding across the object (a sliding door): its face
    else:
        radial = pts - anchor
        radial -= np.outer(radial @ axis, axis)
        lever = np.linalg.norm(radial, axis=1)
        if np.linalg.norm(radial.mean(axis=0)) > 0.25 * lever.max():  # off the axis: a door, a lid, a lever
            width = np.linalg.svd(radial - radial.mean(axis=0), full_matrices=False)[2][0]  # hinge -> far edge
            width = width if float(radial.mean(axis=0) @ width) > 0 else -width
            keep = lever >= LEVER_FRACTION * lever.max()  # its far edge
            pts = pts[keep]
            approach = _outward(np.cross(axis, width), pts, rest)
        else:  # centred on its axis: a knob, turned from its outer face
            approach = _outward(axis, pts, rest)
    return approach, pts


def joint_grasp(twin_dir: str | Path, joint: str | None = None) -> JointGrasp:
    """The grasp point and placement for ``joint`` (a name from the twin's report; default:
    the first movable joint)."""
    import mujoco

    mjcf, report = twin_files(twin_dir)
    movable = [j for j in report.get("joints", []) if j.get("type") in ("prismatic", "revolute")]
    if not movable:
        raise InputError(f"twin {twin_dir} has no prismatic or revolute joint to open (its report lists "
                         f"{[j.get('name') for j in report.get('joints', [])]})")
    names = [j["name"] for j in movable]
    if joint is None:
        joint = names[0]
    if joint not in names:
        raise InputError(f"twin {twin_dir} has no movable joint {joint!r}; its joints: {names}")
    model = mujoco.MjModel.from_xml_path(str(mjcf))
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    jid = model.joint(joint).id
    kind = {int(mujoco.mjtJoint.mjJNT_SLIDE): "prismatic", int(mujoco.mjtJoint.mjJNT_HINGE): "revolute"}.get(
        int(model.jnt_type[jid]))
    if kind is None:
        raise InputError(f"joint {joint!r} of {mjcf} is neither a slide nor a hinge in the MJCF")
    lo, hi = (float(x) for x in model.jnt_range[jid]) if model.jnt_limited[jid] else (0.0, 0.0)
    if not hi - lo > 0:
        raise InputError(f"joint {joint!r} of {mjcf} has no range to open through ({lo}, {hi})")
    sign = 1.0 if abs(hi) >= abs(lo) else -1.0
    if (sign > 0 and hi <= 0) or (sign < 0 and lo >= 0):
        raise InputError(f"joint {joint!r} of {mjcf}: its range ({lo}, {hi}) does not hold its rest position 0")
    body = int(model.jnt_bodyid[jid])
    moving = _subtree(model, body)
    axis, anchor = data.xaxis[jid].copy(), data.xanchor[jid].copy()
    pts = _part_points(model, data, moving)
    if not len(pts):
        raise InputError(f"joint {joint!r} of {mjcf}: its moving part has no geometry to take hold of")
    rest = _part_points(model, data, [b for b in range(model.nbody) if b not in moving])
    lowest = float(np.concatenate([pts, rest])[:, 2].min())
    approach, pts = _approach(kind, sign, axis, anchor, pts, rest)
    lead = pts @ approach
    grasp = pts[lead >= lead.max() - min(LEAD_TOL_M, 0.1 * np.ptp(lead))].mean(axis=0)
    if np.linalg.norm(approach[:2]) > 0.3:  # turn the approach toward the robot (-x)
        yaw = math.pi - math.atan2(approach[1], approach[0])
    else:  # it faces up or down (a lid): turn the grasp point's side of the twin toward the robot
        off = grasp[:2] - (rest if len(rest) else pts)[:, :2].mean(axis=0)
        yaw = math.pi - math.atan2(off[1], off[0]) if np.linalg.norm(off) > 1e-3 else 0.0
    c, s = math.cos(yaw), math.sin(yaw)
    rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    at = np.array(GRASP_AT, dtype=float)
    at[2] = min(max(float((rz @ grasp)[2]), GRASP_Z_RANGE[0]), GRASP_Z_RANGE[1])
    at[2] = max(at[2], float(grasp[2]) - lowest + FLOOR_CLEARANCE_M)  # no part of it below the floor
    if at[2] > GRASP_Z_RANGE[1]:
        warnings.warn(f"joint {joint!r} of {mjcf}: with the twin standing on the floor its grasp point is "
                      f"{at[2]:.2f} m high, above the {GRASP_Z_RANGE[1]} m the Panda reaches comfortably", stacklevel=2)
    pos = at - rz @ grasp
    rot_b = data.xmat[body].reshape(3, 3)
    local = rot_b.T @ (grasp - data.xpos[body])
    return JointGrasp(mjcf=mjcf, joint=joint, body=model.body(body).name, kind=kind, range=(lo, hi), open_sign=sign,
                      grasp_local=tuple(float(x) for x in local), pos=tuple(float(x) for x in pos),
                      quat=(math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)),
                      approach=tuple(float(x) for x in approach))
