"""``simreal rollout``: run a task for a while and report what happened.

Without a policy the actions are random, which shows the task, its rewards, resets and
speed; a trained policy plugs in through ``policy(obs) -> actions`` (with a ``reset(dones)``
method, a recurrent one hears of every episode end).
"""

from __future__ import annotations

import time
from typing import Callable

import torch
from tqdm import tqdm

from simreal.registry import make_env


def rollout(task: str, num_envs: int = 256, steps: int = 300, seed: int = 0,
            policy: Callable | None = None, action_std: float = 0.5, progress: bool = True,
            env_overrides: dict | None = None) -> dict:
    env = make_env(task, num_envs=num_envs, seed=seed, **(env_overrides or {}))
    gen = torch.Generator(device=env.device).manual_seed(seed)
    obs = env.get_observations()
    episodes = successes = 0
    returns = torch.zeros(num_envs, device=env.device)
    finished_returns = []
    start = time.perf_counter()
    # disable=None: tqdm shows the bar only on a terminal
    for _ in tqdm(range(steps), desc=f"{task} x{num_envs}", unit="step", disable=None if progress else True,
                  leave=False):
        if policy is None:
            actions = action_std * torch.randn(num_envs, env.num_actions, generator=gen, device=env.device)
        else:
            actions = policy(obs)
        obs, rewards, dones, extras = env.step(actions)
        if hasattr(policy, "reset"):
            policy.reset(dones)
        returns += rewards
        if dones.any():
            episodes += int(dones.sum())
            successes += int(extras["episode_success"].sum())
            finished_returns.extend(returns[dones].tolist())
            returns[dones] = 0.0
    elapsed = time.perf_counter() - start
    return {
        "task": task,
        "num_envs": num_envs,
        "steps": steps,
        "policy": "random" if policy is None else "given",
        "episodes": episodes,
        "success_rate": round(successes / episodes, 4) if episodes else None,
        "mean_return": round(sum(finished_returns) / len(finished_returns), 4) if finished_returns else None,
        "env_steps_per_s": round(steps * num_envs / elapsed, 1),
        "nan_actions": env.counters["nan_actions"],
        "diverged": env.counters["diverged"],
        "control_dt_s": env.step_dt,
        "obs_dims": env.observation_dims(),
        "num_actions": env.num_actions,
    }
