"""Build envs, models and algorithms from a TrainCfg."""

from __future__ import annotations

import torch

from simreal.errors import InputError
from simreal.rl.algorithms.ppo import PPO
from simreal.rl.algorithms.sac import SAC
from simreal.rl.config import TrainCfg
from simreal.rl.models.actor import GaussianActor, SquashedGaussianActor
from simreal.rl.models.critic import GaussianQCritic, QCritic, ValueCritic
from simreal.rl.models.recurrent import RecurrentGaussianActor


def make_env_for(cfg: TrainCfg, num_envs: int | None = None, seed: int | None = None):
    """A simreal task id, or ``gym:<id>`` for any Gymnasium environment."""
    num_envs = num_envs or cfg.num_envs
    seed = cfg.seed if seed is None else seed
    if cfg.task.startswith("gym:"):
        from simreal.envs.gym_adapter import GymVecEnv

        return GymVecEnv(cfg.task[4:], num_envs=num_envs, seed=seed, device=cfg.device, **cfg.env)
    from simreal.registry import make_env

    backend = {"backend": "mujoco_warp"} if cfg.device.startswith("cuda") else {}
    env_cfg = {"obs_groups": groups_read(cfg), **cfg.env}
    return make_env(cfg.task, num_envs=num_envs, seed=seed, device=cfg.device, **backend, **env_cfg)


def groups_read(cfg: TrainCfg) -> list[str]:
    """The observation groups some model of this run reads (the distillation teacher's too);
    the env computes only these."""
    groups = [*cfg.actor.groups, *cfg.critic.groups]
    if cfg.algo == "distill":
        from simreal.rl.algorithms.aacd import teacher_cfg

        groups += teacher_cfg(cfg).actor.groups
    return list(dict.fromkeys(groups))


def action_bounds(env) -> tuple[torch.Tensor, torch.Tensor]:
    if hasattr(env, "action_low"):
        return env.action_low, env.action_high
    clip = float(env.cfg.actions.clip)
    ones = torch.ones(env.num_actions, device=env.device)
    return -clip * ones, clip * ones


def build_algorithm(cfg: TrainCfg, env, obs):
    """The algorithm with fresh models for ``cfg.algo`` (AACD loads its teacher separately)."""
    device, A = cfg.device, env.num_actions
    a, c = cfg.actor, cfg.critic
    if c.rnn_type:
        raise InputError(f"critic.rnn_type={c.rnn_type!r}: the critic is an MLP (it reads privileged state); "
                         "only the actor can be recurrent. Remove critic.rnn_type")
    if a.rnn_type and cfg.algo not in ("ppo", "aacd"):
        raise InputError(f"actor.rnn_type={a.rnn_type!r}: only PPO and AACD support recurrent actors, not "
                         f"{cfg.algo}; remove actor.rnn_type or train with --algo ppo")
    if cfg.algo == "distill":
        from simreal.rl.algorithms.distill import Distillation, DistillCfg, load_teacher_actor

        student = GaussianActor(obs, a.groups, A, a.hidden, a.activation, a.init_std, a.normalize, a.images).to(device)
        dcfg = DistillCfg(num_steps=cfg.ppo.num_steps, epochs=cfg.ppo.epochs, minibatches=cfg.ppo.minibatches,
                          lr=cfg.ppo.lr, beta_decay_iters=cfg.teacher.beta_decay_iters)
        return Distillation(student, load_teacher_actor(cfg, env, obs), dcfg, env.num_envs, device, seed=cfg.seed)
    if cfg.algo in ("ppo", "aacd"):
        if a.rnn_type:
            actor = RecurrentGaussianActor(obs, a.groups, A, a.hidden, a.activation, a.init_std, a.normalize, a.images,
                                           a.rnn_type, a.rnn_hidden, a.rnn_layers).to(device)
        else:
            actor = GaussianActor(obs, a.groups, A, a.hidden, a.activation, a.init_std, a.normalize, a.images).to(device)
        critic = ValueCritic(obs, c.groups, c.hidden, c.activation, c.normalize, c.images).to(device)
        return PPO(actor, critic, cfg.ppo, env.num_envs, device, seed=cfg.seed)
    if cfg.algo in ("sac", "dsac"):
        low, high = action_bounds(env)
        actor = SquashedGaussianActor(obs, a.groups, A, a.hidden, a.activation, a.normalize,
                                      action_scale=(high - low) / 2, action_bias=(high + low) / 2, images=a.images).to(device)
        critic_cls = GaussianQCritic if cfg.algo == "dsac" else QCritic
        critics = [critic_cls(obs, c.groups, A, c.hidden, c.activation, c.normalize, images=c.images).to(device)
                   for _ in range(2)]
        return SAC(actor, *critics, cfg.sac, env.num_envs, device, seed=cfg.seed, distributional=cfg.algo == "dsac")
    raise InputError(f"unknown algorithm {cfg.algo!r}")
