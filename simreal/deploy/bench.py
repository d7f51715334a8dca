"""``simreal bench deploy BUNDLE``: ONNX Runtime inference latency on one thread, and the
policy loop's period error at given rates over real DDS with the sim-robot node."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from simreal.deploy.stats import percentiles_ms


def bench_inference(bundle_path, iterations: int = 5000, warmup: int = 200) -> dict:
    from simreal.export.bundle import load_bundle

    bundle = load_bundle(bundle_path, threads=1)
    with np.load(Path(bundle_path) / "parity.npz") as data:
        obs = data["obs"][:1].astype(np.float32)
    run = bundle.session.run
    states = bundle.spec.recurrent_state or {}  # a recurrent policy also takes its hidden state
    feeds = {"obs": obs, **{f"{k}_in": np.zeros((1, *shape), np.float32) for k, shape in states.items()}}
    outputs = ["actions"] + [f"{k}_out" for k in states]
    for _ in range(warmup):
        run(outputs, feeds)
    times = np.empty(iterations)
    for i in range(iterations):
        t = time.perf_counter()
        run(outputs, feeds)
        times[i] = time.perf_counter() - t
    p = percentiles_ms(times)
    return {"inference_p50_ms": p["p50"], "inference_p99_ms": p["p99"], "inference_mean_ms": float(times.mean() * 1e3),
            "iterations": iterations, "threads": 1}


def bench_loop(bundle_path, rate_hz: float, seconds: float = 10.0, log_dir=None, realtime_priority: int = 0) -> dict:
    from simreal.ros_nodes.demo import Probe, sample_targets
    from simreal.ros_nodes.launch import free_domain_id, ros_env, spawn, stop

    domain = free_domain_id()
    env = ros_env(domain)
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix=f"simreal_bench_{int(rate_hz)}hz_"))
    stats = log_dir / "policy_stats.json"
    sim_rate = max(500.0, rate_hz)
    stale_periods = max(5.0, 0.05 * rate_hz)  # at least 50 ms before inputs count as stale
    sim = spawn(["sim-robot", "--rate", str(sim_rate)], env, log_dir / "sim_robot.log")
    probe = Probe(domain, watch_commands=False)
    policy = None
    try:
        if not probe.wait_for(lambda: probe.ee is not None or sim.poll() is not None, 60) or sim.poll() is not None:
            raise RuntimeError(f"sim-robot did not start; see {log_dir / 'sim_robot.log'}")
        policy = spawn(["deploy", str(bundle_path), "--ros-args", "-p", f"control_period_s:={1.0 / rate_hz}",
                        "-p", "soft_start_s:=0.5", "-p", f"stale_periods:={stale_periods}", "-p", "stats_skip_s:=1.0",
                        "-p", f"realtime_priority:={realtime_priority}", "-p", f"stats_file:={stats}"],
                       env, log_dir / "policy.log")
        goal = sample_targets(1, seed=0)[0]
        if not probe.wait_for(lambda: probe.policy_status.get("state") == "running" or policy.poll() is not None, 60):
            raise RuntimeError(f"the policy node did not reach 'running'; see {log_dir / 'policy.log'}")
        probe.hold_target(goal, 1.0 + seconds)
    finally:
        probe.close()
        if policy is not None:
            stop(policy)
        stop(sim)
    s = json.loads(stats.read_text())
    return {"rate_hz": rate_hz, "seconds": seconds, "realtime_priority": realtime_priority, **{k: s.get(k) for k in (
        "ticks", "period_ms", "period_mean_ms", "period_err_p50_ms", "period_err_p99_ms", "period_err_p99_frac",
        "missed_deadlines", "work_p99_ms", "inference_p99_ms", "stale_events", "state")}}


def bench_deploy(bundle_path, rates=(100.0, 500.0), seconds: float = 10.0, iterations: int = 5000,
                 realtime_priority: int = 0) -> dict:
    result = {"bundle": str(bundle_path), **bench_inference(bundle_path, iterations)}
    result["loops"] = [bench_loop(bundle_path, r, seconds, realtime_priority=realtime_priority) for r in rates]
    for loop in result["loops"]:
        tag = f"{int(loop['rate_hz'])}hz"
        result[f"period_err_p50_ms_{tag}"] = loop["period_err_p50_ms"]
        result[f"period_err_p99_ms_{tag}"] = loop["period_err_p99_ms"]
        result[f"period_err_p99_frac_{tag}"] = loop["period_err_p99_frac"]
    return result
