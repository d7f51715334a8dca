"""``simreal twin build|check|view|eval`` and ``simreal bench twin``."""

from __future__ import annotations

import json
import sys

from simreal.argtypes import positive_int


def _build(args) -> int:
    from simreal.twin.build import build_twin

    report = build_twin(args.input, args.out, name=args.name, units=args.units, up=args.up, hints=args.hints,
                        proposer=args.proposer, density=args.density)
    for note in report["notes"]:
        print(f"warning: {note}", file=sys.stderr)
    for j in report["joints"]:
        lim = "" if j["limits"] is None else f" limits [{j['limits'][0]:.3f}, {j['limits'][1]:.3f}]"
        flag = "  LOW CONFIDENCE" if j["low_confidence"] else ""
        print(f"{j['child']:<16} {j['type']:<10} parent {j['parent']:<12} axis {j['axis']}{lim} "
              f"confidence {j['confidence']:.2f}{flag}\n    {j['reason']}")
        if j["ambiguous_with"]:
            rival = j["ambiguous_with"]
            print(f"    AMBIGUOUS: {rival['type']} also fits ({rival['reason']}; score {rival['score']:.2f}); "
                  f"picked by the prior. Override with --hints if it is the other")
    print(f"wrote {args.out}/{report['files']['urdf']}, {report['files']['mjcf']}, report.json "
          f"({report['timings_s']['total']:.1f} s)")
    return 0


def _check(args) -> int:
    from simreal.twin.check import check_dir

    results = check_dir(args.dir)
    for r in results:
        print(f"{'PASS' if r['passed'] else 'FAIL'}  {r['name']:<24} {r['type']:<10} targets "
              f"[{r['targets'][0]:.3f}, {r['targets'][1]:.3f}] reached [{r['reached'][0]:.3f}, {r['reached'][1]:.3f}]")
    passed = all(r["passed"] for r in results)
    print(json.dumps({"joints": len(results), "passed": sum(r["passed"] for r in results), "all_passed": passed}))
    return 0 if passed else 1


def _view(args) -> int:
    from simreal.twin.check import view_dir

    print(f"wrote {view_dir(args.dir, args.out, args.width, args.height)}")
    return 0


def _eval(args) -> int:
    from simreal.twin.metric import evaluate

    print(json.dumps(evaluate(args.pred, args.gt, scale=args.scale)))
    return 0


def _bench(args) -> int:
    from simreal.twin.bench import bench_twin

    kinds = [k for k in args.kinds.split(",") if k] if args.kinds else None
    result = bench_twin(args.n, seed=args.seed, keep=args.keep, check=not args.no_check, kinds=kinds,
                        which=args.set)
    print(json.dumps(result))
    return 0


def add_verbs(verbs, bench) -> None:
    twin = verbs.add_parser("twin", help="digital twins: part meshes or scans -> articulated URDF + MJCF")
    sub = twin.add_subparsers(dest="twin_verb", required=True, metavar="STEP")

    p = sub.add_parser("build", help="build a twin from part meshes, a GLB/OBJ with named parts, or a scan")
    p.add_argument("input", help="directory of part meshes (OBJ/STL/PLY/GLB), one multi-part file, or a point cloud")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--name", help="model name (default: the input's name)")
    p.add_argument("--units", choices=["m", "cm", "mm"], help="input units (default: inferred from size)")
    p.add_argument("--up", choices=["z", "y"], help="up axis of the input (default: y for glTF, else z)")
    p.add_argument("--hints", help='JSON file: {"base": PART, "parts": {PART: {"type": "drawer|door|knob|fixed|..."}}}')
    p.add_argument("--proposer", default="geometric", help="registered joint proposer (default: geometric)")
    p.add_argument("--density", type=float, default=600.0, help="kg/m^3 for mass and inertia (default 600, wood)")
    p.set_defaults(func=_build)

    p = sub.add_parser("check", help="drive every joint to both limits in MuJoCo under PD control; pass/fail per joint")
    p.add_argument("dir")
    p.set_defaults(func=_check)

    p = sub.add_parser("view", help="render the twin at rest and at its joint limits to a PNG")
    p.add_argument("dir")
    p.add_argument("--out", required=True, help="FILE.png")
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.set_defaults(func=_view)

    p = sub.add_parser("eval", help="score a twin against a ground-truth URDF/MJCF (Articulate-Anything joint metric)")
    p.add_argument("--pred", required=True, help="twin directory (or URDF/MJCF)")
    p.add_argument("--gt", required=True, help="ground-truth URDF or MJCF")
    p.add_argument("--scale", type=float,
                   help="object scale for the origin tolerance (default: the twin's bbox diagonal)")
    p.set_defaults(func=_eval)

    p = bench.add_parser("twin", help="twins of objects with known joints (procedural, or hand-made models from "
                         "installed packages): joint success per category and seconds per object")
    p.add_argument("--set", default="procedural", choices=["procedural", "real"],
                   help="procedural: simreal's generator (--n, --seed); real: hand-made articulated models read from "
                        "installed packages (gymnasium-robotics, envpool-assets, ogbench)")
    p.add_argument("--n", type=positive_int, default=100, help="number of procedural objects")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep", help="keep the generated objects and twins in this directory")
    p.add_argument("--no-check", action="store_true", help="skip the PD check of every joint")
    p.add_argument("--kinds",
                   help="comma-separated object kinds (procedural, default all: cabinet,box,laptop,microwave,oven,"
                        "faucet) or categories (real: door, drawer, knob, button, ...)")
    p.set_defaults(func=_bench)
