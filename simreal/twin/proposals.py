"""The actor: joint proposals for a movable part, each with a prior score and a reason.

A proposer is any callable ``proposer(ctx: PartContext) -> list[JointProposal]``; register
one with ``register_proposer(name, fn)`` (e.g. a vision-language model that writes joints
as code) and pick it with ``build_twin(..., proposer=name)``. The default, "geometric",
needs no network: thin or framed panels hinge on an edge (shared with the parent's
boundary, opposite the handle), in the frame member beside it or in a hinge bracket off its end,
or slide in their plane;
parts inside the parent's box slide out of it; parts set into a face push in, and a stick set
into a face at a slant (a toggle) also tilts across its length; round parts
spin about their contact normal (a squat one also turns about its own axis), other parts turn
about their contact patch; fixed always.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from simreal.errors import InputError, UnknownNameError
from simreal.twin.cleaning import Part

JOINT_TYPES = ("revolute", "prismatic", "continuous", "fixed")
# a part that can sink into its parent is a button before it is a knob: it beats a free spin (3 + 1)
PUSH_PRIOR = 4.0
SASH_RATIO = 0.15  # a framed panel's depth (the band holding 85 % of its surface) against its smaller side
SET_INTO_M = 0.0025  # a part whose inner end is this far below its parent's face sits in a hole
FRAME_GAP_M = 0.004  # a panel edge this far inside its parent's outline may hinge in the frame beyond it
FRAME_MAX = 0.25  # ... when the frame member is narrower than this share of the panel
BRACKET_BAND = 0.25  # a hinge bracket: the parent's only surface off the panel's end lies this near an edge
# a stick set into a face at a slant (a toggle switch) tilts across its length: it beats a turn about
# the contact normal (1.2) and a push of a part that is not round (0.2)
LEVER_PRIOR = 1.6
LEVER_ASPECT = 2.0  # its length against its thickness (singular values of its vertices)
LEVER_SLANT_RAD = (np.radians(15), np.radians(70))  # its length's angle from the face normal
LEVER_THROW_RAD = np.pi / 4  # the sweep's reach each way: a toggle throws through well under 90 degrees
# a squat round part whose own axis is not its contact normal (a stove knob standing beside the stove)
# turns about that axis: it beats a turn about the contact normal (1.2)
OWN_AXIS_PRIOR = 1.4
OWN_AXIS_SQUAT = 1.5  # its length along the axis against its diameter: a knob or a wheel, not a rod


@dataclass
class JointProposal:
    type: str  # one of JOINT_TYPES
    axis: np.ndarray  # (3,) unit, object frame; positive motion opens
    origin: np.ndarray  # (3,) a point on the axis, m
    prior: float  # actor's belief, higher is better
    reason: str
    max_travel: float = 0.0  # sweep length: rad (revolute) or m (prismatic)
    two_sided: bool = False  # sweep both directions (turning parts without an obvious rest end)
    min_travel: float = 0.0  # the critic rejects a free range below this
    refinable: bool = False  # the critic may nudge the pivot when the sweep collides at once
    through_parent: bool = False  # sweep against every part but the parent (its inside is not modelled)


@dataclass
class PartContext:
    """What a proposer sees about one child part."""

    child: Part
    parent: Part
    frame: np.ndarray  # (3, 3) object axes as columns
    contact: np.ndarray  # (k, 3) child surface samples touching the parent
    parent_is_base: bool
    tol: float  # contact distance of the structure, m
    hint: dict = field(default_factory=dict)
    attached: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # samples of the parts hanging from it


Proposer = Callable[[PartContext], list[JointProposal]]
_PROPOSERS: dict[str, Proposer] = {}


def register_proposer(name: str, proposer: Proposer) -> None:
    _PROPOSERS[name] = proposer


def get_proposer(name: str) -> Proposer:
    if name not in _PROPOSERS:
        raise UnknownNameError(f"unknown proposer {name!r}; registered: {sorted(_PROPOSERS)}")
    return _PROPOSERS[name]


# --------------------------------------------------------------------------- geometry helpers
def _slab(q: np.ndarray, qn: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """A thin panel: two big parallel faces holding most of the surface.

    q, qn: samples and normals in the object frame. Returns (normal axis, slab lo, slab hi)
    or None."""
    best = None
    ext = hi - lo
    for k in range(3):
        i, j = [a for a in range(3) if a != k]
        flat = np.abs(qn[:, k]) > 0.97
        if flat.sum() < 0.3 * len(q):
            continue
        levels = np.round(q[flat, k] / 0.002).astype(int)
        vals, counts = np.unique(levels, return_counts=True)
        if len(vals) < 2:
            continue
        top = vals[np.argsort(-counts)[:2]] * 0.002
        s0, s1 = float(top.min()), float(top.max())
        thickness = s1 - s0
        if thickness < 1e-4 or thickness > 0.35 * min(ext[i], ext[j]):
            continue
        inside = (q[:, k] > s0 - 0.003) & (q[:, k] < s1 + 0.003)
        if inside.mean() < 0.75:
            continue
        if best is None or thickness < best[2] - best[1]:
            best = (k, s0, s1)
    return best if best is not None else _sash(q, ext)


def _sash(q: np.ndarray, ext: np.ndarray):
    """A framed panel (a window sash: a frame a few cm deep round a pane, a handle on it):
    no two faces hold most of the surface, but 85 % of it lies in a band under SASH_RATIO of
    the panel's smaller side. Returns (normal axis, band lo, band hi) or None."""
    k = int(np.argmin(ext))
    i, j = [a for a in range(3) if a != k]
    v = np.sort(q[:, k])
    m = int(0.85 * len(v))
    if m < 10:
        return None
    widths = v[m:] - v[: len(v) - m]
    a = int(np.argmin(widths))
    if widths[a] < SASH_RATIO * min(ext[i], ext[j]):
        return k, float(v[a]), float(v[a + m])
    return None


def _circular(q: np.ndarray, centre: np.ndarray, axis: np.ndarray) -> bool:
    """Surface samples are rotationally symmetric about the line (centre, axis)."""
    rel = q - centre
    along = rel @ axis
    radial = rel - np.outer(along, axis)
    r = np.linalg.norm(radial, axis=1)
    if r.max() < 1e-4:
        return False
    ref = np.cross(axis, [1.0, 0, 0]) if abs(axis[0]) < 0.9 else np.cross(axis, [0, 1.0, 0])
    ref /= np.linalg.norm(ref)
    ang = np.arctan2(radial @ np.cross(axis, ref), radial @ ref)
    bins = np.floor((ang + np.pi) / (2 * np.pi) * 16).astype(int) % 16
    rmax = np.array([r[bins == b].max() if np.any(bins == b) else 0.0 for b in range(16)])
    return bool(rmax.min() > 0 and (rmax.max() - rmax.min()) / rmax.max() < 0.08)


def _own_axis(q: np.ndarray, mid: np.ndarray, ext: np.ndarray):
    """The object axis a squat part is round about (its outline seen along it is a circle about its
    box's middle, its length along it at most OWN_AXIS_SQUAT times its diameter), else None."""
    for k in np.argsort(ext):
        if ext[k] <= OWN_AXIS_SQUAT * np.delete(ext, k).min() and _circular(q, mid, np.eye(3)[k]):
            return np.eye(3)[k]
    return None


def _set_into(cv: np.ndarray, pd: np.ndarray, normal: np.ndarray):
    """(sunk, proud) in m when the part's inner end lies below the parent's surface under it
    by at least SET_INTO_M (a button or a nail in its hole), else None. ``normal``: out of the
    parent's face; cv, pd: the part's vertices and the parent's dense samples."""
    c0 = cv.mean(axis=0)
    rel = pd - c0
    lateral = np.linalg.norm(rel - np.outer(rel @ normal, normal), axis=1)
    rc = cv - c0
    radius = np.linalg.norm(rc - np.outer(rc @ normal, normal), axis=1).max()
    inner, outer = float((cv @ normal).min()), float((cv @ normal).max())
    under = pd[(lateral < radius)] @ normal
    under = under[under < outer]
    if len(under) < 5:
        return None
    face = float(under.max())
    sunk, proud = face - inner, outer - face
    return (sunk, proud) if sunk >= SET_INTO_M and proud > SET_INTO_M else None


def _lever_tilt(cv: np.ndarray, normal: np.ndarray):
    """The tilt axis of a stick set into a face: across the stick's length and in the face
    (unit), when the part is at least LEVER_ASPECT times longer than it is thick and slants out
    of the face, else None. A stick straight along the normal could tilt either way, and a bar
    lying along the face (a door's lever handle) turns about the normal instead."""
    s, vt = np.linalg.svd(cv - cv.mean(axis=0), full_matrices=False)[1:]
    out_of_face = abs(float(vt[0] @ normal))
    if s[0] < LEVER_ASPECT * s[1] or not np.cos(LEVER_SLANT_RAD[1]) < out_of_face < np.cos(LEVER_SLANT_RAD[0]):
        return None
    tilt = np.cross(vt[0], normal)
    return tilt / np.linalg.norm(tilt)


def _face_normal(parent: Part, point: np.ndarray) -> np.ndarray:
    """The outward normal of the parent's face nearest ``point`` (object frame): the face a part
    is set into, which a contact patch's spread does not give when the part enters it at a slant."""
    from trimesh.triangles import closest_point

    tris = parent.mesh.triangles
    near = closest_point(tris, np.repeat(point[None], len(tris), axis=0))
    tri = int(np.argmin(np.linalg.norm(near - point, axis=1)))
    return np.asarray(parent.mesh.face_normals[tri], dtype=float)


def _contact_axis(contact: np.ndarray, q_child_centre: np.ndarray):
    """(centre, normal) of the contact patch: its least-spread direction, pointing into the child."""
    if len(contact) < 8:
        return None
    centre = contact.mean(axis=0)
    _, vecs = np.linalg.eigh(np.cov((contact - centre).T))
    normal = vecs[:, 0]
    if (q_child_centre - centre) @ normal < 0:
        normal = -normal
    return centre, normal


def _enclosed(parent_pts: np.ndarray, lo: np.ndarray, hi: np.ndarray, k: int, tol: float) -> bool:
    """The parent has walls on both sides of the child across both axes other than ``k``
    (a drawer in its cavity), within the child's span. The floor the parent stands on is a
    wall too (a bottom drawer of a cabinet without a bottom board)."""
    floor = parent_pts[:, 2].min()
    for a in [x for x in range(3) if x != k]:
        b = 3 - k - a
        sk, sb = min(tol, 0.2 * (hi[k] - lo[k])), min(tol, 0.2 * (hi[b] - lo[b]))
        band = parent_pts[(parent_pts[:, k] > lo[k] + sk) & (parent_pts[:, k] < hi[k] - sk)
                          & (parent_pts[:, b] > lo[b] + sb) & (parent_pts[:, b] < hi[b] - sb)]
        below = np.any(band[:, a] < lo[a] + tol) or (a == 2 and lo[2] < floor + tol)
        if not (below and np.any(band[:, a] > hi[a] - tol)):
            return False
    return True


def _snap(axis: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Snap an axis to the nearest object axis when within 5 degrees."""
    dots = frame.T @ axis
    k = int(np.argmax(np.abs(dots)))
    if abs(dots[k]) > np.cos(np.radians(5)):
        return frame[:, k] * np.sign(dots[k])
    return axis / np.linalg.norm(axis)


# --------------------------------------------------------------------------- the geometric actor
def geometric_proposals(ctx: PartContext) -> list[JointProposal]:
    F = ctx.frame
    q, qn = ctx.child.samples @ F, ctx.child.normals @ F
    cv = ctx.child.mesh.vertices @ F
    pv = ctx.parent.mesh.vertices @ F
    c_lo, c_hi, p_lo, p_hi = cv.min(0), cv.max(0), pv.min(0), pv.max(0)
    c_mid, p_mid = (c_lo + c_hi) / 2, (p_lo + p_hi) / 2
    ext = c_hi - c_lo
    to_world = lambda v: F @ v  # noqa: E731
    out: list[JointProposal] = []

    small = ctx.child.extent < 0.35 * ctx.parent.extent
    fixed_prior = 2.0 if (not ctx.parent_is_base and small) else 0.3
    out.append(JointProposal("fixed", to_world(np.array([0, 0, 1.0])), to_world(q.mean(0)), fixed_prior,
                             "rigidly attached" + (" (small part on a moving part)" if fixed_prior > 1 else "")))

    slab = _slab(q, qn, c_lo, c_hi)
    if slab is not None:
        out.extend(_panel_proposals(ctx, q, slab, p_lo, p_hi, p_mid, to_world))

    inside = np.prod(np.clip(np.minimum(c_hi, p_hi) - np.maximum(c_lo, p_lo), 0, None)) / max(np.prod(ext), 1e-12)
    pd = ctx.parent.dense @ F
    for k in range(3):  # pull out of the parent along an object axis
        if slab is not None and k == slab[0]:
            continue
        sign = 1.0 if c_mid[k] >= p_mid[k] else -1.0
        overlap0 = min(c_hi[k], p_hi[k]) - max(c_lo[k], p_lo[k])
        if ext[k] < 1e-3 or overlap0 < 0.5 * ext[k] or not _enclosed(pd, c_lo, c_hi, k, ctx.tol):
            continue
        attach = (p_hi[k] - c_lo[k] if sign > 0 else c_hi[k] - p_lo[k]) - 0.25 * ext[k]
        travel = float(min(ext[k], attach))
        axis = np.zeros(3)
        axis[k] = sign
        prior = 2.5 if inside > 0.5 else 1.5
        out.append(JointProposal("prismatic", to_world(axis), to_world(c_mid), prior,
                                 f"slides out of {ctx.parent.name} along object axis {'+-'[sign < 0]}{'xyz'[k]}",
                                 max_travel=travel, min_travel=0.3 * ext[k]))

    spin = None
    patch = _contact_axis(ctx.contact @ F if len(ctx.contact) else ctx.contact, q.mean(0))
    if patch is not None:
        centre, normal = patch
        normal = F.T @ _snap(F @ normal, F)
        axis_point = q.mean(0)  # a round part's own centre lies on its axis
        axes = sorted((np.eye(3)[i] * np.sign(normal[i] or 1.0) for i in range(3)), key=lambda a: -abs(a @ normal))
        spin = next((a for a in axes + [normal] if abs(a @ normal) > 0.7 and _circular(q, axis_point, a)), None)
        push = normal if spin is None else spin  # a round part's own axis beats the patch's normal
        inset = _set_into(cv, pd, push)
        if inset is not None:  # a button or a nail set into the parent's face: pushes in along the normal
            sunk, proud = inset
            out.append(JointProposal("prismatic", to_world(-push), to_world(axis_point),
                                     PUSH_PRIOR if spin is not None else 0.2,
                                     f"{'round, ' if spin is not None else ''}set {sunk * 1000:.0f} mm into "
                                     f"{ctx.parent.name}'s face: pushes in along the face normal, as far as it "
                                     "stands proud (the parent's inside is not modelled: only other parts are swept)",
                                     max_travel=proud, min_travel=min(proud, 0.002), through_parent=True))
            tilt = _lever_tilt(cv, _face_normal(ctx.parent, F @ centre) @ F) if spin is None else None
            if tilt is not None:  # a toggle: a stick set into the face at a slant tilts across its length
                out.append(JointProposal("revolute", to_world(F.T @ _snap(F @ tilt, F)), to_world(centre), LEVER_PRIOR,
                                         f"a lever set into {ctx.parent.name}'s face at a slant: tilts about the "
                                         "axis across its length in the face (a toggle switch)",
                                         max_travel=LEVER_THROW_RAD, two_sided=True, min_travel=0.3,
                                         through_parent=True))
        if spin is not None:
            out.append(JointProposal("continuous", to_world(spin), to_world(axis_point), 3.0,
                                     "round part: spins about its contact normal", max_travel=2 * np.pi,
                                     min_travel=2 * np.pi - 1e-6))
        elif slab is None:
            out.append(JointProposal("revolute", to_world(normal), to_world(centre), 1.2,
                                     "turns about the normal of its contact patch", max_travel=np.pi,
                                     two_sided=True, min_travel=0.5))
    own = _own_axis(q, c_mid, ext) if spin is None else None
    if own is not None:  # a round part's own symmetry axis, whichever way its parent lies
        out.append(JointProposal("revolute", to_world(own), to_world(c_mid), OWN_AXIS_PRIOR,
                                 "round part: turns about its own symmetry axis", max_travel=np.pi,
                                 two_sided=True, min_travel=0.5))
    line = _contact_line(ctx.contact @ F if len(ctx.contact) else ctx.contact, ext)
    if line is not None:  # touching only along a line: a hinge there (an open door, an open laptop)
        centre, direction = line
        out.append(JointProposal("revolute", to_world(F.T @ _snap(F @ direction, F)), to_world(centre), 1.8,
                                 "hinged on the line where it touches its parent", max_travel=np.pi,
                                 two_sided=True, min_travel=0.5))
    return _apply_hint(out, ctx.hint)


def _contact_line(contact: np.ndarray, child_ext: np.ndarray):
    """(centre, direction) when the contact patch is a thin strip along a long line."""
    if len(contact) < 8:
        return None
    centre = contact.mean(axis=0)
    vals, vecs = np.linalg.eigh(np.cov((contact - centre).T))
    length = np.ptp((contact - centre) @ vecs[:, 2])
    if vals[2] < 25 * max(vals[1], 1e-12) or length < 0.3 * np.max(child_ext):
        return None
    return centre, vecs[:, 2]


def _bracket(pd, lo, hi, slab, axes, s, tol):
    """(v, k) of the pin of a hinge bracket: the parent's surface just off the panel's end along the
    hinge axis u, inside the panel's footprint (its slab and width), all of it within BRACKET_BAND of
    the panel's width from the edge at side s of v (a board across the whole end is no bracket)."""
    k, u, v = axes
    below, above = lo[u] - pd[:, u], pd[:, u] - hi[u]
    off = ((below > 0.001) & (below < tol)) | ((above > 0.001) & (above < tol))
    foot = pd[off & (pd[:, k] > slab[0]) & (pd[:, k] < slab[1]) & (pd[:, v] > lo[v]) & (pd[:, v] < hi[v])]
    edge = hi[v] if s > 0 else lo[v]
    near = s * (foot[:, v] - edge) > -BRACKET_BAND * (hi[v] - lo[v])
    if near.sum() < 3 or near.mean() < 0.9:
        return None
    return float(foot[near, v].mean()), float(foot[near, k].mean())


def _panel_proposals(ctx, q, slab, p_lo, p_hi, p_mid, to_world) -> list[JointProposal]:
    k, s0, s1 = slab
    in_slab = (q[:, k] > s0 - 0.003) & (q[:, k] < s1 + 0.003)
    sq = q[in_slab]
    lo, hi = sq.min(0), sq.max(0)
    mid = (lo + hi) / 2
    n_out = 1.0 if mid[k] >= p_mid[k] else -1.0
    dq = ctx.child.dense @ ctx.frame  # ~4 mm apart: small pulls still get many points
    if len(ctx.attached):  # a handle or latch modelled as its own part, hanging from the panel
        dq = np.concatenate([dq, ctx.attached @ ctx.frame])
    handle = dq[(dq[:, k] < s0 - 0.003) | (dq[:, k] > s1 + 0.003)]
    handle = handle[(handle[:, k] - mid[k]) * n_out > 0] if len(handle) else handle
    has_handle = len(handle) >= 20
    contact = ctx.contact @ ctx.frame if len(ctx.contact) else np.zeros((0, 3))
    pd = ctx.parent.dense @ ctx.frame
    props = []
    for u in [a for a in range(3) if a != k]:  # hinge axis along u, edge at side s of v
        v = 3 - k - u
        half_v = max((hi[v] - lo[v]) / 2, 1e-6)
        for s in (-1.0, 1.0):
            edge = lo[v] if s < 0 else hi[v]
            parent_edge = p_lo[v] if s < 0 else p_hi[v]
            flush = abs(edge - parent_edge) < max(0.008, 0.04 * (hi[v] - lo[v]))
            score, why = 1.0, []
            score += 1.0 if flush else -0.5
            why.append("edge flush with the parent" if flush else "edge inside the parent's outline")
            if has_handle:  # hinge opposite the handle, and across the direction the handle is off-centre
                h = (handle[:, v].mean() - mid[v]) / half_v
                h_u = (handle[:, u].mean() - mid[u]) / max((hi[u] - lo[u]) / 2, 1e-6)
                score += 2.0 * (-s * h) - 1.0 * abs(h_u)
                if -s * h > 0.3:
                    why.append("opposite the handle")
            if len(contact) > 10:
                spread = contact[:, v].std() / half_v
                if spread < 0.3:
                    offset = (contact[:, v].mean() - mid[v]) / half_v
                    score += 1.5 * s * offset
                    why.append("at the contact region")
            if hi[u] - lo[u] >= hi[v] - lo[v]:
                score += 0.5
            if u == 2:
                score += 0.3
            pivot = mid.copy()
            pivot[v] = edge
            pivot[k] = s0 if n_out > 0 else s1
            r = np.zeros(3)
            r[v] = -s
            nvec = np.zeros(3)
            nvec[k] = n_out
            axis = np.cross(r, nvec)
            side = {(0, -1): "-x", (0, 1): "+x", (1, -1): "-y", (1, 1): "+y", (2, -1): "bottom",
                    (2, 1): "top"}[(v, int(s))]
            props.append(JointProposal("revolute", to_world(axis), to_world(pivot), score,
                                       f"panel hinged on its {side} edge: " + ", ".join(why),
                                       max_travel=np.pi, min_travel=0.6, two_sided=True, refinable=True))
            bracket = _bracket(pd, lo, hi, (s0, s1), (k, u, v), s, ctx.tol)
            if bracket is not None:  # a hinge bracket of the parent off the panel's end: the pin goes through it
                pinned = pivot.copy()
                pinned[v], pinned[k] = bracket
                props.append(JointProposal("revolute", to_world(axis), to_world(pinned), score + 0.5,
                                           f"panel hinged in the bracket off its end beside its {side} edge: "
                                           + ", ".join(why), max_travel=np.pi, min_travel=0.6, two_sided=True))
            gap = s * (parent_edge - edge)  # > 0: the edge lies inside the parent's outline
            if not flush and FRAME_GAP_M < gap < FRAME_MAX * (hi[v] - lo[v]):  # a door between the posts of a frame:
                # its hinge may sit in the post
                framed = pivot.copy()
                framed[v] = edge + s * gap / 2
                framed[k] = (s0 + s1) / 2
                props.append(JointProposal("revolute", to_world(axis), to_world(framed), score - 0.2,
                                           f"panel hinged in the frame member beside its {side} edge, "
                                           f"{gap / 2 * 1000:.0f} mm out: " + ", ".join(why),
                                           max_travel=np.pi, min_travel=0.6, two_sided=True))
    for d in [a for a in range(3) if a != k]:  # slides in its own plane while staying over the parent
        for s in (-1.0, 1.0):
            room = (p_hi[d] - hi[d]) if s > 0 else (lo[d] - p_lo[d])
            width = hi[d] - lo[d]
            if room < 0.3 * width:
                continue
            axis = np.zeros(3)
            axis[d] = s
            props.append(JointProposal("prismatic", to_world(axis), to_world(mid), 2.0,
                                       "panel slides in its plane over the parent", max_travel=float(min(room, width)),
                                       min_travel=0.3 * width))
    return props


HINT_TYPES = {"drawer": "prismatic", "slider": "prismatic", "button": "prismatic", "window": "prismatic",
              "door": "revolute", "lid": "revolute", "hinge": "revolute", "lever": "revolute", "switch": "revolute",
              "knob": "continuous", "wheel": "continuous", "handle": "fixed"}


def _apply_hint(props: list[JointProposal], hint: dict) -> list[JointProposal]:
    """``hint = {"type": "prismatic" | "drawer" | ...}`` keeps only proposals of that type."""
    want = hint.get("type")
    if not want:
        return props
    want = HINT_TYPES.get(want, want)
    if want not in JOINT_TYPES:
        raise InputError(f"hint type {hint.get('type')!r} is not one of {list(JOINT_TYPES) + sorted(HINT_TYPES)}")
    kept = [p for p in props if p.type == want]
    for p in kept:
        p.prior += 5.0
        p.reason += " (hinted)"
    return kept + [p for p in props if p.type == "fixed" and want != "fixed"]


register_proposer("geometric", geometric_proposals)
