"""The critic: simulation checks of joint proposals, and the propose-score-refine loop.

For each proposal the moving part (with everything hanging from it) is swept along the
joint in MuJoCo (``simreal.twin.articulation.CollisionSweeper``): the limit is the last
collision-free position (new penetration beyond 1 mm counts as collision), reached
before the part would leave its parent. A proposal passes when its free range is at
least its ``min_travel``; a revolute proposal that collides right away is refined by
moving its pivot outward a little. The best passing proposal (prior + range) wins; a
part that no proposal fits becomes fixed with low confidence. When a passing proposal of
another kind of motion scores within AMBIGUITY_MARGIN of the best, or passes beside a best
that moves through its parent (never swept against it), the sweeps could not separate them:
the prior decided, and the verdict names the rival (``ambiguous_with``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simreal.twin.proposals import JointProposal

PENETRATION_TOL_M = 0.001
REST_TOL_M = 0.001
ANGLE_STEP = np.radians(4.0)
PRISMATIC_STEPS = 30
LIMIT_MARGIN = 0.98  # keep limits just inside the last free position
AMBIGUITY_MARGIN = 1.0  # a rival motion within this score of the best is reported as ambiguous


@dataclass
class Verdict:
    proposal: JointProposal
    limits: tuple[float, float] | None
    checks: dict
    score: float
    passed: bool
    refined: bool = False
    alternatives: list = field(default_factory=list)


def rigid_transform(p: JointProposal, q: float) -> np.ndarray:
    """4x4 transform of the moving part at joint value q (rad or m)."""
    tf = np.eye(4)
    if p.type == "prismatic":
        tf[:3, 3] = q * p.axis
        return tf
    a = p.axis / np.linalg.norm(p.axis)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    R = np.eye(3) + np.sin(q) * K + (1 - np.cos(q)) * K @ K
    tf[:3, :3] = R
    tf[:3, 3] = p.origin - R @ p.origin
    return tf


def _free_travel(sweeper, moving: list[int], p: JointProposal, sign: float, parent: int | None = None) -> float:
    """Largest |q| (toward ``sign``) reachable from rest without new penetration (of any part
    but ``parent`` when the proposal moves through it)."""
    if p.type == "prismatic":
        qs = np.linspace(0, p.max_travel, PRISMATIC_STEPS + 1)[1:]
    else:
        qs = np.arange(1, int(np.ceil(p.max_travel / ANGLE_STEP)) + 1) * ANGLE_STEP
        qs = np.minimum(qs, p.max_travel)
    ignore = [parent] if p.through_parent and parent is not None else []
    pen = sweeper.penetration(moving, np.array([rigid_transform(p, sign * q) for q in qs]), ignore)
    bad = np.nonzero(pen > PENETRATION_TOL_M)[0]
    if len(bad) == 0:
        return float(qs[-1])
    return float(qs[bad[0] - 1]) if bad[0] > 0 else 0.0


def evaluate(sweeper, moving: list[int], p: JointProposal, parent: int | None = None) -> Verdict:
    """Sweep one proposal; fill limits, checks and score."""
    checks = {"rest_penetration_mm": round(sweeper.rest_penetration(moving[0]) * 1000, 2)}
    if p.type == "fixed":
        return Verdict(p, None, {**checks, "fixed": True}, p.prior, True)
    if p.type == "continuous":
        free = _free_travel(sweeper, moving, p, 1.0, parent)
        ok = free >= p.max_travel - 1e-6
        checks.update({"full_turn_collision_free": ok})
        return Verdict(p, None, checks, p.prior + 1.0 if ok else 0.0, ok)
    up = _free_travel(sweeper, moving, p, 1.0, parent)
    down = _free_travel(sweeper, moving, p, -1.0, parent) if p.two_sided else 0.0
    travel = up + down
    ok = travel >= p.min_travel
    limits = (-LIMIT_MARGIN * down, LIMIT_MARGIN * up) if p.type == "revolute" else (0.0, LIMIT_MARGIN * up)
    checks.update({
        "sweep_collision_free": ok,
        "stays_attached": True,  # the sweep stops before the part leaves its parent (proposal max_travel)
        "limits_found_by_sweep": [round(x, 4) for x in limits],
    })
    score = p.prior + (travel / max(p.max_travel * (2 if p.two_sided else 1), 1e-9)) if ok else 0.0
    return Verdict(p, limits, checks, score, ok)


def refine(p: JointProposal, step: float) -> JointProposal:
    """Move a hinge's pivot outward by ``step`` m: along the opening direction of the panel."""
    import dataclasses

    # the panel's opening direction at the pivot is axis x (pivot -> panel) rotated: use the
    # motion of the pivot neighbourhood, i.e. away from the part's body along the axis normal
    away = np.cross(p.axis, np.array([0, 0, 1.0]))
    if np.linalg.norm(away) < 1e-6:
        away = np.cross(p.axis, np.array([1.0, 0, 0]))
    away /= np.linalg.norm(away)
    return dataclasses.replace(p, origin=p.origin + step * away,
                               reason=p.reason + f" (pivot moved {step * 1000:.0f} mm)")


def choose(sweeper, moving: list[int], proposals: list[JointProposal], budget: int = 12,
           parent: int | None = None) -> Verdict:
    """Evaluate proposals best-prior first within ``budget`` sweeps; return the best verdict.
    ``parent``: the part the moving ones hang from (a push proposal may move through it)."""
    verdicts: list[Verdict] = []
    ranked = sorted(proposals, key=lambda x: -x.prior)[:budget]
    for k, p in enumerate(ranked):
        v = evaluate(sweeper, moving, p, parent)
        if not v.passed and p.refinable:
            for step in (0.003, -0.003, 0.008, -0.008):
                r = evaluate(sweeper, moving, refine(p, step), parent)
                if r.passed:
                    r.refined = True
                    v = r
                    break
        verdicts.append(v)
        best_so_far = max((x.score for x in verdicts if x.passed), default=-1.0)
        if best_so_far > max((q.prior for q in ranked[k + 1 :]), default=-1.0) + 1.0 + AMBIGUITY_MARGIN:
            break  # no remaining proposal can beat it (a range adds at most 1), nor come close
    passing = sorted((x for x in verdicts if x.passed), key=lambda x: -x.score)
    if not passing or (passing[0].proposal.type == "fixed" and passing[0].proposal.prior < 1.0):
        p = next((p for p in proposals if p.type == "fixed"), None)
        p = p or JointProposal("fixed", np.array([0, 0, 1.0]), np.zeros(3), 0.0, "no proposal fits")
        best = Verdict(p, None, {"fixed": True, "no_proposal_fits": True, "confidence": 0.1}, 0.0, True)
        best.alternatives = [_summary(v) for v in verdicts if v.proposal.type != "fixed"]
        return best
    best = passing[0]
    rival = next((x for x in passing[1:] if x.proposal.type != "fixed" and _differs(x.proposal, best.proposal)), None)
    if rival is not None and (best.score - rival.score < AMBIGUITY_MARGIN or best.proposal.through_parent):
        # the sweeps cannot tell them apart (a round part set into a face, its parent's inside not
        # modelled: a button or a knob); the prior picked, and the report says so
        best.checks["ambiguous_with"] = _summary(rival)
    second = passing[1].score if len(passing) > 1 else 0.0
    best.checks["confidence"] = round(float(np.clip(0.5 + 0.5 * (best.score - second) / max(best.score, 1e-9),
                                                    0.05, 1.0)), 3)
    best.alternatives = [_summary(v) for v in verdicts if v is not best]
    return best


def _differs(a: JointProposal, b: JointProposal) -> bool:
    """Another kind of motion: another joint type, or an axis more than 15 degrees apart."""
    cos = abs(np.dot(a.axis, b.axis)) / max(np.linalg.norm(a.axis) * np.linalg.norm(b.axis), 1e-12)
    return a.type != b.type or cos < np.cos(np.radians(15))


def _summary(v: Verdict) -> dict:
    return {"type": v.proposal.type, "reason": v.proposal.reason, "prior": round(v.proposal.prior, 3),
            "passed": v.passed, "score": round(v.score, 3)}
