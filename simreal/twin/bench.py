"""``simreal bench twin``: build twins of objects with known joints and score them.

Two sets. ``procedural`` (default): objects of simreal's own generator
(``simreal.twin.procedural``). ``real``: hand-made articulated models read from installed
packages (``simreal.twin.real_set``: Franka Kitchen, Adroit, Meta-World, OGBench, LIBERO).

Per object: part meshes + ground-truth URDF -> ``build_twin`` (timed, CoACD included; the
CoACD cache is pointed at a fresh directory so nothing is reused) -> joint metric against
the ground truth -> ``check`` under PD control. Scores per category (the procedural kind, or
the real object's category, per joint). Targets: procedural (issue 6) joint success >= 0.9
and <= 60 s per object; real (issue 16) >= 0.9 overall, no category below 0.75, median
<= 10 s per object.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from simreal.errors import InputError
from simreal.twin.build import build_twin
from simreal.twin.check import check_dir
from simreal.twin.metric import evaluate
from simreal.twin.procedural import benchmark_set, export, generate

SETS = ("procedural", "real")
TARGETS = {"procedural": {"joint_success": 0.9, "s_per_object_mean": 60.0},
           "real": {"joint_success": 0.9, "category_min": 0.75, "s_per_object_median": 10.0}}


def _cases(which: str, n: int, seed: int, kinds, work: Path):
    """(name, GenObject thunk, part -> category) per object of the set; plus skipped notes."""
    if which == "procedural":
        return [(f"{kind}_{s}", (lambda k=kind, s=s: generate(k, s)), (lambda part, k=kind: k))
                for kind, s in benchmark_set(n, seed, kinds)], []
    from simreal.twin.real_set import available, reduce

    objects, skipped = available()
    if kinds:
        cats = {o: {o.category, *dict(o.joint_category).values()} for o in objects}
        known = set().union(*cats.values()) if cats else set()
        unknown = set(kinds) - known
        if unknown:
            raise InputError(f"--kinds {sorted(unknown)}: the installed real set's categories are {sorted(known)}"
                             + (f" (skipped: {'; '.join(skipped)})" if skipped else ""))
        objects = [o for o in objects if cats[o] & set(kinds)]
    if not objects:
        raise InputError("no real object is available: install gymnasium-robotics, envpool-assets or ogbench "
                         f"({'; '.join(skipped)})")
    return [(o.name.replace("/", "_"), (lambda o=o: reduce(o, work / "models")), o.category_of)
            for o in objects], skipped


def bench_twin(n: int = 100, seed: int = 0, keep: str | None = None, check: bool = True, progress: bool = True,
               kinds: list[str] | None = None, which: str = "procedural") -> dict:
    if which not in SETS:
        raise InputError(f"unknown twin benchmark set {which!r}; choose one of {list(SETS)}")
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="simreal_bench_twin_"))
    cases, skipped = _cases(which, n, seed, kinds, work)
    old_cache = os.environ.get("SIMREAL_CACHE")
    os.environ["SIMREAL_CACHE"] = str(work / "cache")  # cold cache: decomposition is timed every time
    per_cat = defaultdict(lambda: [0, 0])
    times, failures, checks, objects = [], [], [], []
    n_joints = n_correct = 0
    try:
        for name, make, category_of in tqdm(cases, desc=f"bench twin ({which})", disable=not progress):
            try:
                obj = make()
            except InputError as err:  # an installed model that does not compile: say so, go on
                skipped.append(str(err))
                continue
            case = export(obj, work / name)
            t0 = time.perf_counter()
            report = build_twin(case / "parts", case / "twin", name=name, progress=False)
            times.append(time.perf_counter() - t0)
            result = evaluate(case / "twin", case / "gt.urdf")
            n_joints += result["n_joints"]
            n_correct += result["n_correct"]
            for j in result["joints"]:
                cat = per_cat[category_of(j["child"])]
                cat[0] += 1
                cat[1] += int(j["correct"])
                if not j["correct"]:
                    failures.append({"object": name, **j})
            passed = [r["passed"] for r in check_dir(case / "twin")] if check else []
            checks.extend(passed)
            objects.append({"object": name, "joints": result["n_joints"], "correct": result["n_correct"],
                            "extra_movable": result["extra_movable_joints"], "seconds": round(times[-1], 2),
                            "check_passed": sum(passed) if check else None, "notes": report["notes"]})
    finally:
        if old_cache is None:
            os.environ.pop("SIMREAL_CACHE", None)
        else:
            os.environ["SIMREAL_CACHE"] = old_cache
    if not times:
        raise InputError(f"no object of the set could be built: {'; '.join(skipped)}")
    success = n_correct / max(n_joints, 1)
    per_category = {k: {"joints": v[0], "correct": v[1], "success": round(v[1] / max(v[0], 1), 4)}
                    for k, v in sorted(per_cat.items())}
    stats = {"s_per_object_mean": round(float(np.mean(times)), 2),
             "s_per_object_median": round(float(np.median(times)), 2),
             "s_per_object_p90": round(float(np.percentile(times, 90)), 2),
             "s_per_object_max": round(float(np.max(times)), 2)}
    target = TARGETS[which]
    meets = (success >= target["joint_success"]
             and all(stats[k] <= v for k, v in target.items() if k.startswith("s_per_object"))
             and all(c["success"] >= target.get("category_min", 0.0) for c in per_category.values()))
    return {
        "set": which, "n_objects": len(times), **({"seed": seed} if which == "procedural" else {}),
        "n_joints": n_joints, "n_correct": n_correct, "joint_success": round(success, 4),
        "per_kind" if which == "procedural" else "per_category": per_category, **stats,
        "check_joints": len(checks), "check_pass_rate": round(float(np.mean(checks)), 4) if checks else None,
        "targets": target, "meets_targets": bool(meets), "failures": failures[:40],
        **({"objects": objects, "skipped": skipped} if which == "real" else {}),
        "workdir": str(work) if keep else None,
    }
