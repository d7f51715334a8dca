"""``simreal bench offpolicy``: off-policy learners on a Gymnasium task at equal env steps.

Each contender and seed trains for ``steps`` env steps, then its deterministic policy plays
``episodes`` episodes (one per env, the same seeds for every contender, through the same
:class:`GymVecEnv`). ``against=["sb3"]`` adds Stable-Baselines3's SAC built from simreal's
own SAC config (network sizes, learning rate, batch, buffer, UTD, learning starts, tau,
gamma, initial temperature, target entropy), so the two differ only in their code.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np
import torch

from simreal.envs.gym_adapter import GymVecEnv
from simreal.errors import InputError
from simreal.rl.config import apply_overrides, default_cfg


def deterministic_return(task: str, policy, episodes: int, seed: int) -> float:
    """Mean return of ``policy(obs (B, obs_dim) float32 tensor) -> actions (B, A)`` over one
    episode in each of ``episodes`` envs seeded ``seed, seed + 1, ...``."""
    env = GymVecEnv(task.removeprefix("gym:"), num_envs=episodes, seed=seed)
    ret = torch.zeros(episodes)
    done_once = torch.zeros(episodes, dtype=torch.bool)
    obs = env.get_observations()
    with torch.no_grad():
        for _ in range(int(env.max_episode_length) + 1):
            obs, rew, dones, _ = env.step(policy(obs["policy"]))
            ret += torch.where(done_once, 0.0, rew)
            done_once |= dones
            if done_once.all():
                break
    env.close()
    return float(ret.mean())


def _cfg(task: str, algo: str, seed: int, sets: list[str], steps: int | None = None):
    """simreal's config for the run: the task's defaults, then ``sets`` (``key=value``, as train's ``--set``)."""
    return apply_overrides(default_cfg(task, algo, {"seed": seed, **({"steps": steps} if steps else {})}), sets)


def _simreal(task: str, algo: str, steps: int, seed: int, episodes: int, sets: list[str]) -> dict:
    from simreal.rl.runner import Runner

    cfg = _cfg(task, algo, seed, sets, steps)
    with tempfile.TemporaryDirectory() as run_dir:
        runner = Runner(cfg, run_dir=run_dir, log=False)
        start = time.perf_counter()
        runner.train()
        wall = time.perf_counter() - start
    actor = runner.algo.actor.eval()  # eval mode freezes the normalizer, as export does
    return {"seed": seed, "mean_return": deterministic_return(task, actor, episodes, 1000 + seed),
            "train_s": round(wall, 1), "s_per_step": wall / steps}


def sb3_sac_kwargs(task: str, seed: int, sets: list[str] = ()) -> dict:
    """Stable-Baselines3 ``SAC(...)`` keyword arguments matching simreal's SAC config (with ``sets``)."""
    cfg = _cfg(task, "sac", seed, list(sets))
    s = cfg.sac
    if not s.lr_actor == s.lr_critic == s.lr_alpha:
        raise InputError(f"SB3's SAC has one learning rate; simreal's config has lr_actor={s.lr_actor}, "
                         f"lr_critic={s.lr_critic}, lr_alpha={s.lr_alpha}: set them equal to compare")
    if cfg.num_envs != 1:
        raise InputError(f"the comparison runs one env (SB3's reference setting); {task}'s config has "
                         f"num_envs={cfg.num_envs}")
    if cfg.actor.activation != "relu" or cfg.critic.activation != "relu":
        raise InputError("SB3's SAC uses ReLU; the simreal config's actor/critic activation must be relu to compare")
    kwargs = {
        "learning_rate": s.lr_critic, "buffer_size": s.buffer_size, "learning_starts": s.learning_starts,
        "batch_size": s.batch_size, "tau": s.tau, "gamma": s.gamma, "train_freq": 1,
        "gradient_steps": max(1, round(s.utd_ratio)), "ent_coef": f"auto_{s.init_alpha}",
        "policy_kwargs": {"net_arch": {"pi": list(cfg.actor.hidden), "qf": list(cfg.critic.hidden)}},
        "seed": seed, "device": "cpu", "verbose": 0,
    }
    if s.target_entropy is not None:
        kwargs["target_entropy"] = s.target_entropy
    return kwargs


def _sb3(task: str, steps: int, seed: int, episodes: int, sets: list[str]) -> dict:
    import gymnasium as gym
    from stable_baselines3 import SAC

    torch.set_num_threads(1)  # as simreal's torch_threads default
    model = SAC("MlpPolicy", gym.make(task.removeprefix("gym:")), **sb3_sac_kwargs(task, seed, sets))
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    wall = time.perf_counter() - start

    def policy(obs: torch.Tensor) -> torch.Tensor:
        actions, _ = model.predict(obs.numpy().astype(np.float64), deterministic=True)
        return torch.as_tensor(actions, dtype=torch.float32)

    return {"seed": seed, "mean_return": deterministic_return(task, policy, episodes, 1000 + seed),
            "train_s": round(wall, 1), "s_per_step": wall / steps}


def bench_offpolicy(task: str, steps: int, seeds: list[int], algos: list[str], episodes: int = 10,
                    bar: float = -250.0, against: list[str] | None = None, sets: list[str] | None = None) -> dict:
    """simreal's ``algos`` (sac, dsac) and the baselines in ``against`` (sb3: its SAC), each
    for every seed; per contender, the runs and their mean return and wall-clock per env step.
    ``sets`` override simreal's config (``key=value``); the SB3 settings are read from it too."""
    against, sets = against or [], list(sets or [])
    unknown = set(against) - {"sb3"}
    if unknown:
        raise InputError(f"unknown baselines {sorted(unknown)}; the off-policy bench compares against: sb3")
    if not task.startswith("gym:"):
        raise InputError(f"the off-policy bench runs Gymnasium tasks (gym:<id>), not {task!r}")
    for algo in algos:  # a bad --set, or settings SB3 cannot share, fail here, before any training
        _cfg(task, algo, seeds[0], sets)
    if "sb3" in against:
        sb3_sac_kwargs(task, seeds[0], sets)
    contenders = {a: (lambda seed, a=a: _simreal(task, a, steps, seed, episodes, sets)) for a in algos}
    if "sb3" in against:
        contenders["sb3_sac"] = lambda seed: _sb3(task, steps, seed, episodes, sets)
    results: dict = {}
    for name, train in contenders.items():
        runs = []
        for seed in seeds:
            runs.append(train(seed))
            print(f"{name} seed {seed}: {runs[-1]}", flush=True)
        results[name] = {
            "runs": runs, "mean_return": round(float(np.mean([r["mean_return"] for r in runs])), 2),
            "s_per_step": float(np.mean([r["s_per_step"] for r in runs])),
            "all_seeds_pass": all(r["mean_return"] >= bar for r in runs),
        }
    settings = None
    if against:
        settings = {k: v for k, v in sb3_sac_kwargs(task, 0, sets).items() if k not in ("seed", "device", "verbose")}
    return {"bench": "offpolicy", "task": task, "steps": steps, "seeds": seeds, "episodes": episodes, "bar": bar,
            "sets": sets, "shared_settings": settings, "results": results}
