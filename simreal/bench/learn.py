"""``simreal bench learn``: wall-clock to a success threshold on the same env and machine.

All contenders train on the same simreal env through a recorder that watches finished
episodes; a contender "reaches" the threshold when the success rate over its last 200
finished episodes is at or above it. Contenders run one after another in one process,
each with the same wall-clock budget; times are reported with ratios against simreal.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import torch

from simreal.errors import InputError
from simreal.registry import make_env


class _Stop(Exception):
    pass


class SuccessRecorder:
    """Pass-through env wrapper that stops training at the threshold or the budget."""

    def __init__(self, env, threshold: float, budget_s: float, window: int = 200):
        self.env, self.threshold, self.budget_s = env, threshold, budget_s
        self.recent = deque(maxlen=window)
        self.start = time.perf_counter()
        self.reached_s = None
        self.env_steps = 0

    def __getattr__(self, name):
        return getattr(self.env, name)

    def step(self, actions):
        obs, rew, dones, extras = self.env.step(actions)
        self.env_steps += self.env.num_envs
        if dones.any():
            self.recent.extend(extras["episode_success"][dones].float().tolist())
        elapsed = time.perf_counter() - self.start
        if len(self.recent) == self.recent.maxlen and sum(self.recent) / len(self.recent) >= self.threshold:
            self.reached_s = elapsed
            raise _Stop
        if elapsed > self.budget_s:
            raise _Stop
        return obs, rew, dones, extras

    def result(self) -> dict:
        rate = sum(self.recent) / len(self.recent) if self.recent else 0.0
        return {"reached": self.reached_s is not None, "time_s": round(self.reached_s, 1) if self.reached_s else None,
                "final_success": round(rate, 3), "env_steps": self.env_steps,
                "wall_s": round(time.perf_counter() - self.start, 1)}


def _simreal(env, seed):
    from simreal.rl.config import default_cfg
    from simreal.rl.runner import Runner

    cfg = default_cfg(env.task_id, "ppo", {"num_envs": env.num_envs, "seed": seed, "steps": 10**12})
    Runner(cfg, env=env, log=False).train()


def _rsl_rl(env, seed):
    from rsl_rl.runners import OnPolicyRunner

    from simreal.rl.config import default_cfg

    ppo = default_cfg(env.task_id, "ppo").ppo  # the same hyper-parameters as simreal's PPO
    mlp = {"class_name": "MLPModel", "hidden_dims": [256, 128, 64], "activation": "elu", "obs_normalization": True}
    cfg = {
        "num_steps_per_env": ppo.num_steps, "save_interval": 10**9,
        "obs_groups": {"actor": ["policy"], "critic": ["policy", "critic"]},
        "algorithm": {"class_name": "PPO", "learning_rate": ppo.lr, "num_learning_epochs": ppo.epochs,
                      "num_mini_batches": ppo.minibatches, "clip_param": ppo.clip, "gamma": ppo.gamma, "lam": ppo.lam,
                      "entropy_coef": ppo.entropy_coef, "desired_kl": ppo.desired_kl,
                      "max_grad_norm": ppo.max_grad_norm},
        "actor": {**mlp, "distribution_cfg": {"class_name": "GaussianDistribution", "init_std": 1.0}},
        "critic": dict(mlp),
    }
    torch.manual_seed(seed)
    OnPolicyRunner(env, cfg, log_dir=None, device="cpu").learn(10**9)


def _sb3(env, seed):
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecEnv

    class SB3Adapter(VecEnv):
        """simreal env as an SB3 VecEnv (numpy; policy group only: SB3 has no asymmetric critic)."""

        def __init__(self, env):
            dim = env.get_observations()["policy"].shape[1]
            obs_space = gym.spaces.Box(-np.inf, np.inf, (dim,), np.float32)
            act_space = gym.spaces.Box(-1.0, 1.0, (env.num_actions,), np.float32)
            super().__init__(env.num_envs, obs_space, act_space)
            self.env, self._actions = env, None

        def reset(self):
            return self.env.get_observations()["policy"].numpy()

        def step_async(self, actions):
            self._actions = torch.as_tensor(actions, dtype=torch.float32)

        def step_wait(self):
            obs, rew, dones, extras = self.env.step(self._actions)
            o = obs["policy"].numpy()
            infos = [{} for _ in range(self.num_envs)]
            for i in torch.nonzero(extras["time_outs"]).flatten().tolist():
                infos[i]["TimeLimit.truncated"] = True
                infos[i]["terminal_observation"] = o[i]
            return o, rew.numpy(), dones.numpy(), infos

        def close(self):
            pass

        def get_attr(self, name, indices=None):
            return [None] * self.num_envs

        def set_attr(self, name, value, indices=None):
            pass

        def env_method(self, name, *args, indices=None, **kwargs):
            return [None] * self.num_envs

        def env_is_wrapped(self, wrapper_class, indices=None):
            return [False] * self.num_envs

    n = env.num_envs
    model = PPO("MlpPolicy", SB3Adapter(env), n_steps=24, batch_size=n * 24 // 4, n_epochs=5, learning_rate=1e-3,
                target_kl=0.02, ent_coef=0.005, seed=seed, verbose=0, device="cpu",
                policy_kwargs={"net_arch": [256, 128, 64], "activation_fn": torch.nn.ELU})
    model.learn(total_timesteps=10**12)


CONTENDERS = {"simreal": _simreal, "rsl_rl": _rsl_rl, "sb3": _sb3}


def bench_learn(task: str, threshold: float, budget_s: float, num_envs: int, seed: int, against: list[str]) -> dict:
    unknown = set(against) - set(CONTENDERS)
    if unknown:
        raise InputError(f"unknown baselines {sorted(unknown)}; choose from {sorted(set(CONTENDERS) - {'simreal'})}")
    results = {}
    for name in ["simreal", *against]:
        env = SuccessRecorder(make_env(task, num_envs=num_envs, seed=seed), threshold, budget_s)
        try:
            CONTENDERS[name](env, seed)
        except _Stop:
            pass
        results[name] = env.result()
        print(f"{name}: {results[name]}", flush=True)
    out = {"bench": "learn", "task": task, "threshold": threshold, "budget_s": budget_s, "num_envs": num_envs,
           "seed": seed, "results": results, "device": "cpu"}
    base = results["simreal"]["time_s"]
    for name in against:
        t = results[name]["time_s"]
        # > 1: simreal reached the threshold that many times sooner; budget_s stands in for "never"
        out[f"speedup_vs_{name}"] = round((t or budget_s) / base, 2) if base else None
    return out
