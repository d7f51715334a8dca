"""``simreal bench twin``: build twins of procedural objects with known joints and score them.

Per object: generate -> export part meshes -> ``build_twin`` (timed, CoACD included; the
CoACD cache is pointed at a fresh directory so nothing is reused) -> joint metric against
the ground-truth URDF -> ``check`` under PD control. Targets (issue 6): joint success
>= 0.9 and <= 60 s per object on the 2-core CPU.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from simreal.twin.build import build_twin
from simreal.twin.check import check_dir
from simreal.twin.metric import evaluate
from simreal.twin.procedural import benchmark_set, export, generate

TARGET_SUCCESS = 0.9
TARGET_S_PER_OBJECT = 60.0


def bench_twin(n: int = 100, seed: int = 0, keep: str | None = None, check: bool = True, progress: bool = True,
               kinds: list[str] | None = None) -> dict:
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="simreal_bench_twin_"))
    old_cache = os.environ.get("SIMREAL_CACHE")
    os.environ["SIMREAL_CACHE"] = str(work / "cache")  # cold cache: decomposition is timed every time
    per_kind = defaultdict(lambda: [0, 0])
    times, failures, checks = [], [], []
    n_joints = n_correct = 0
    try:
        for kind, s in tqdm(benchmark_set(n, seed, kinds), desc="bench twin", disable=not progress):
            obj = generate(kind, s)
            case = export(obj, work / f"{kind}_{s}")
            t0 = time.perf_counter()
            build_twin(case / "parts", case / "twin", name=f"{kind}_{s}", progress=False)
            times.append(time.perf_counter() - t0)
            result = evaluate(case / "twin", case / "gt.urdf")
            n_joints += result["n_joints"]
            n_correct += result["n_correct"]
            per_kind[kind][0] += result["n_joints"]
            per_kind[kind][1] += result["n_correct"]
            for j in result["joints"]:
                if not j["correct"]:
                    failures.append({"object": f"{kind}_{s}", **j})
            if check:
                checks.extend(r["passed"] for r in check_dir(case / "twin"))
    finally:
        if old_cache is None:
            os.environ.pop("SIMREAL_CACHE", None)
        else:
            os.environ["SIMREAL_CACHE"] = old_cache
    success = n_correct / max(n_joints, 1)
    mean_s = float(np.mean(times))
    out = {
        "n_objects": n, "seed": seed, "n_joints": n_joints, "n_correct": n_correct, "joint_success": round(success, 4),
        "per_kind": {k: {"joints": v[0], "correct": v[1], "success": round(v[1] / max(v[0], 1), 4)}
                     for k, v in per_kind.items()},
        "s_per_object_mean": round(mean_s, 2), "s_per_object_p90": round(float(np.percentile(times, 90)), 2),
        "s_per_object_max": round(float(np.max(times)), 2),
        "check_joints": len(checks), "check_pass_rate": round(float(np.mean(checks)), 4) if checks else None,
        "targets": {"joint_success": TARGET_SUCCESS, "s_per_object": TARGET_S_PER_OBJECT},
        "meets_targets": bool(success >= TARGET_SUCCESS and mean_s <= TARGET_S_PER_OBJECT),
        "failures": failures[:20], "workdir": str(work) if keep else None,
    }
    return out
