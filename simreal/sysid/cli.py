"""``simreal sysid`` and ``simreal bench sysid``: an arm's physics from a recording, and how
well the fit recovers physics drawn at random."""

from __future__ import annotations

import json

from simreal.argtypes import positive_int


def add_verbs(verbs, bench) -> None:
    p = verbs.add_parser("sysid", help="fit an arm's physics (servo gains, latency, armature, friction loss) to "
                         "a recording of commands and joint states; writes a --physics file")
    p.add_argument("recording", help="FILE.mcap from simreal excite (or simreal record)")
    p.add_argument("--robot", default="franka_panda")
    p.add_argument("--out", required=True, help="FIT.yaml (the format of sim-robot --physics)")
    p.add_argument("--plot", help="PNG of measured against simulated joints before and after (default: next to --out)")
    p.add_argument("--joint-map", default="", help="robot_joint=recorded_joint,... (e.g. joint1=fr3_joint1,...)")
    p.add_argument("--command-topic", default="/forward_position_controller/commands")
    p.add_argument("--max-iters", type=positive_int, default=40)
    p.set_defaults(func=_sysid)

    p = bench.add_parser("sysid", help="fit arms with physics drawn at random (simulated recordings of simreal "
                         "excite) and compare the fit with the truth")
    p.add_argument("--arms", type=positive_int, default=10)
    p.add_argument("--duration", type=float, default=30.0, help="excitation seconds per arm (default 30)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--robot", default="franka_panda")
    p.set_defaults(func=_bench_sysid)


def _sysid(args) -> int:
    import dataclasses
    from pathlib import Path

    from simreal.deploy.inputs import parse_mapping
    from simreal.robots import get_robot
    from simreal.sysid.fit import fit, load_recording, plot_fit, summary

    robot = get_robot(args.robot)
    joint_map = parse_mapping([e for e in args.joint_map.split(",") if e.strip()], "--joint-map")
    rec = load_recording(args.recording, robot, command_topic=args.command_topic, joint_map=joint_map)
    print(f"simreal sysid: {len(rec.t_cmd)} commands, {len(rec.t_q)} joint states over {rec.t_q[-1]:.1f} s; "
          f"fitting servo gains, latency, armature and friction loss ...", flush=True)
    result = fit(rec, robot, max_iters=args.max_iters)
    pm95 = {key: entry["pm95"] for key, entry in summary(result)["fit"].items()}
    out = dataclasses.replace(result["physics"], pm95=pm95).save(args.out)  # train --physics reads the widths
    plot = Path(args.plot) if args.plot else Path(out).with_suffix(".png")
    plot_fit(result, robot, plot)
    print(json.dumps(summary(result) | {"out": str(out), "plot": str(plot)}))
    return 0


def _bench_sysid(args) -> int:
    from simreal.sysid.bench import bench_sysid

    result = bench_sysid(arms=args.arms, duration_s=args.duration, seed=args.seed, robot_name=args.robot)
    print(json.dumps(result))
    return 0 if result["all_within_targets"] else 1
