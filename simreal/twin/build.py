"""``build_twin``: the whole pipeline from an input path to a twin directory.

inputs -> cleaning -> structure -> collision (CoACD) -> proposals + critic per part
(from the base outward, every joint in one run) -> inertia -> URDF + MJCF + report.json.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from simreal.errors import InputError, MissingFileError
from simreal.twin.cleaning import clean_parts
from simreal.twin.collision import part_pieces
from simreal.twin.critic import choose
from simreal.twin.graph import build_structure
from simreal.twin.inertia import DEFAULT_DENSITY, mass_properties
from simreal.twin.inputs import load_parts, safe_name
from simreal.twin.links import PALETTE, Articulation, Joint, Link
from simreal.twin.proposals import PartContext, get_proposer
from simreal.twin.report import build_report
from simreal.twin.writers import write_meshes, write_mjcf, write_urdf


def load_hints(path) -> dict:
    """Hints file (JSON): {"base": "body", "parts": {"drawer_0": {"type": "drawer"}, ...}}."""
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"hints file {path} does not exist")
    try:
        hints = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"hints file {path} is not valid JSON ({err}); expected "
                         '{"base": PART, "parts": {PART: {"type": "drawer|door|knob|fixed|..."}}}') from err
    return check_hints(hints, str(path))


def check_hints(hints, where: str = "hints") -> dict:
    """{"base": PART, "parts": {PART: {"type": ..., ...}}}: the shape is checked, with what is wrong named."""
    if not isinstance(hints, dict) or not isinstance(hints.get("parts", {}), dict):
        raise InputError(f"{where}: expected an object with optional keys 'base' and 'parts' (an object)")
    if "base" in hints and not isinstance(hints["base"], str):
        raise InputError(f"{where}: 'base' must be a part name, got {hints['base']!r}")
    for part, hint in hints.get("parts", {}).items():
        if not isinstance(hint, dict):
            raise InputError(f"{where}: parts.{part} must be an object such as {{\"type\": \"door\"}}, got {hint!r}")
        if "type" in hint and not isinstance(hint["type"], str):
            raise InputError(f"{where}: parts.{part}.type must be a string such as \"door\", got {hint['type']!r}")
    return hints


def _subtree(parent: dict[int, int], root: int) -> list[int]:
    out, stack = [], [root]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(c for c, p in parent.items() if p == node)
    return out


def build_twin(input_path, out_dir, name: str | None = None, units: str | None = None, up: str | None = None,
               hints=None, proposer: str = "geometric", density: float = DEFAULT_DENSITY,
               progress: bool = True) -> dict:
    """Build a twin of ``input_path`` into ``out_dir``; returns the report (also written as report.json)."""
    from simreal.twin.articulation import CollisionSweeper

    t0 = time.perf_counter()
    timings = {}
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a directory for the twin (it is created if missing)")
    if not (math.isfinite(density) and density > 0):
        raise InputError(f"density must be a finite number > 0 kg/m^3, got {density}")
    name = safe_name(name or Path(input_path).stem)
    hint_data = check_hints(hints) if isinstance(hints, dict) else load_hints(hints)
    propose = get_proposer(proposer)
    bar = lambda it, desc, total=None: tqdm(it, desc=desc, total=total, disable=not progress, leave=False)  # noqa: E731

    meshes, notes = load_parts(input_path, units=units, up=up)
    unknown = set(hint_data.get("parts", {})) - set(meshes)
    if unknown:
        raise InputError(f"hints name parts {sorted(unknown)} that are not in the input; parts are {sorted(meshes)}")
    timings["load"] = time.perf_counter() - t0
    parts, clean_notes = clean_parts(dict(bar(meshes.items(), "clean", len(meshes))))
    notes += clean_notes
    structure, graph_notes = build_structure(parts, hint_data.get("base"))
    notes += graph_notes
    timings["clean_graph"] = time.perf_counter() - t0 - timings["load"]

    t1 = time.perf_counter()
    pieces, methods = [], []
    for part in bar(parts, "collision"):
        p, m = part_pieces(part, structure.frame)
        pieces.append(p)
        methods.append(m)
    timings["collision"] = time.perf_counter() - t1

    t1 = time.perf_counter()
    sweeper = CollisionSweeper(pieces)
    verdicts = {}
    for child in bar([i for i in structure.order if i != structure.base], "joints (propose + critic)"):
        par = structure.parent[child]
        moving = _subtree(structure.parent, child)
        if child in structure.floating:
            proposals = [p for p in propose(_context(parts, structure, child, par, {"type": "fixed"}))]
        else:
            hint = hint_data.get("parts", {}).get(parts[child].name, {})
            proposals = propose(_context(parts, structure, child, par, hint))
        verdicts[child] = choose(sweeper, moving, proposals, parent=par)
        # no interpenetration at rest beyond 1 mm with the parts it will collide with in the
        # output (parent/child contacts are excluded there)
        others = [k for k in range(len(parts)) if k not in moving and k != par]
        pen = sweeper.rest_penetration(child, others) if others else 0.0
        verdicts[child].checks["rest_penetration_others_mm"] = round(pen * 1000, 2)
        verdicts[child].checks["rest_clear_of_other_parts"] = pen <= 0.001
        if pen > 0.001:
            notes.append(f"part {parts[child].name!r} overlaps other parts by {pen * 1000:.1f} mm at rest; "
                         "their collision pieces will push apart in simulation (check the input meshes)")
        if child in structure.floating:
            verdicts[child].checks.update({"floating_part": True, "confidence": 0.2})
    timings["joints"] = time.perf_counter() - t1

    t1 = time.perf_counter()
    art = _articulation(name, parts, pieces, structure, verdicts, density)
    out.mkdir(parents=True, exist_ok=True)
    files = write_meshes(art, out)
    write_urdf(art, files, out / f"{name}.urdf")
    write_mjcf(art, files, out / f"{name}.xml")
    _check_compiles(out / f"{name}.xml")
    timings["write"] = time.perf_counter() - t1
    timings["total"] = time.perf_counter() - t0
    report = build_report(name, input_path, parts, structure, pieces, methods, art, verdicts, notes, timings)
    text = json.dumps(report, indent=2, default=_plain)
    (out / "report.json").write_text(text)
    return json.loads(text)


def _check_compiles(mjcf: Path) -> None:
    """The twin written must load in MuJoCo; if not, say so now rather than in the user's simulator."""
    import mujoco

    try:
        mujoco.MjModel.from_xml_path(str(mjcf))
    except ValueError as err:
        raise InputError(f"the twin written to {mjcf} does not compile in MuJoCo: {' '.join(str(err).split())}; "
                         f"check the input part named in the message") from None


def _plain(value):
    """JSON for numpy scalars and arrays."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _context(parts, structure, child, par, hint) -> PartContext:
    hanging = [parts[i].dense for i in _subtree(structure.parent, child) if i != child]
    return PartContext(parts[child], parts[par], structure.frame, structure.contact[(child, par)],
                       par == structure.base, structure.tol, hint,
                       np.concatenate(hanging) if hanging else np.zeros((0, 3)))


def _articulation(name, parts, pieces, structure, verdicts, density) -> Articulation:
    links, joints = [], []
    for k, i in enumerate(structure.order):
        part = parts[i]
        verdict = verdicts.get(i)
        if verdict is None or verdict.proposal.type == "fixed":
            origin = np.zeros(3) if i == structure.base else part.mesh.bounds.mean(axis=0)
        else:
            origin = np.asarray(verdict.proposal.origin, dtype=np.float64)
        mass, com, inertia, _ = mass_properties(part, pieces[i], density)
        visual = part.mesh.copy()
        visual.apply_translation(-origin)
        links.append(Link(part.name, origin, visual, pieces[i], mass, com, inertia, PALETTE[k % len(PALETTE)]))
        if verdict is not None:
            p = verdict.proposal
            axis = np.asarray(p.axis, dtype=np.float64)
            axis = axis / np.linalg.norm(axis)
            axis[np.abs(axis) < 1e-9] = 0.0
            joints.append(Joint(f"{part.name}_joint", p.type, parts[structure.parent[i]].name, part.name, axis,
                                verdict.limits, float(verdict.checks.get("confidence", 0.5))))
    return Articulation(name, links, joints)
