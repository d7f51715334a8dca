"""``simreal bench transfer``: the transfer table. Each policy (a bundle) is deployed over ROS 2
in its task cell (``deploy-demo``) on the model's own arm and on arms with hidden physics
(``sim-robot --physics`` files), and the table says how much of its nominal success each arm
keeps.

A policy trained per arm (e.g. around a sysid fit of that arm) is given as a bundle path
with ``{arm}`` in it, filled with each arm file's stem: ``fit=bundles/reach-{arm}`` takes
``bundles/reach-arm3`` on ``arms/arm3.yaml``. The model's arm then has no bundle of its own,
so such a policy's nominal column is left out (or given by ``{arm}=nominal``).

Every finished cell is written to ``--out`` at once; a rerun with the same ``--out`` skips the
cells already there for the same bundle (by content), arm file (by content), episodes and
seed, so nothing is lost when a long table stops part-way, and nothing stale is reused.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from simreal.errors import InputError, MissingFileError

NOMINAL = "nominal"  # the column of the model's own arm
KEEP = 0.9  # the target: every hidden arm keeps this share of the policy's nominal success


def parse_policies(entries: list[str]) -> dict[str, str]:
    """``["fixed=bundles/reach", "fit=bundles/reach-{arm}"]`` -> {name: bundle pattern}."""
    out = {}
    for entry in entries:
        name, sep, path = (s.strip() for s in entry.partition("="))
        if not sep or not name or not path or "|" in name:
            raise InputError(f"--policy {entry!r} must be NAME=BUNDLE (BUNDLE may hold {{arm}} for one per arm; "
                             f"NAME without '|')")
        if name in out:
            raise InputError(f"--policy names {name!r} twice")
        out[name] = path
    if not out:
        raise InputError("give at least one --policy NAME=BUNDLE")
    return out


def _bundle_for(pattern: str, arm: str) -> Path | None:
    from simreal.data import bundle_path

    if "{arm}" not in pattern:
        return bundle_path(pattern)
    path = Path(pattern.replace("{arm}", arm))
    return path if arm != NOMINAL or path.is_dir() else None


def _sha(path: Path) -> str:
    """A bundle's (its deploy.yaml and policy.onnx) or an arm file's content hash."""
    import hashlib

    h = hashlib.sha256()
    for f in ([path / "deploy.yaml", path / "policy.onnx"] if path.is_dir() else [path]):
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()


def _saved_cells(out: Path | None) -> dict:
    """The cells an earlier run wrote to ``out`` (reused where bundle, arm and settings match)."""
    if out is None or not out.is_file():
        return {}
    try:
        data = json.loads(out.read_text())
    except ValueError as e:
        raise InputError(f"--out {out} is not JSON ({e}); give a new file or an earlier bench transfer's") from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, dict) or not all(isinstance(v, dict) for v in cells.values()):
        raise InputError(f"--out {out} is not an earlier bench transfer's result (no 'cells' mapping)")
    return cells


def _summary(cells: dict, policies: dict, arms: list[str]) -> dict:
    rows = {}
    for name in policies:
        got = {a: cells[f"{name}|{a}"]["success_rate"] for a in [NOMINAL, *arms] if f"{name}|{a}" in cells}
        hidden = [got[a] for a in arms if got.get(a) is not None]
        nominal = got.get(NOMINAL)
        row = {"success": got, "hidden_mean": round(sum(hidden) / len(hidden), 4) if hidden else None,
               "hidden_min": min(hidden) if hidden else None}
        if nominal and hidden:
            row["worst_ratio"] = round(min(hidden) / nominal, 4)
            row["keeps_target_on_every_arm"] = bool(len(hidden) == len(arms) and min(hidden) >= KEEP * nominal)
        rows[name] = row
    return rows


def _result(policies: dict, arms: dict, episodes: int, seed: int, cells: dict) -> dict:
    return {"policies": policies, "arms": {a: str(p) for a, p in arms.items()}, "episodes": episodes, "seed": seed,
            "cells": cells, "target": f"every hidden arm >= {KEEP} x nominal success",
            "summary": _summary(cells, policies, list(arms))}


def draw_arms(count: int, directory: str | Path, seed: int = 0, robot_name: str = "franka_panda") -> list[Path]:
    """``count`` hidden arms drawn as ``simreal bench sysid`` draws them (``draw_physics`` on a
    generator seeded with ``seed``: the same arms, in the same order), written to
    ``directory/armI.yaml``. An existing file with other content is refused, not overwritten."""
    from simreal.sysid.bench import hidden_arms

    if count < 1:
        raise InputError(f"--draw-arms must be at least 1, got {count}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, physics in enumerate(hidden_arms(count, seed, robot_name)):
        path = directory / f"arm{i}.yaml"
        text = physics.to_yaml()
        if path.is_file() and path.read_text() != text:
            raise InputError(f"{path} exists and holds another arm: move it, or draw into another --arms-dir")
        path.write_text(text)
        paths.append(path)
    return paths


def bench_transfer(policies: dict[str, str], arm_files: list[str], episodes: int = 10, seed: int = 0,
                   out: str | Path | None = None, png: str | Path | None = None) -> dict:
    from simreal.ros_nodes.episode_demo import run_episodes

    arms = {Path(f).stem: Path(f) for f in arm_files}
    if len(arms) != len(arm_files):
        raise InputError(f"--arms: two files share a name ({arm_files}); each arm is named by its file's stem")
    from simreal.ros_nodes.sim_robot_node import PARAMS, physics_of

    for path in arms.values():
        if not path.is_file():
            raise MissingFileError(f"arm physics file {path} does not exist")
        physics_of({**PARAMS, "physics_file": str(path)})  # a bad file: named now, not hours in
    if NOMINAL in arms:
        raise InputError(f"an arm file may not be named {NOMINAL}.yaml (that column is the model's arm)")
    plan = [(name, arm) for name in policies for arm in [NOMINAL, *arms]
            if _bundle_for(policies[name], arm) is not None]
    from simreal.ros_nodes.episode_demo import bundle_task

    for name, arm in plan:  # every bundle exists and loads before hours of runs start
        bundle = _bundle_for(policies[name], arm)
        if not bundle.is_dir():
            raise MissingFileError(f"policy {name}: bundle {bundle} (for arm {arm}) does not exist")
        bundle_task(bundle)
    out = Path(out) if out else None
    cells = _saved_cells(out)
    for i, (name, arm) in enumerate(plan):
        key = f"{name}|{arm}"
        bundle = _bundle_for(policies[name], arm)
        what = {"episodes": episodes, "seed": seed, "bundle": str(bundle.resolve()), "bundle_sha256": _sha(bundle),
                "arm_sha256": None if arm == NOMINAL else _sha(arms[arm])}
        if key in cells and all(cells[key].get(k) == v for k, v in what.items()):
            continue  # this very bundle on this very arm, with these settings
        r = run_episodes(bundle, episodes=episodes, seed=seed,
                         physics=None if arm == NOMINAL else arms[arm], verbose=False)
        cells[key] = {k: r[k] for k in ("success_rate", "wall_s")} | what | {
            "period_err_p99_ms": r["policy"].get("period_err_p99_ms"),
            "safety_interventions": r["policy"].get("safety_interventions")}
        print(f"[bench transfer] {i + 1}/{len(plan)} {name} on {arm}: success {r['success_rate']} "
              f"({r['wall_s']:.0f} s)", file=sys.stderr, flush=True)
        if out:
            out.write_text(json.dumps(_result(policies, arms, episodes, seed, cells), indent=1))
    result = _result(policies, arms, episodes, seed, cells)
    if out:
        out.write_text(json.dumps(result, indent=1))
    if png:
        plot_transfer(result, png)
    return result


def markdown(result: dict) -> str:
    """The table: a row per policy, the nominal arm and each hidden arm, mean, worst / nominal."""
    arms = list(result["arms"])
    head = ["policy", NOMINAL, *arms, "hidden mean", "worst / nominal"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in result["summary"].items():
        s = row["success"]
        cells = [f"{s[a]:.2f}" if s.get(a) is not None else "" for a in [NOMINAL, *arms]]
        mean = f"{row['hidden_mean']:.2f}" if row["hidden_mean"] is not None else ""
        ratio = f"{row['worst_ratio']:.2f}" if "worst_ratio" in row else ""
        lines.append("| " + " | ".join([name, *cells, mean, ratio]) + " |")
    return "\n".join(lines)


def plot_transfer(result: dict, path: str | Path) -> Path:
    """A heat map: policies down, arms across, deployed success in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cols = [NOMINAL, *result["arms"]]
    names = list(result["summary"])
    grid = np.full((len(names), len(cols)), np.nan)
    for i, name in enumerate(names):
        for j, arm in enumerate(cols):
            v = result["summary"][name]["success"].get(arm)
            grid[i, j] = np.nan if v is None else v
    fig, ax = plt.subplots(figsize=(max(4.5, 1.8 + 0.7 * len(cols)), 1.4 + 0.5 * len(names)))
    im = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="RdYlGn", aspect="auto")
    for i in range(len(names)):
        for j in range(len(cols)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_title(f"deployed success over ROS 2, {result['episodes']} episodes per cell", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.03)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
