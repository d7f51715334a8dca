"""Build envs and models from a TrainCfg; each algorithm's module builds the algorithm
itself (``simreal.rl.algorithms.algorithm(cfg.algo).build``)."""

from __future__ import annotations

from pathlib import Path

import torch

from simreal.errors import InputError
from simreal.rl.algorithms import algorithm
from simreal.rl.config import TrainCfg
from simreal.rl.models.actor import GaussianActor
from simreal.rl.models.recurrent import RecurrentGaussianActor


def make_env_for(cfg: TrainCfg, num_envs: int | None = None, seed: int | None = None, training: bool = True,
                 physics=None):
    """A simreal task id, or ``gym:<id>`` for any Gymnasium environment. ``training=False``
    (eval, export, play): no ADR, so the policy plays the task's own randomization.
    ``physics`` (an ArmPhysics): the arm's physics, fixed for every episode."""
    num_envs = num_envs or cfg.num_envs
    seed = cfg.seed if seed is None else seed
    if cfg.task.startswith("gym:"):
        if physics is not None:
            raise InputError("--physics applies to simreal's arm tasks, not gym:<id> tasks")
        from simreal.envs.gym_adapter import GymVecEnv

        return GymVecEnv(cfg.task[4:], num_envs=num_envs, seed=seed, device=cfg.device, **cfg.env)
    from simreal.envs.env import ManipulationEnv
    from simreal.mdp.events import fix_arm_physics
    from simreal.registry import task_cfg

    backend = {"backend": "mujoco_warp"} if cfg.device.startswith("cuda") else {}
    env_cfg = {"obs_groups": groups_read(cfg), **cfg.env}
    if not training:
        env_cfg.pop("adr", None)
    task = task_cfg(cfg.task, num_envs=num_envs, seed=seed, device=cfg.device, **backend, **env_cfg)
    if physics is not None:
        fix_arm_physics(task, physics)
    return ManipulationEnv(task, task_id=cfg.task)


def load_physics_for(task: str, path: str | Path):
    """The ``--physics`` file ``path`` (checked) for ``task``'s arm, as an ArmPhysics."""
    if task.startswith("gym:"):
        raise InputError("--physics applies to simreal's arm tasks, not gym:<id> tasks")
    from simreal.registry import task_cfg
    from simreal.robots import get_robot
    from simreal.robots.physics import load_physics

    return load_physics(path, get_robot(task_cfg(task).scene.robot).num_joints)


def groups_read(cfg: TrainCfg) -> list[str]:
    """The observation groups some model of this run reads; the env computes only these."""
    return list(dict.fromkeys(algorithm(cfg.algo).groups(cfg)))


def build_algorithm(cfg: TrainCfg, env, obs):
    """The algorithm of ``cfg.algo`` with fresh models (no teacher weights: see AlgorithmSpec.start)."""
    if cfg.critic.rnn_type:
        raise InputError(f"critic.rnn_type={cfg.critic.rnn_type!r}: the critic is an MLP (it reads privileged "
                         "state); only the actor can be recurrent. Remove critic.rnn_type")
    return algorithm(cfg.algo).build(cfg, env, obs)


def action_bounds(env) -> tuple[torch.Tensor, torch.Tensor]:
    if hasattr(env, "action_low"):
        return env.action_low, env.action_high
    clip = float(env.cfg.actions.clip)
    ones = torch.ones(env.num_actions, device=env.device)
    return -clip * ones, clip * ones


def gaussian_actor(cfg: TrainCfg, obs, num_actions: int, recurrent_ok: bool):
    """The Gaussian (PPO-style) actor of ``cfg.actor``: an MLP, or recurrent with ``rnn_type``."""
    a = cfg.actor
    if not recurrent_ok:
        refuse_recurrent_actor(cfg)
    if a.rnn_type:
        return RecurrentGaussianActor(obs, a.groups, num_actions, a.hidden, a.activation, a.init_std, a.normalize,
                                      a.images, a.rnn_type, a.rnn_hidden, a.rnn_layers).to(cfg.device)
    return GaussianActor(obs, a.groups, num_actions, a.hidden, a.activation, a.init_std, a.normalize,
                         a.images).to(cfg.device)


def refuse_recurrent_actor(cfg: TrainCfg) -> None:
    if cfg.actor.rnn_type:
        raise InputError(f"actor.rnn_type={cfg.actor.rnn_type!r}: only PPO and AACD support recurrent actors, not "
                         f"{cfg.algo}; remove actor.rnn_type or train with --algo ppo")
