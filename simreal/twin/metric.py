"""Joint metric of Articulate-Anything (Le et al. 2024), against a ground-truth URDF or MJCF.

Per ground-truth movable joint, matched to the predicted joint of the same child link:
type exactly equal; axis angle <= 0.25 rad, sign-agnostic; for revolute and continuous
joints the distance between the two axis lines <= 0.05 of the object's scale (bounding
box diagonal); and, for limited joints, the limit range: the predicted range, expressed
about the ground-truth axis direction, covers at least half of the ground-truth range
(simreal's reading of "limit range"; limits found by sweeping reach the contact, which
is often beyond a designer's limit). A joint is correct when all of these hold.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from simreal.errors import InputError, MissingFileError

AXIS_TOL_RAD = 0.25
ORIGIN_TOL = 0.05  # fraction of the object scale
LIMIT_COVER = 0.5


def _rpy_matrix(rpy) -> np.ndarray:
    r, p, y = rpy
    rx = np.array([[1, 0, 0], [0, np.cos(r), -np.sin(r)], [0, np.sin(r), np.cos(r)]])
    ry = np.array([[np.cos(p), 0, np.sin(p)], [0, 1, 0], [-np.sin(p), 0, np.cos(p)]])
    rz = np.array([[np.cos(y), -np.sin(y), 0], [np.sin(y), np.cos(y), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _vec(el, attr, default):
    return np.array([float(x) for x in el.get(attr, default).split()]) if el is not None else np.array(
        [float(x) for x in default.split()])


def joints_from_urdf(path) -> list[dict]:
    """Joints of a URDF in the world frame at zero configuration (same keys as
    ``simreal.twin.articulation.joints_from_mjcf``)."""
    try:
        root = ET.parse(str(path)).getroot()
    except ET.ParseError as err:
        raise InputError(f"{path} is not valid XML: {err}") from err
    if root.tag != "robot":
        raise InputError(f"{path} is not a URDF (root element <{root.tag}>, expected <robot>)")
    joints = root.findall("joint")
    by_child = {j.find("child").get("link"): j for j in joints}
    cache: dict[str, np.ndarray] = {}

    def pose(link: str) -> np.ndarray:
        if link in cache:
            return cache[link]
        tf = np.eye(4)
        if link in by_child:
            j = by_child[link]
            origin = j.find("origin")
            local = np.eye(4)
            local[:3, :3] = _rpy_matrix(_vec(origin, "rpy", "0 0 0"))
            local[:3, 3] = _vec(origin, "xyz", "0 0 0")
            tf = pose(j.find("parent").get("link")) @ local
        cache[link] = tf
        return tf

    out = []
    for j in joints:
        jtype = j.get("type")
        child = j.find("child").get("link")
        tf = pose(child)
        axis = tf[:3, :3] @ _vec(j.find("axis"), "xyz", "1 0 0")
        limit = j.find("limit")
        limits = None
        if jtype in ("revolute", "prismatic") and limit is not None:
            limits = [float(limit.get("lower", 0)), float(limit.get("upper", 0))]
        out.append({"name": j.get("name"), "type": jtype, "parent": j.find("parent").get("link"), "child": child,
                    "axis": (axis / max(np.linalg.norm(axis), 1e-12)).tolist(), "origin": tf[:3, 3].tolist(),
                    "limits": limits})
    return out


def load_joints(path) -> list[dict]:
    """Joints of a URDF, an MJCF, or a twin directory (its URDF)."""
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"{path} does not exist")
    if path.is_dir():
        report = path / "report.json"
        urdfs = ([path / json.loads(report.read_text())["files"]["urdf"]] if report.is_file()
                 else sorted(path.glob("*.urdf")))
        if not urdfs:
            raise MissingFileError(f"{path} holds no URDF; give a twin directory, a .urdf or an MJCF .xml")
        path = urdfs[0]
    if path.suffix.lower() == ".urdf":
        return joints_from_urdf(path)
    if path.suffix.lower() == ".xml":
        from simreal.twin.articulation import joints_from_mjcf

        return joints_from_mjcf(path)
    raise InputError(f"{path}: expected a .urdf, an MJCF .xml or a twin directory")


def line_distance(p1, d1, p2, d2) -> float:
    """Distance between two lines (point, direction)."""
    p1, d1, p2, d2 = (np.asarray(x, dtype=np.float64) for x in (p1, d1, p2, d2))
    d1, d2 = d1 / np.linalg.norm(d1), d2 / np.linalg.norm(d2)
    n = np.cross(d1, d2)
    if np.linalg.norm(n) < 1e-8:  # parallel
        w = p2 - p1
        return float(np.linalg.norm(w - (w @ d1) * d1))
    return float(abs((p2 - p1) @ n) / np.linalg.norm(n))


def score_joint(pred: dict | None, gt: dict, scale: float) -> dict:
    if pred is None:
        return {"child": gt["child"], "gt_type": gt["type"], "pred_type": None, "correct": False, "missing": True}
    a_p, a_g = np.asarray(pred["axis"], float), np.asarray(gt["axis"], float)
    cos = float(np.clip(abs(a_p @ a_g) / (np.linalg.norm(a_p) * np.linalg.norm(a_g)), 0, 1))
    angle = float(np.arccos(cos))
    type_ok = pred["type"] == gt["type"]
    axis_ok = angle <= AXIS_TOL_RAD
    origin_dist = None
    origin_ok = True
    if gt["type"] in ("revolute", "continuous"):
        origin_dist = line_distance(pred["origin"], a_p, gt["origin"], a_g) / scale
        origin_ok = origin_dist <= ORIGIN_TOL
    limit_ok, cover = True, None
    if gt["type"] in ("revolute", "prismatic") and gt.get("limits") and pred.get("limits") and type_ok:
        lo_p, hi_p = pred["limits"]
        if a_p @ a_g < 0:
            lo_p, hi_p = -hi_p, -lo_p
        lo_g, hi_g = gt["limits"]
        overlap = max(0.0, min(hi_p, hi_g) - max(lo_p, lo_g))
        cover = overlap / max(hi_g - lo_g, 1e-9)
        limit_ok = cover >= LIMIT_COVER
    elif gt["type"] in ("revolute", "prismatic") and gt.get("limits") and not pred.get("limits"):
        limit_ok = False
    return {"child": gt["child"], "gt_type": gt["type"], "pred_type": pred["type"], "type_ok": type_ok,
            "axis_angle_rad": round(angle, 4), "axis_ok": axis_ok,
            "origin_dist": None if origin_dist is None else round(origin_dist, 4), "origin_ok": origin_ok,
            "limit_cover": None if cover is None else round(cover, 3), "limit_ok": limit_ok,
            "correct": bool(type_ok and axis_ok and origin_ok and limit_ok)}


def evaluate(pred_path, gt_path, scale: float | None = None) -> dict:
    """Score a twin against ground truth; ``scale`` defaults to the twin's bounding-box diagonal."""
    pred = {j["child"]: j for j in load_joints(pred_path)}
    gt = [j for j in load_joints(gt_path) if j["type"] != "fixed"]
    if not gt:
        raise InputError(f"{gt_path} has no movable joints to score against")
    if scale is None:
        report = Path(pred_path) / "report.json"
        scale = json.loads(report.read_text())["diag_m"] if report.is_file() else 1.0
    if not set(pred) & {j["child"] for j in gt}:
        raise InputError(f"no predicted joint moves a child link of the ground truth: predicted {sorted(pred)}, "
                         f"ground truth {sorted(j['child'] for j in gt)}; name the parts like the ground-truth links")
    results = [score_joint(pred.get(j["child"]), j, scale) for j in gt]
    gt_children = {j["child"] for j in gt}
    extra = [c for c, j in pred.items() if c not in gt_children and j["type"] != "fixed"]
    correct = sum(r["correct"] for r in results)
    return {"joints": results, "n_joints": len(results), "n_correct": correct,
            "joint_success": round(correct / len(results), 4), "extra_movable_joints": extra, "scale": scale}


def write_gt_urdf(obj, path) -> None:
    """Ground-truth URDF of a procedural object (part meshes at ``parts/<name>.obj``)."""
    from simreal.twin.links import fmt

    robot = ET.Element("robot", name=f"{obj.kind}_{obj.seed}")
    origins = {"body": np.zeros(3)}
    for j in obj.joints:
        origins[j.child] = np.asarray(j.origin)
    for name in obj.parts:
        link = ET.SubElement(robot, "link", name=name)
        vis = ET.SubElement(link, "visual")
        ET.SubElement(vis, "origin", xyz=fmt(-origins.get(name, np.zeros(3))), rpy="0 0 0")
        ET.SubElement(ET.SubElement(vis, "geometry"), "mesh", filename=f"parts/{name}.obj")
    for j in obj.joints:
        el = ET.SubElement(robot, "joint", name=f"{j.child}_joint", type=j.type)
        ET.SubElement(el, "parent", link=j.parent)
        ET.SubElement(el, "child", link=j.child)
        ET.SubElement(el, "origin", xyz=fmt(np.asarray(j.origin) - origins[j.parent]), rpy="0 0 0")
        ET.SubElement(el, "axis", xyz=fmt(j.axis))
        if j.limits is not None:
            ET.SubElement(el, "limit", lower=f"{j.limits[0]:.6g}", upper=f"{j.limits[1]:.6g}", effort="100",
                          velocity="2")
    ET.indent(robot, space="  ")
    Path(path).write_text('<?xml version="1.0"?>\n' + ET.tostring(robot, encoding="unicode") + "\n")
