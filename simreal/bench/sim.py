"""``simreal bench sim``: whole environment steps per second against raw batched physics.

Both rates are measured in the same process, in alternating rounds, so that a shared,
noisy machine slows both alike; the ratio is the figure of merit.

* env: ``env.step(random actions)`` — actions, physics, observations (with noise),
  rewards, terminations, resets, randomization events; episode ends are spread
  uniformly over the envs, as in training.
* raw: a second backend instance of the same compiled model, started from the env's
  state and controls, doing only ``step(decimation)`` (for the CPU backend, exactly one
  ``mujoco.batch.Batch.step`` call per env step).
"""

from __future__ import annotations

import resource
import statistics
import time

import torch

from simreal.registry import make_env
from simreal.sim import make_backend


def _rate(fn, num_envs: int, seconds: float) -> float:
    steps = 0
    start = time.perf_counter()
    while True:
        fn()
        steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps * num_envs / elapsed


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def bench_sim(task: str, num_envs: int, seconds: float = 6.0, rounds: int = 3, backend: str = "mujoco",
              device: str = "cpu", nthread: int = 0, seed: int = 0, progress=None) -> dict:
    env = make_env(task, num_envs=num_envs, backend=backend, device=device, nthread=nthread, seed=seed)
    gen = torch.Generator(device=env.device).manual_seed(seed)
    # Spread episode ends uniformly, as in training: every step resets ~1/episode_length of the
    # envs, so the measured rate includes resets and randomization events at their real share.
    env.episode_length_buf[:] = torch.randint(0, env.max_episode_length, (num_envs,), generator=gen, device=env.device)
    for _ in range(3):
        env.step(2.0 * torch.rand(num_envs, env.num_actions, generator=gen, device=env.device) - 1.0)
    env_rss_mb = _peak_rss_mb()  # before the baseline's copy of the simulation exists
    raw = make_backend(env.model, num_envs, backend=backend, device=device, nthread=nthread)

    def sync_raw():  # the baseline starts each round from the env's current state and controls
        raw.reset(torch.arange(num_envs, device=raw.device), qpos=env.backend.qpos.clone(),
                  qvel=env.backend.qvel.clone())
        raw.ctrl[:] = env.backend.ctrl
        raw.mocap_pos[:] = env.backend.mocap_pos

    sync_raw()
    decimation = env.cfg.decimation

    def env_step():
        env.step(2.0 * torch.rand(num_envs, env.num_actions, generator=gen, device=env.device) - 1.0)

    def raw_step():
        raw.step(decimation)

    sync = torch.cuda.synchronize if env.device.type == "cuda" else (lambda: None)

    def timed(fn):
        def run():
            fn()
            sync()
        return run

    _rate(timed(env_step), num_envs, 0.5)  # warm-up (Warp compiles / captures graphs here)
    _rate(timed(raw_step), num_envs, 0.5)
    env_rates, raw_rates = [], []
    for r in range(rounds):
        env_rates.append(_rate(timed(env_step), num_envs, seconds / 2))
        sync_raw()
        raw_rates.append(_rate(timed(raw_step), num_envs, seconds / 2))
        if progress:
            progress(r + 1, rounds, env_rates[-1], raw_rates[-1])
    ratios = [e / r for e, r in zip(env_rates, raw_rates)]
    env_rate, raw_rate = statistics.median(env_rates), statistics.median(raw_rates)
    return {
        "bench": "sim",
        "task": task,
        "backend": backend,
        "device": (str(env.device) if env.device.type != "cpu"
                   else f"cpu ({env.backend.nthread if hasattr(env.backend, 'nthread') else '?'} threads)"),
        "num_envs": num_envs,
        "decimation": decimation,
        "env_steps_per_s": round(env_rate, 1),
        "raw_env_steps_per_s": round(raw_rate, 1),
        "ratio": round(statistics.median(ratios), 3),
        "ratio_per_round": [round(x, 3) for x in ratios],
        "physics_steps_per_s": round(env_rate * decimation, 1),
        "env_peak_rss_mb": env_rss_mb,  # process peak with the env alone (python, torch, env)
        "peak_rss_mb": _peak_rss_mb(),  # process peak including the baseline's second simulation
    }
