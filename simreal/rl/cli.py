"""``simreal train / eval / play / plot`` and ``simreal bench learn``."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from simreal.argtypes import finite_float, nonneg_int, positive_float, positive_int
from simreal.errors import InputError
from simreal.rl.algorithms import NAMES


def add_verbs(verbs, bench) -> None:
    p = verbs.add_parser("train", help="train a policy (PPO, SAC, DSAC-T, AACD) on a task or gym:<id>")
    p.add_argument("task", nargs="?", help="task id (simreal list-tasks) or gym:<Gymnasium id>; omit with --resume")
    p.add_argument("--algo", default="ppo", choices=list(NAMES))
    p.add_argument("--num-envs", type=positive_int)
    p.add_argument("--steps", type=positive_int, help="total env steps (with --resume: the new total)")
    p.add_argument("--seed", type=nonneg_int)
    p.add_argument("--run-dir", help="where checkpoints, config.yaml, metrics and TensorBoard logs go")
    p.add_argument("--device", choices=["cpu", "cuda"], help="cuda uses the MuJoCo Warp backend")
    p.add_argument("--config",
                   help="YAML file merged over the defaults (configs/<algo>.yaml, configs/<algo>/<task>.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override, e.g. ppo.lr=3e-4 (repeatable)")
    p.add_argument("--teacher", help="aacd/distill: run directory of the privileged teacher")
    p.add_argument("--physics", metavar="FIT.yaml",
                   help="the arm's physics (e.g. from simreal sysid) as the model's nominal: randomization centres "
                        "on it")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its latest checkpoint")
    p.set_defaults(func=_train)

    p = verbs.add_parser("eval", help="evaluate a run; prints JSON with success_rate, mean_return, episodes")
    p.add_argument("run_dir")
    p.add_argument("--episodes", type=positive_int, default=100)
    p.add_argument("--checkpoint", default="best", choices=["best", "latest"])
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--stochastic", action="store_true",
                   help="sample actions as training does (default: the deterministic mean action that export runs)")
    p.add_argument("--obs-noise", action="append", default=[], metavar="GROUP=STD",
                   help="Gaussian noise added to what the policy reads of GROUP, in its own units (repeatable)")
    p.add_argument("--physics", metavar="FILE.yaml",
                   help="play on an arm with these physics (a sysid fit, or a guess), fixed for every episode "
                        "instead of the task's randomization of them")
    p.set_defaults(func=_eval)

    p = verbs.add_parser("play", help="render a trained policy to an MP4")
    p.add_argument("run_dir")
    p.add_argument("--out", required=True)
    p.add_argument("--num-envs", type=positive_int, default=4)
    p.add_argument("--steps", type=positive_int, default=150)
    p.add_argument("--checkpoint", default="best", choices=["best", "latest"])
    p.set_defaults(func=_play)

    p = verbs.add_parser("plot", help="learning curves of a run as PNG; of several runs, compared in one figure")
    p.add_argument("run_dir", nargs="+")
    p.add_argument("--out", help="PNG path (one run: default RUN_DIR/learning_curves.png; several: required)")
    p.set_defaults(func=_plot)

    p = bench.add_parser("learn", help="wall-clock to a success threshold: simreal PPO vs rsl_rl PPO (and SB3)")
    p.add_argument("--task", default="franka-reach")
    p.add_argument("--threshold", type=finite_float, default=0.95)
    p.add_argument("--budget-s", type=positive_float, default=600.0)
    p.add_argument("--num-envs", type=positive_int, default=512)
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--against", default="rsl_rl", help="comma list of baselines: rsl_rl, sb3, none")
    p.set_defaults(func=_bench_learn)

    p = bench.add_parser("offpolicy", help="SAC and DSAC-T on a Gymnasium task (and SB3's SAC): return after a step "
                         "budget, several seeds")
    p.add_argument("--task", default="gym:Pendulum-v1")
    p.add_argument("--steps", type=positive_int, default=15000)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--algos", default="sac,dsac")
    p.add_argument("--against", default="none", help="comma list of baselines: sb3, none")
    p.add_argument("--episodes", type=positive_int, default=10, help="evaluation episodes per run")
    p.add_argument("--bar", type=finite_float, default=-250.0, help="return every seed must reach to pass")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override simreal's config, as train's --set (the SB3 settings follow it; repeatable)")
    p.add_argument("--out", help="also write the result JSON to this file")
    p.set_defaults(func=_bench_offpolicy)


def _train_on_physics(cfg, path: str) -> None:
    """``cfg.env.physics`` <- the file's keys (checked); say what the fitted latency means here."""
    from simreal.registry import task_cfg
    from simreal.rl.factory import load_physics_for

    physics = load_physics_for(cfg.task, path)
    task = task_cfg(cfg.task, **{k: v for k, v in cfg.env.items() if k not in ("physics", "adr")})  # as the run's
    cfg.env["physics"] = physics.to_dict()
    from_fit = physics.pm95 and cfg.env.get("adr") is None and cfg.env.get("physics_widths", "fit") == "fit"
    if from_fit:
        widths = _fit_widths(task, physics)
        given = [name for name, ev in (cfg.env.get("events") or {}).items()
                 if isinstance(ev, dict) and "scale" in (ev.get("params") or {}) and name in task.events
                 and task.events[name].func in widths]
        if given:
            raise InputError(f"--physics {path} sets the ranges of {given} from the fit's uncertainty, and --set "
                             f"gives them too; add --set env.physics_widths=task to use your ranges (around the fit)")
    if physics.pm95 and cfg.env.get("adr") is not None:
        print(f"--physics {path}: ADR sets the arm's randomization ranges (from nominal outward); the fit's "
              "uncertainty is not used")
    elif physics.pm95 and cfg.env.get("physics_widths", "fit") == "fit":
        print(f"--physics {path}: the arm's randomization widths come from the fit's uncertainty "
              f"({_fit_ranges(task, physics)}; --set env.physics_widths=task keeps the task's ranges)")
    step_ms = 1e3 * task.scene.timestep * task.decimation
    latency_ms = 1e3 * physics.command_latency_s
    if latency_ms > 0:
        actions = cfg.env.setdefault("actions", {})
        if not isinstance(actions, dict):
            return
        if "max_latency_steps" in actions:
            print(f"--physics {path}: command latency {latency_ms:.1f} ms; actions.max_latency_steps="
                  f"{actions['max_latency_steps']} as set")
        else:
            actions["max_latency_steps"] = math.ceil(latency_ms / step_ms - 1e-9)
            print(f"--physics {path}: command latency {latency_ms:.1f} ms: each episode delays actions by 0 to "
                  f"{actions['max_latency_steps']} control steps of {step_ms:.0f} ms (env.actions.max_latency_steps; "
                  f"--set it to choose)")


def _fit_widths(task, physics) -> dict:
    """{event function: (low, high)}: the arm-physics ranges the fit's uncertainty gives."""
    from simreal.mdp.events import fit_widths
    from simreal.robots import get_robot
    from simreal.robots.physics import model_values
    from simreal.sim.scene import build_scene

    m, robot = build_scene(task.scene), get_robot(task.scene.robot)
    return fit_widths(physics, model_values(m, [m.joint(j).dofadr[0] for j in robot.joint_names],
                                            [m.actuator(a).id for a in robot.actuator_names]))


def _fit_ranges(task, physics) -> str:
    """The events' new ranges beside the task's, for the message."""
    widths = _fit_widths(task, physics)
    shown = [f"{name} x{widths[ev.func][0]:g}-{widths[ev.func][1]:g} (task: x{ev.params['scale'][0]:g}-"
             f"{ev.params['scale'][1]:g})" for name, ev in task.events.items()
             if ev.func in widths and "scale" in ev.params]
    return ", ".join(shown) or "no arm-physics event in this task"


def _train(args) -> int:
    from simreal.rl import distributed
    from simreal.rl.config import TrainCfg, apply_overrides, default_cfg, from_dict, load_yaml, merge
    from simreal.rl.runner import Runner

    if args.resume:
        run_dir = Path(args.resume)
        if not (run_dir / "config.yaml").is_file():
            raise InputError(f"--resume {run_dir}: not a run directory (it has no config.yaml)")
        cfg = from_dict(TrainCfg, load_yaml(run_dir / "config.yaml"))
        if args.steps:
            cfg.steps = args.steps
        resume = True
    else:
        if not args.task:
            raise InputError("give a TASK (see simreal list-tasks) or --resume RUN_DIR")
        overrides = {k: v for k, v in {"num_envs": args.num_envs, "steps": args.steps, "seed": args.seed,
                                       "device": args.device}.items() if v is not None}
        if args.teacher:
            overrides["teacher"] = {"run_dir": args.teacher}
        base = load_yaml(args.config) if args.config else {}
        cfg = default_cfg(args.task, args.algo, merge(base, overrides))
        cfg = apply_overrides(cfg, args.set)
        _absolute_task_paths(cfg)
        if args.physics:
            _train_on_physics(cfg, args.physics)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path(args.run_dir or f"runs/{cfg.task.replace(':', '_')}_{cfg.algo}_{stamp}")
        _check_new_run_dir(run_dir)
        resume = False
    rank, world = distributed.init_from_env(cfg.device)
    _stop_on_signals()
    try:
        runner = Runner(cfg, run_dir=run_dir, resume=resume, rank=rank)
        if rank == 0:
            print(f"run directory: {run_dir}  (world size {world})")
        metrics = runner.train()
    finally:
        distributed.shutdown()
    if rank == 0:
        print(json.dumps({"run_dir": str(run_dir),
                          **{k: v for k, v in metrics.items() if isinstance(v, (int, float))}}))
    return 0


def _absolute_task_paths(cfg) -> None:
    """A task parameter that names a path (env.twin=twins/cabinet) is kept absolute, so eval,
    export and the task cell find it from any directory."""
    if cfg.task.startswith("gym:"):
        return
    from simreal.registry import task_spec

    for key in task_spec(cfg.task).paths:
        value = cfg.env.get(key)
        if isinstance(value, str) and value:
            cfg.env[key] = str(Path(value).expanduser().resolve())


def _int_list(text: str, flag: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values:
        raise InputError(f"{flag} takes a comma list of integers, e.g. 0,1,2; got {text!r}")
    return values


def _check_new_run_dir(run_dir: Path) -> None:
    """A new run never lands on a file or on top of another run's checkpoints."""
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"--run-dir {run_dir} is a file; give a directory (it is created if missing)")
    if (run_dir / "config.yaml").exists() or any(run_dir.glob("*.pt")):
        raise InputError(f"--run-dir {run_dir} already holds a run; continue it with --resume {run_dir} "
                         "or choose another --run-dir")


def _stop_on_signals() -> None:
    """SIGTERM (a cluster's preemption, ``kill``) and SIGINT end training like Ctrl-C does: a
    checkpoint is saved first. SIGINT is re-armed because shells start background jobs with it
    ignored."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _eval(args) -> int:
    from simreal.rl.evaluate import evaluate

    print(json.dumps(evaluate(args.run_dir, episodes=args.episodes, seed=args.seed, which=args.checkpoint,
                              stochastic=args.stochastic, obs_noise=_group_floats(args.obs_noise),
                              physics_file=args.physics)))
    return 0


def _group_floats(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        group, _, value = item.partition("=")
        try:
            std = float(value)
        except ValueError:
            std = float("nan")
        if not group or not math.isfinite(std) or std < 0:
            raise InputError(f"--obs-noise takes GROUP=STD with STD >= 0, e.g. tactile_summary=0.5; got {item!r}")
        out[group] = std
    return out


def _play(args) -> int:
    from simreal.rl.evaluate import Policy, load_run
    from simreal.view import render_task

    cfg, _, algo = load_run(args.run_dir, args.checkpoint, num_envs=1)
    if cfg.task.startswith("gym:"):
        raise InputError("play renders simreal tasks; for gym:<id> use Gymnasium's own render_mode")
    out = render_task(cfg.task, args.out, num_envs=args.num_envs, steps=args.steps, seed=cfg.seed,
                      policy=Policy(algo.actor), env_overrides={k: v for k, v in cfg.env.items() if k != "adr"})
    print(f"wrote {out}")
    return 0


def _plot(args) -> int:
    from simreal.rl.plot import compare_runs, plot_run

    if len(args.run_dir) == 1:
        print(f"wrote {plot_run(args.run_dir[0], args.out)}")
    elif not args.out:
        raise InputError("plotting several runs needs --out PATH.png (where the comparison goes)")
    else:
        print(f"wrote {compare_runs(args.run_dir, args.out)}")
    return 0


def _bench_learn(args) -> int:
    from simreal.bench.learn import bench_learn

    result = bench_learn(args.task, args.threshold, args.budget_s, args.num_envs, args.seed,
                         [b for b in args.against.split(",") if b and b != "none"])
    print(json.dumps(result))
    return 0


def _bench_offpolicy(args) -> int:
    from simreal.bench.offpolicy import bench_offpolicy

    result = bench_offpolicy(args.task, args.steps, _int_list(args.seeds, "--seeds"),
                             [a for a in args.algos.split(",") if a and a != "none"], episodes=args.episodes,
                             bar=args.bar, against=[b for b in args.against.split(",") if b and b != "none"],
                             sets=args.set)
    print(json.dumps(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    return 0
