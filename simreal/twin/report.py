"""``report.json``: per joint its type, parent, child, axis, origin, limits, confidence and
the simulation checks it passed; per part its repair notes, collision and mass."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _r(values, digits: int = 5):
    return [round(float(v), digits) for v in np.ravel(values)]


def build_report(name, input_path, parts, structure, pieces, methods, art, verdicts, notes, timings) -> dict:
    points = np.concatenate([p.samples for p in parts])
    joints = []
    for child, verdict in verdicts.items():
        joint = next(j for j in art.joints if j.child == parts[child].name)
        p = verdict.proposal
        joints.append({
            "name": joint.name, "type": joint.type, "parent": joint.parent, "child": joint.child,
            "axis": _r(joint.axis), "origin": _r(art.link(joint.child).origin),
            "limits": _r(joint.limits) if joint.limits is not None else None,
            "confidence": joint.confidence, "reason": p.reason + (" (refined)" if verdict.refined else ""),
            "checks": {k: v for k, v in verdict.checks.items() if k not in ("confidence", "ambiguous_with")},
            "low_confidence": joint.confidence < 0.3,
            "ambiguous_with": verdict.checks.get("ambiguous_with"),
            "alternatives": verdict.alternatives[:6],
        })
    part_info = {}
    for i, part in enumerate(parts):
        link = art.link(part.name)
        part_info[part.name] = {
            "watertight": part.watertight, "thin": part.thin, "collision": methods[i], "convex_pieces": len(pieces[i]),
            "mass_kg": round(link.mass, 4), "inertia_eigenvalues": _r(np.linalg.eigvalsh(link.inertia), 8),
            "notes": part.notes,
        }
    return {
        "name": name, "input": str(Path(input_path)), "base": parts[structure.base].name,
        "bbox": [_r(points.min(axis=0)), _r(points.max(axis=0))], "diag_m": round(structure.diag, 5),
        "files": {"urdf": f"{name}.urdf", "mjcf": f"{name}.xml"},
        "joints": joints, "parts": part_info, "notes": notes,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
