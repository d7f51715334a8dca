"""Evaluate a trained run: every env plays exactly one episode per round, so short
(failed) episodes are not over-counted. The deterministic policy (the mean action, what
export and deployment run) by default; ``stochastic=True`` samples actions as training
does, which tells whether a gap between training and eval success is the exploration noise.
``obs_noise={group: std}`` adds Gaussian noise to what the policy reads of a group (in the
group's own units), a quick look at how much sensor noise a policy tolerates."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from simreal.errors import InputError
from simreal.rl.checkpoint import CheckpointError, existing_checkpoint, load_checkpoint, restore
from simreal.rl.config import TrainCfg, apply_torch_threads, from_dict, load_yaml
from simreal.rl.factory import build_algorithm, load_physics_for, make_env_for
from simreal.rl.provenance import warn_if_task_changed


def load_run(run_dir: str | Path, which: str = "best", num_envs: int | None = None, seed: int | None = None,
             physics=None):
    """(cfg, env, algo) of a run directory, parameters restored from ``which`` checkpoint
    ("best" falls back to "latest" when no best exists yet). The env plays the task's own
    randomization (a run's ADR curriculum is training's only); ``physics`` (an ArmPhysics)
    fixes the arm's."""
    run_dir = Path(run_dir)
    cfg = run_cfg(run_dir)
    apply_torch_threads(cfg)
    warn_if_task_changed(run_dir, cfg.task)
    path = existing_checkpoint(run_dir, which)
    state = load_checkpoint(path)
    env = make_env_for(cfg, num_envs=num_envs, seed=seed, training=False, physics=physics)
    algo = build_algorithm(cfg, env, env.get_observations())
    restore(algo, state, path)
    algo.actor.eval()  # freezes the normalizer
    return cfg, env, algo


def run_cfg(run_dir: str | Path) -> TrainCfg:
    """The TrainCfg a run directory was trained with (its config.yaml)."""
    cfg_path = Path(run_dir) / "config.yaml"
    if not cfg_path.is_file():
        raise CheckpointError(f"{run_dir} is not a simreal run directory (no config.yaml)")
    try:
        return from_dict(TrainCfg, load_yaml(cfg_path))
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{cfg_path} does not match this version of simreal's TrainCfg: {err}") from err


class Policy:
    """The deterministic policy of ``actor`` as ``policy(obs) -> actions``; with a
    ``generator``, actions sampled from the actor's distribution instead (reproducibly). A
    recurrent actor carries its hidden state from call to call; ``reset(dones)`` zeroes it
    for the envs whose episode ended (call it after every env step; a no-op for MLP actors)."""

    def __init__(self, actor, generator: torch.Generator | None = None):
        self.actor = actor
        self.generator = generator
        self.recurrent = getattr(actor, "is_recurrent", False)
        self.state = None

    @torch.no_grad()
    def __call__(self, obs) -> torch.Tensor:
        x = self.actor.inputs(obs)
        if self.recurrent:
            if self.state is None:
                self.state = self.actor.initial_state(x.shape[0])
            if self.generator is not None:
                dist, self.state = self.actor.distribution(x, self.state)
                return self._sample(dist.mean, dist.stddev)
            actions, self.state = self.actor.step(x, self.state)
            return actions
        if self.generator is None:
            return self.actor(x)
        if hasattr(self.actor, "sample"):  # squashed Gaussian (SAC, DSAC-T)
            return self.actor.sample(x, generator=self.generator)[0]
        dist = self.actor.distribution(x)
        return self._sample(dist.mean, dist.stddev)

    def _sample(self, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        return mean + std * torch.randn(mean.shape, generator=self.generator, device=mean.device, dtype=mean.dtype)

    def reset(self, dones: torch.Tensor | None = None) -> None:
        """Zero the hidden state of the envs in ``dones`` (B,) bool; of all envs when None."""
        if self.state is not None:
            self.state = None if dones is None else self.actor.reset_state(self.state, dones)


def evaluate(run_dir: str | Path, episodes: int = 100, num_envs: int | None = None, seed: int = 12345,
             which: str = "best", stochastic: bool = False, obs_noise: dict[str, float] | None = None,
             physics_file: str | Path | None = None) -> dict:
    """``physics_file``: play on an arm with that file's physics (as ``train --physics``), fixed
    for every episode; its command latency is not simulated (the env's latency is
    ``actions.max_latency_steps``: ``deploy-demo --physics`` applies it)."""
    obs_noise = obs_noise or {}
    physics = None
    if physics_file is not None:
        physics = load_physics_for(run_cfg(run_dir).task, physics_file)
        if physics.command_latency_s > 0:
            print(f"--physics {physics_file}: its command latency ({1e3 * physics.command_latency_s:.1f} ms) is not "
                  "simulated here (the env's is actions.max_latency_steps); deploy-demo --physics applies it",
                  file=sys.stderr)
    per_round = min(episodes, num_envs or 512)
    successes, returns = [], []
    have_success = False
    rnd = 0
    while len(returns) < episodes:
        cfg, env, algo = load_run(run_dir, which, num_envs=per_round, seed=seed + rnd, physics=physics)
        unread = set(obs_noise) - set(algo.actor.groups)
        if unread:
            raise InputError(f"obs_noise names groups {sorted(unread)} that the policy does not read; "
                             f"it reads {algo.actor.groups}")
        if stochastic and cfg.algo == "distill":
            raise InputError(f"{run_dir} was trained by distill, which fits only the mean action; its std was "
                             "never trained, so a stochastic eval means nothing: leave out --stochastic")
        gen = torch.Generator(device=env.device).manual_seed(seed + rnd)
        act = Policy(algo.actor, gen if stochastic else None)
        obs = env.get_observations()
        ret = torch.zeros(per_round, device=env.device)
        done_once = torch.zeros(per_round, dtype=torch.bool, device=env.device)
        for _ in range(int(env.max_episode_length) + 1):
            seen = obs.copy() if obs_noise else obs  # shallow: noisy groups are new tensors
            for g, std in obs_noise.items():
                seen[g] = seen[g] + std * torch.randn(seen[g].shape, generator=gen, device=env.device)
            obs, rew, dones, extras = env.step(act(seen))
            act.reset(dones)
            ret += torch.where(done_once, 0.0, rew)
            first = dones & ~done_once
            if first.any():
                returns.extend(ret[first].tolist())
                if "episode_success" in extras:
                    have_success = True
                    successes.extend(extras["episode_success"][first].float().tolist())
                done_once |= first
            if done_once.all():
                break
        rnd += 1
    n = min(episodes, len(returns))
    result = {"run_dir": str(run_dir), "task": cfg.task, "algo": cfg.algo, "episodes": n,
              "policy": "stochastic" if stochastic else "deterministic",
              **({"obs_noise": obs_noise} if obs_noise else {}),
              **({"physics": physics.to_dict()} if physics is not None else {}),
              "mean_return": round(sum(returns[:n]) / n, 4),
              "success_rate": round(sum(successes[:n]) / n, 4) if have_success else None}
    return result
