"""``simreal <verb>``: the command-line entry point."""

from __future__ import annotations

import argparse
import importlib
import json
import sys

from simreal.argtypes import nonneg_int, positive_float, positive_int
from simreal.errors import InputError, SimrealError

# Verb groups contributed by subpackages. Each module defines ``add_verbs(verbs, bench)``,
# adding its verbs to ``verbs`` and its benchmarks to ``bench`` (both argparse
# subparser collections); handlers import their heavy dependencies lazily.
VERB_MODULES: tuple[str, ...] = ("simreal.rl.cli", "simreal.sensors.tactile.cli", "simreal.deploy.cli",
                                 "simreal.twin.cli", "simreal.sysid.cli")


def _list_tasks(args) -> int:
    from simreal.registry import list_tasks

    for spec in list_tasks():
        print(f"{spec.id:<24} {spec.description}")
    return 0


def _configs(args) -> int:
    from simreal.data import data_path, shipped_configs

    if args.name:
        print(data_path("configs", *args.name.split("/")))
    else:
        print("\n".join(shipped_configs()))
    return 0


def _bench_sim(args) -> int:
    from simreal.bench.sim import bench_sim

    def progress(i, n, env_rate, raw_rate):
        print(f"round {i}/{n}: env {env_rate:,.0f} env-steps/s, raw {raw_rate:,.0f} env-steps/s, "
              f"ratio {env_rate / raw_rate:.3f}", file=sys.stderr, flush=True)

    result = bench_sim(args.task, args.num_envs, seconds=args.seconds, rounds=args.rounds, backend=args.backend,
                       device=args.device, nthread=args.nthread, progress=progress)
    print(json.dumps(result))
    return 0


def _env_sets(args) -> dict:
    """--set env.KEY=VALUE ... (as train's) as the task's env overrides."""
    from simreal.rl.config import TrainCfg, apply_overrides

    bad = [s for s in args.set if not s.startswith("env.")]
    if bad:
        raise InputError(f"--set {bad[0]!r}: {args.verb} takes the task's settings only, env.KEY=VALUE "
                         f"(e.g. env.twin=DIR)")
    return apply_overrides(TrainCfg(task=args.task), args.set).env


def _rollout(args) -> int:
    from simreal.rollout import rollout

    env = _env_sets(args)
    result = rollout(args.task, num_envs=args.num_envs, steps=args.steps, seed=args.seed, env_overrides=env)
    print(f"{result['task']}: {result['num_envs']} envs x {result['steps']} control steps "
          f"({result['control_dt_s'] * 1000:.0f} ms each) with random actions, "
          f"{result['env_steps_per_s']:,.0f} env-steps/s")
    print(f"  {result['episodes']} episodes ended, success rate {result['success_rate']}, "
          f"mean return {result['mean_return']}; diverged {result['diverged']}, NaN actions {result['nan_actions']}")
    print(f"  observation groups {result['obs_dims']}, {result['num_actions']} actions")
    if args.picture:
        from simreal.view import render_task

        picture = render_task(args.task, args.picture, num_envs=4, seed=args.seed, env_overrides=env)
        print(f"  picture of 4 envs: {picture}")
    print(json.dumps(result))
    return 0


def _view(args) -> int:
    from simreal.view import render_task

    path = render_task(args.task, args.out, num_envs=args.num_envs, steps=args.steps, seed=args.seed,
                       width=args.width, height=args.height, env_overrides=_env_sets(args))
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simreal", description="Robot-arm skills from simulation to real hardware.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("list-tasks", help="list registered task ids")
    p.set_defaults(func=_list_tasks)

    p = verbs.add_parser("configs", help="list the shipped config files, or print the path of one "
                         "(e.g. --params-file $(simreal configs ros/policy_node.yaml))")
    p.add_argument("name", nargs="?", help="a file relative to configs/, e.g. ros/policy_node.yaml")
    p.set_defaults(func=_configs)

    bench = verbs.add_parser("bench", help="benchmarks; each prints one JSON object as its last line")
    bench = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    p = bench.add_parser("sim", help="whole env steps/s against raw batched physics of the same MJCF")
    p.add_argument("--task", default="franka-lift")
    p.add_argument("--num-envs", type=positive_int, default=1024)
    p.add_argument("--seconds", type=positive_float, default=6.0, help="measuring time per round (env and raw halves)")
    p.add_argument("--rounds", type=positive_int, default=3)
    p.add_argument("--backend", default="mujoco", choices=["mujoco", "mujoco_warp"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--nthread", type=nonneg_int, default=0, help="CPU backend threads (0: all cores)")
    p.set_defaults(func=_bench_sim)

    p = verbs.add_parser("rollout", help="run a task with random actions and report episodes, success and speed")
    p.add_argument("task")
    p.add_argument("--num-envs", type=positive_int, default=256)
    p.add_argument("--steps", type=positive_int, default=300, help="control steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--picture", help="also render 4 envs to this PNG")
    p.add_argument("--set", action="append", default=[], metavar="env.KEY=VALUE", help="a task setting, as train's")
    p.set_defaults(func=_rollout)

    p = verbs.add_parser("view", help="render a few envs of a task to a PNG or MP4")
    p.add_argument("task")
    p.add_argument("--out", required=True, help="FILE.png (one frame) or FILE.mp4 (an episode)")
    p.add_argument("--num-envs", type=positive_int, default=4)
    p.add_argument("--steps", type=positive_int, default=100, help="control steps to record for .mp4")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--width", type=positive_int, default=480)
    p.add_argument("--height", type=positive_int, default=360)
    p.add_argument("--set", action="append", default=[], metavar="env.KEY=VALUE", help="a task setting, as train's")
    p.set_defaults(func=_view)

    for name in VERB_MODULES:
        importlib.import_module(name).add_verbs(verbs, bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"simreal {args.verb}: interrupted", file=sys.stderr)
        return 130
    except SimrealError as err:  # bad input or a failed run: one line; anything else is a bug (traceback)
        print(f"simreal {args.verb}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
