"""``simreal export / import-rsl-rl / deploy-yaml / deploy / sim-robot / record / replay /
deploy-demo`` and ``simreal bench deploy``. ROS verbs pass ``--ros-args ...`` through."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from simreal.argtypes import positive_int
from simreal.errors import InputError


def add_verbs(verbs, bench) -> None:
    p = verbs.add_parser("export", help="write a deploy bundle from a simreal run directory")
    p.add_argument("run_dir")
    p.add_argument("--out", required=True)
    p.add_argument("--checkpoint", default="best", choices=["best", "latest"])
    p.set_defaults(func=_export)

    p = verbs.add_parser("import-rsl-rl", help="turn an rsl_rl runner checkpoint into a deploy bundle")
    p.add_argument("checkpoint", help="model_*.pt written by rsl_rl's OnPolicyRunner")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--deploy-yaml", help="deploy.yaml describing the robot, observations and actions")
    src.add_argument("--task", help="or: a simreal task id whose deploy.yaml is derived (simreal deploy-yaml)")
    p.add_argument("--out", required=True, help="bundle directory to write")
    p.add_argument("--activation", help="actor activation (default: params/agent.yaml beside the checkpoint, else elu)")
    p.add_argument("--normalizer-eps", type=float, default=1e-2, help="rsl_rl EmpiricalNormalization eps")
    p.set_defaults(func=_import_rsl_rl)

    p = verbs.add_parser("deploy-yaml", help="write the deploy.yaml of a simreal task (for import-rsl-rl)")
    p.add_argument("task")
    p.add_argument("--out", required=True)
    p.add_argument("--group", default="policy",
                   help="observation group(s) the policy reads; several comma-separated, in the actor's order")
    p.set_defaults(func=_deploy_yaml)

    p = verbs.add_parser("deploy", help="run a bundle as a ROS 2 lifecycle policy node")
    p.add_argument("bundle")
    _ros_args_option(p, "$(simreal configs ros/policy_node.yaml)")
    p.set_defaults(func=_deploy)

    p = verbs.add_parser("sim-robot", help="a MuJoCo arm speaking ros2_control's topics (--task: a whole task cell)")
    p.add_argument("--robot", help="registered robot or menagerie:<dir>/<file>.xml (default franka_panda)")
    p.add_argument("--task", help="simulate this task's whole scene: objects, perception noise, ~/reset, outcomes")
    p.add_argument("--seed", type=int, help="the task cell's randomization and perception noise (default 0)")
    p.add_argument("--rate", type=float, help="joint state rate and simulation pacing, Hz (default 500)")
    p.add_argument("--physics", metavar="FILE.yaml",
                   help="this arm's joint damping, friction loss, armature, servo gain scales and command latency "
                        "(see docs/DEPLOY.md); default: the robot model's")
    p.add_argument("--task-param", action="append", default=[], metavar="NAME=VALUE",
                   help="a parameter of the task (repeatable), as train's --set env.NAME=VALUE: "
                        "e.g. --task-param twin=DIR --task-param joint=door_joint for franka-articulate")
    p.add_argument("--group", metavar="GROUP[,GROUP]",
                   help="the actor's observation groups: which poses, and which tactile pads' frames, the cell "
                        "publishes (default policy; a tactile student: policy,tactile_summary)")
    _ros_args_option(p, "$(simreal configs ros/sim_robot.yaml)")
    p.set_defaults(func=_sim_robot)

    p = verbs.add_parser("record", help="record the deployment topics to an MCAP file (rosbag2 format)")
    p.add_argument("--out", required=True, help="FILE.mcap")
    p.add_argument("--duration", type=float, default=0.0, help="seconds (0: until Ctrl-C)")
    p.add_argument("--topic", action="append", default=[], metavar="NAME:pkg/msg/Type", help="extra topic")
    _ros_args_option(p, "FILE.yaml")
    p.set_defaults(func=_record)

    p = verbs.add_parser("excite", help="drive a bounded multisine through the arm's command topic and record "
                         "commands and joint states (for system identification)")
    p.add_argument("--out", required=True, help="FILE.mcap")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of multisine, fades included (default 30)")
    p.add_argument("--amplitude", type=float, default=0.2, help="rad from the default pose at most (default 0.2)")
    p.add_argument("--speed", type=float, default=0.3, help="fraction of each velocity limit at most (default 0.3)")
    p.add_argument("--max-freq", type=float, default=3.0, help="highest frequency, Hz (default 3)")
    p.add_argument("--rate", type=float, default=100.0, help="command rate, Hz (default 100)")
    p.add_argument("--robot", default="franka_panda")
    _ros_args_option(p, "FILE.yaml")
    p.set_defaults(func=_excite)

    p = verbs.add_parser("replay", help="feed a recording's commands into the simulator and compare joint states")
    p.add_argument("recording", help="FILE.mcap from simreal record")
    p.add_argument("--robot", default="franka_panda")
    p.set_defaults(func=_replay)

    p = verbs.add_parser("deploy-demo", help="the policy node and a simulated robot as processes over DDS: "
                         "episodes of the bundle's task in its task cell (default 10), or --targets N for reach")
    p.add_argument("bundle", help="a bundle directory, or a shipped one by task name (e.g. franka-lift-ik)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--episodes", type=positive_int, help="episodes in the task cell (default 10)")
    mode.add_argument("--targets", type=positive_int, help="instead: a sequence of reach targets to a plain arm")
    p.add_argument("--task", help="the task cell's task (default: the bundle's)")
    p.add_argument("--latency", type=float, default=0.0, help="added command latency in the task cell, s")
    p.add_argument("--physics", metavar="FILE.yaml", help="the simulated arm's own physics (as sim-robot --physics)")
    p.add_argument("--trace", action="store_true",
                   help="record what the policy saw and the task cell's truth; print the gap per observation term "
                        "(and plot it in the log directory)")
    p.add_argument("--seconds-per-target", type=float, default=4.0)
    p.add_argument("--radius", type=float, default=0.03, help="success radius, m")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_deploy_demo)

    p = bench.add_parser("deploy", help="ONNX Runtime inference latency and the policy loop's period error over DDS")
    p.add_argument("bundle")
    p.add_argument("--rates", default="100,500", help="policy loop rates to measure, Hz")
    p.add_argument("--seconds", type=float, default=10.0, help="measuring time per rate")
    p.add_argument("--iterations", type=int, default=5000, help="inference calls timed")
    p.add_argument("--realtime-priority", type=int, default=0,
                   help="run the policy node with SCHED_FIFO at this priority (needs root or CAP_SYS_NICE)")
    p.set_defaults(func=_bench_deploy)

    p = bench.add_parser("transfer", help="deployed success over ROS 2 on arms with hidden physics, per policy "
                                          "(the transfer table)")
    p.add_argument("--policy", action="append", default=[], metavar="NAME=BUNDLE",
                   help="a policy to deploy (repeatable); {arm} in BUNDLE picks one bundle per arm file")
    p.add_argument("--arms", nargs="+", default=[], metavar="ARM.yaml", help="hidden-physics files (sim-robot "
                   "--physics); the model's own arm is the nominal column")
    p.add_argument("--draw-arms", type=positive_int, metavar="N",
                   help="draw N hidden arms as `bench sysid` does (this --seed) into --arms-dir, and use them too")
    p.add_argument("--arms-dir", default="arms", help="where --draw-arms writes armI.yaml (default: ./arms)")
    p.add_argument("--episodes", type=positive_int, default=10, help="task-cell episodes per policy and arm")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="JSON of every cell, written as each finishes; a rerun skips cells already there")
    p.add_argument("--png", help="also draw the table as a heat map")
    p.set_defaults(func=_bench_transfer)


def _export(args) -> int:
    from simreal.export.from_run import export_run

    b = export_run(args.run_dir, args.out, which=args.checkpoint)
    print(f"wrote bundle {b.path}: {b.spec.obs_dim} observations -> {b.spec.num_actions} actions, "
          f"parity max |diff| {b.parity_max_abs_diff:.2g}")
    return 0


def _import_rsl_rl(args) -> int:
    from simreal.export.rsl_rl_import import import_rsl_rl

    b = import_rsl_rl(args.checkpoint, args.out, deploy_yaml=args.deploy_yaml, task=args.task,
                      activation=args.activation, eps=args.normalizer_eps)
    print(f"wrote bundle {b.path}: {b.spec.obs_dim} observations -> {b.spec.num_actions} actions, "
          f"parity max |diff| {b.parity_max_abs_diff:.2g}")
    return 0


def _deploy_yaml(args) -> int:
    from simreal.deploy.from_task import deploy_spec_from_task

    groups = [g.strip() for g in args.group.split(",") if g.strip()]
    path = deploy_spec_from_task(args.task, group=groups if len(groups) > 1 else args.group).save(args.out)
    print(f"wrote {path}")
    return 0


def _ros_args_option(p, example: str) -> None:
    p.add_argument("--ros-args", dest="ros_args", nargs=argparse.REMAINDER, default=None,
                   help=f"everything after it goes to ROS, e.g. --ros-args --params-file {example} -p name:=value")


def _ros_args(rest: list[str] | None) -> list[str]:
    return ["simreal"] + (["--ros-args", *rest] if rest is not None else [])


def _deploy(args) -> int:
    from simreal.data import bundle_path
    from simreal.ros_nodes.policy_node import main

    return main(str(bundle_path(args.bundle)), _ros_args(args.ros_args))


def _task_params(args) -> str:
    """--task-param NAME=VALUE ... as the node's task_params JSON ("" for none); values read as YAML."""
    import yaml

    from simreal.deploy.inputs import parse_mapping
    from simreal.registry import task_cfg, task_spec

    given = parse_mapping(args.task_param, "--task-param")
    if given and not args.task:
        raise InputError("--task-param needs --task")
    known = task_spec(args.task).params if given else ()
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise InputError(f"--task-param: task {args.task} has no parameter {unknown}; its parameters: {list(known)}")
    if not given:
        return ""
    params = {k: yaml.safe_load(v) for k, v in given.items()}
    task_cfg(args.task, **params)  # a missing twin, an unknown joint: one clear line before the node starts
    return json.dumps(params)


def _sim_robot(args) -> int:
    from pathlib import Path

    from simreal.ros_nodes.sim_robot_node import PARAMS, main, physics_of

    values = {"robot": args.robot, "rate": args.rate, "task": args.task, "seed": args.seed,
              "physics_file": args.physics and str(Path(args.physics).resolve()),
              "task_params": _task_params(args) or None, "group": args.group}
    overrides = {k: v for k, v in values.items() if v is not None}
    physics_of({**PARAMS, **overrides})  # a bad file: one clear line before any process starts
    return main(overrides, _ros_args(args.ros_args))


def _excite(args) -> int:
    import math

    from simreal.deploy.excitation import ExcitationCfg

    if not (math.isfinite(args.rate) and 10.0 <= args.rate <= 1000.0):
        raise InputError(f"--rate must be 10 to 1000 Hz, got {args.rate}")
    cfg = ExcitationCfg(duration_s=args.duration, amplitude_rad=args.amplitude, speed_fraction=args.speed,
                        max_freq_hz=args.max_freq)
    cfg.check()  # a bad option: one line before anything moves
    from simreal.ros_nodes.excite_node import run

    return run(args.out, cfg, rate_hz=args.rate, overrides={"robot": args.robot}, args=_ros_args(args.ros_args))


def _record(args) -> int:
    from simreal.ros_nodes.recorder import main

    return main(args.out, duration=args.duration, extra_topics=args.topic, args=_ros_args(args.ros_args))


def _replay(args) -> int:
    from simreal.deploy.replay import replay

    result = replay(args.recording, robot=args.robot)
    print(f"replayed {result['commands']} commands over {result['duration_s']:.1f} s: joint position error "
          f"RMS {result['rms_error_rad']:.4f} rad, max {result['max_error_rad']:.4f} rad")
    print(json.dumps(result))
    return 0


def _deploy_demo(args) -> int:
    from simreal.data import bundle_path

    args.bundle = bundle_path(args.bundle)
    if args.physics:  # a bad file: one clear line before any process starts
        from simreal.ros_nodes.sim_robot_node import PARAMS, physics_of

        physics_of({**PARAMS, "physics_file": args.physics})  # the cell checks it again for the task's robot
    if args.trace and args.targets is not None:
        raise InputError("--trace compares against a task cell's truth: use it with --episodes, not --targets")
    if args.targets is None:
        from simreal.ros_nodes.episode_demo import run_episodes

        if not 0.0 <= args.latency <= 1.0:
            raise InputError(f"--latency must be 0 to 1 s, got {args.latency}")
        result = run_episodes(args.bundle, episodes=args.episodes or 10, task=args.task, seed=args.seed,
                              latency_s=args.latency, physics=args.physics, trace=args.trace)
        if args.trace:
            from simreal.deploy.trace import format_table

            if result.get("observation_gap_error"):
                print(f"no observation gap: {result['observation_gap_error']}")
            else:
                print(format_table(result["observation_gap"]))
                png = Path(result["logs"]) / "observation_gap.png"
                if png.is_file():
                    print(f"plot: {png}")
        print(json.dumps({k: v for k, v in result.items() if k != "results"} | {"results": [
            {k: r[k] for k in ("episode", "success")} for r in result["results"]]}))
        return 0 if result["success_rate"] is not None else 1
    from simreal.ros_nodes.demo import run_demo

    result = run_demo(args.bundle, targets=args.targets, seconds_per_target=args.seconds_per_target,
                      radius=args.radius, seed=args.seed, physics=args.physics)
    print(json.dumps(result))
    return 0 if result["success_rate"] is not None else 1


def _bench_deploy(args) -> int:
    from simreal.data import bundle_path
    from simreal.deploy.bench import bench_deploy

    args.bundle = bundle_path(args.bundle)
    rates = [float(r) for r in args.rates.split(",") if r]
    print(json.dumps(bench_deploy(args.bundle, rates=rates, seconds=args.seconds, iterations=args.iterations,
                                  realtime_priority=args.realtime_priority)))
    return 0


def _bench_transfer(args) -> int:
    from simreal.deploy.transfer import bench_transfer, draw_arms, markdown, parse_policies

    policies = parse_policies(args.policy)
    arms = list(args.arms)
    if args.draw_arms:
        arms += [str(p) for p in draw_arms(args.draw_arms, args.arms_dir, seed=args.seed)]
        print(f"[bench transfer] {args.draw_arms} arms drawn into {args.arms_dir}", file=sys.stderr, flush=True)
    if not arms:
        raise InputError("give the hidden arms: --arms FILE.yaml ... or --draw-arms N")
    result = bench_transfer(policies, arms, episodes=args.episodes, seed=args.seed,
                            out=args.out, png=args.png)
    print(markdown(result))
    print(json.dumps({k: result[k] for k in ("episodes", "seed", "target", "summary")}))
    return 0
