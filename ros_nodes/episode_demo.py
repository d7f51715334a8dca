"""Deployed success over ROS 2: the task cell and the policy node as separate processes,
N episodes of the bundle's task, each decided by the task's own success test.

    simreal deploy-demo BUNDLE --episodes 50 [--latency 0.02]

Per episode: the policy pauses (``~/pause``), the cell starts a new randomized episode
(``~/reset``), the policy starts one from the measured pose (``~/new_episode``) and the
cell reports the outcome once the task's episode length has run.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from simreal.ros_nodes.demo import Probe
from simreal.ros_nodes.launch import free_domain_id, ros_env, spawn, stop

SETTLE_S = 0.3  # after a reset: fresh joint states and poses reach the policy before its episode starts


def bundle_task(bundle) -> tuple[str | None, dict]:
    """The bundle's task and that task's parameters (e.g. a twin), after checking the bundle here
    (a clear error before any process starts)."""
    from simreal.export.bundle import load_bundle

    provenance = load_bundle(bundle).spec.provenance or {}
    task = provenance.get("task")
    params = dict(provenance.get("task_params") or {})
    if task and params:  # e.g. a twin that is not on this machine: named now, not by a dead task cell
        from simreal.registry import task_cfg

        task_cfg(str(task), **params)
    return (str(task) if task else None), params


def cell_params(bundle) -> tuple[list[str], list[str]]:
    """(task cell, policy node) ROS arguments a bundle's inputs need: the actor's groups (what
    the cell perceives and renders for it) and, for tactile pads, the calibration's own
    no-contact frame as the reference (the cell renders against it; a real gel's reference is
    captured with nothing touching it)."""
    from simreal.export.bundle import load_bundle

    spec = load_bundle(bundle).spec
    group = (spec.provenance or {}).get("obs_group") or "policy"
    groups = [group] if isinstance(group, str) else list(group)
    sim = ["-p", f"group:={','.join(groups)}"]
    policy = ["-p", "tactile_reference:=calibration"] if spec.tactile_pads() else []
    return sim, policy


def observation_gap(bundle, policy_trace: Path, cell_trace: Path, png: Path) -> list[dict]:
    """Per observation term, what the policy saw against the task cell's truth; the plot to ``png``."""
    from simreal.deploy import trace
    from simreal.export.bundle import load_bundle

    layout = trace.term_layout(load_bundle(bundle).spec)
    policy, cell = trace.load(policy_trace), trace.load(cell_trace)
    rows = trace.compare(policy, cell, layout)
    try:
        trace.plot(policy, cell, layout, png)
    except ImportError:  # a robot-side install without matplotlib (pip install simreal[rl]): the table alone
        print("no observation_gap.png: matplotlib is not installed (pip install 'simreal[rl]')", flush=True)
    return rows


def _log_tail(path: Path) -> str:
    return path.read_text()[-2000:] if path.is_file() else "(no log)"


def run_episodes(bundle, episodes: int = 10, task: str | None = None, seed: int = 0, latency_s: float = 0.0,
                 physics: str | Path | None = None, policy_params: list[str] | None = None,
                 sim_params: list[str] | None = None,
                 log_dir: str | Path | None = None, startup_timeout: float = 90.0, verbose: bool = True,
                 domain_id: int | None = None, on_episode=None, trace: bool = False) -> dict:
    """Returns {"success_rate", "episodes": [per-episode results], "policy": loop statistics, ...}.
    ``physics``: a file of the task cell's arm physics (``simreal sim-robot --physics``).
    ``on_episode(probe, i)`` runs while episode ``i`` is under way (tests use it to act mid-episode).
    ``trace``: both sides record observation traces into the log directory and the result gains
    ``observation_gap`` (per term, :func:`simreal.deploy.trace.compare`) and a plot of them."""
    from simreal.errors import InputError

    own_task, task_params = bundle_task(bundle)
    if task and task != own_task:
        task_params = {}  # another task's cell: the bundle's task parameters are not its
    task = task or own_task
    if not task:
        raise InputError(f"bundle {bundle} names no task in its provenance; pass --task")
    domain = domain_id if domain_id is not None else free_domain_id()
    env = ros_env(domain)
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="simreal_episodes_"))
    log_dir.mkdir(parents=True, exist_ok=True)
    stats = log_dir / "policy_stats.json"
    sim_log, policy_log = log_dir / "task_cell.log", log_dir / "policy.log"
    hidden = ["--physics", str(Path(physics).resolve())] if physics else []
    params = [a for k, v in task_params.items() for a in ("--task-param", f"{k}={json.dumps(v)}")]
    cell_args, policy_args = cell_params(bundle)
    traces = (log_dir / "policy_trace.npz", log_dir / "cell_trace.npz")
    if trace:
        policy_args += ["-p", f"trace_file:={traces[0]}"]
        cell_args += ["-p", f"trace_file:={traces[1]}"]
    sim = spawn(["sim-robot", "--task", task, "--seed", str(seed), *hidden, *params, "--ros-args", *cell_args,
                 "-p", f"latency_s:={latency_s}", *(sim_params or [])], env, sim_log)
    probe = Probe(domain, watch_commands=False)
    outcomes: list[dict] = []
    probe.subscribe_json("/task_cell/episode", outcomes.append)
    policy = None
    results = []
    t_start = time.monotonic()
    try:
        if not probe.wait_for(lambda: probe.ee is not None or sim.poll() is not None, startup_timeout) or sim.poll():
            raise RuntimeError(f"the task cell did not start (exit {sim.poll()}); log: {_log_tail(sim_log)}")
        policy = spawn(["deploy", str(bundle), "--ros-args", *policy_args, *(policy_params or []),
                        "-p", f"stats_file:={stats}"], env, policy_log)
        ok = probe.wait_for(lambda: probe.policy_status.get("state") == "running" or policy.poll() is not None,
                            startup_timeout)
        if not ok or policy.poll() is not None:
            raise RuntimeError(f"the policy node did not start (exit {policy.poll()}); log: {_log_tail(policy_log)}")
        from std_srvs.srv import Trigger

        for i in range(episodes):
            for srv in ("/simreal_policy/pause", "/simreal_sim_robot/reset"):
                r = probe.call(Trigger, srv, Trigger.Request())
                if r is None or (not r.success and srv.endswith("reset")):
                    raise RuntimeError(f"{srv} failed ({'no answer' if r is None else r.message}); logs in {log_dir}")
            episode = int(r.message.split()[1])  # the cell's answer: "episode N of TASK"
            probe.spin(SETTLE_S)
            for _ in range(100):  # a policy holding for a stale input (or ramping back) refuses for a moment;
                # on a loaded machine a camera's frames can go stale again and again: up to 10 s
                r = probe.call(Trigger, "/simreal_policy/new_episode", Trigger.Request())
                if r is None or r.success:
                    break
                probe.spin(0.1)
            if r is None or not r.success:
                raise RuntimeError(f"the policy could not start episode {i + 1}: "
                                   f"{'no answer' if r is None else r.message}; log: {_log_tail(policy_log)}")
            if on_episode is not None:
                on_episode(probe, i)
            if not probe.wait_for(lambda: any(o["episode"] == episode for o in outcomes), 60.0):
                raise RuntimeError(f"episode {i + 1} gave no outcome within 60 s; logs in {log_dir}")
            out = next(o for o in outcomes if o["episode"] == episode)
            results.append(out)
            if verbose:
                done = sum(r["success"] for r in results)
                print(f"episode {i + 1}/{episodes}: {'success' if out['success'] else 'failure'} "
                      f"(running {done}/{len(results)})", flush=True)
    finally:
        probe.close()
        if policy is not None:
            stop(policy)
        stop(sim)
    status = json.loads(stats.read_text()) if stats.is_file() else {}
    success = float(np.mean([r["success"] for r in results])) if results else None
    result = {"task": task, "success_rate": success, "episodes": len(results), "latency_s": latency_s, "seed": seed,
              "physics": str(physics) if physics else None, "wall_s": round(time.monotonic() - t_start, 1),
              "results": results,
              "policy": {k: status.get(k) for k in ("period_err_p99_ms", "missed_deadlines", "inference_p99_ms",
                                                     "safety_interventions", "stale_events", "commands",
                                                     "action_p50_ms", "action_p99_ms")},
              "logs": str(log_dir)}
    if trace:  # a trace that cannot be compared is said, and loses none of the episodes
        try:
            result["observation_gap"] = observation_gap(bundle, *traces, log_dir / "observation_gap.png")
        except InputError as err:
            result["observation_gap"], result["observation_gap_error"] = [], str(err)
    if verbose:
        print(f"{task}: deployed success {success} ({sum(r['success'] for r in results)}/{len(results)} episodes)",
              flush=True)
    return result
