"""SAC with automatic temperature, and DSAC-T (Duan et al. 2023) on the same machinery.

Both collect from every env at each step into a replay buffer on the env's device and
run ``utd_ratio * num_envs`` gradient updates per env step (at least one). DSAC-T swaps
the twin Q critics for twin Gaussian return distributions with expected-value
substitution, target clipping and variance-based gradient scaling (see losses.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from simreal.rl import losses
from simreal.rl.algorithms import AlgorithmSpec
from simreal.rl.optim import gradient_step
from simreal.rl.storage.replay import ReplayBuffer


@dataclass
class SACCfg:
    lr_actor: float = 3e-4
    lr_critic: float = 3e-4
    lr_alpha: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005  # target network Polyak rate
    batch_size: int = 256
    buffer_size: int = 500_000
    utd_ratio: float = 1.0  # gradient updates per collected transition
    learning_starts: int = 1000  # transitions collected with uniform random actions first
    init_alpha: float = 1.0
    target_entropy: float | None = None  # default -|A|
    std_clip_k: float = 3.0  # DSAC-T: targets clipped to Q +- k E[std]
    std_eps: float = 0.1  # DSAC-T: gradient scale E[std]^2 + eps
    std_tau: float = 0.005  # DSAC-T: rate of the running E[std]
    max_grad_norm: float = 10.0

    LIMITS: ClassVar[dict] = {"lr_actor": (1e-12, None), "lr_critic": (1e-12, None), "lr_alpha": (1e-12, None),
                              "gamma": (0.0, 1.0), "tau": (1e-12, 1.0), "batch_size": (1, None),
                              "buffer_size": (1, None),
                              "utd_ratio": (1e-6, None), "learning_starts": (0, None), "init_alpha": (1e-12, None),
                              "std_clip_k": (1e-6, None), "std_eps": (0.0, None), "std_tau": (1e-12, 1.0),
                              "max_grad_norm": (1e-12, None)}


class SAC:
    on_policy = False

    def __init__(self, actor, critic1, critic2, cfg: SACCfg, num_envs: int, device, seed: int = 0,
                 distributional: bool = False):
        self.actor, self.critics, self.cfg = actor, nn.ModuleList([critic1, critic2]), cfg
        self.distributional = distributional
        self.device = torch.device(device)
        self.num_envs = num_envs
        self.target_critics = copy.deepcopy(self.critics).requires_grad_(False)
        self.log_alpha = torch.tensor(float(cfg.init_alpha), device=self.device).log().requires_grad_(True)
        self.target_entropy = cfg.target_entropy if cfg.target_entropy is not None else -float(actor.num_actions)
        # foreach: one fused update over all tensors instead of a Python loop per tensor
        self.actor_opt = torch.optim.Adam(actor.parameters(), lr=cfg.lr_actor, foreach=True)
        self.critic_opt = torch.optim.Adam(self.critics.parameters(), lr=cfg.lr_critic, foreach=True)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=cfg.lr_alpha)
        self._actor_params, self._critic_params = list(actor.parameters()), list(self.critics.parameters())
        # the four critics read the same stream: one normalizer update, copied to the others
        self._critic_stats = [list(c.normalizer.buffers()) for c in (*self.critics, *self.target_critics)]
        self._target_params = list(self.target_critics.parameters())
        self.buffer = ReplayBuffer(cfg.buffer_size, actor.obs_dim, critic1.obs_dim, actor.num_actions, self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.std_scale = torch.ones(2, device=self.device)  # DSAC-T running E[std] per critic
        self.collected = 0
        self._last = None
        self._ready = False

    @property
    def alpha(self) -> torch.Tensor:
        return self.log_alpha.exp()

    @torch.no_grad()
    def act(self, obs) -> torch.Tensor:
        actor_in, critic_in = self.actor.inputs(obs), self.critics[0].inputs(obs)
        self.actor.update_normalizer(actor_in)
        self.critics[0].update_normalizer(critic_in)
        if self._critic_stats[0]:
            for stats in self._critic_stats[1:]:
                torch._foreach_copy_(stats, self._critic_stats[0])
        if self.collected < self.cfg.learning_starts:
            u = 2.0 * torch.rand(actor_in.shape[0], self.actor.num_actions, generator=self.generator,
                                 device=self.device) - 1.0
            actions = u * self.actor.action_scale + self.actor.action_bias
        else:
            actions, _ = self.actor.sample(actor_in)
        self._last = (actor_in, critic_in, actions)
        return actions

    @torch.no_grad()
    def process_step(self, rewards, dones, extras, next_obs) -> None:
        """Store the step's transitions. The bootstrap mask is termination only: a time-out
        (truncation) is bootstrapped from the observation the step reached, which envs that
        auto-reset give as ``extras["final_obs"]``; an env that does not give it has already
        replaced a done env's observation with the next episode's, so its time-outs are
        dropped instead (a terminated step's next observation is masked out either way)."""
        actor_in, critic_in, actions = self._last
        time_outs = extras["time_outs"]
        terminated = dones & ~time_outs
        reached = extras.get("final_obs")
        valid = None if reached is not None else ~time_outs
        reached = next_obs if reached is None else reached
        self.buffer.add(actor_in, critic_in, actions, rewards, terminated, self.actor.inputs(reached),
                        self.critics[0].inputs(reached), valid=valid)
        self.collected += actor_in.shape[0]
        self._ready = self.collected >= self.cfg.learning_starts

    @property
    def ready(self) -> bool:
        return self._ready

    def update(self, obs=None) -> dict:
        n_updates = max(1, round(self.cfg.utd_ratio * self.num_envs))
        stats = {"critic_loss": 0.0, "actor_loss": 0.0, "alpha": 0.0, "entropy": 0.0}
        for _ in range(n_updates):
            batch = self.buffer.sample(self.cfg.batch_size, self.generator)
            stats["critic_loss"] += self._update_critics(batch)
            a_loss, entropy = self._update_actor_and_alpha(batch)
            stats["actor_loss"] += a_loss
            stats["entropy"] += entropy
            self._soft_update()
        out = {k: v / n_updates for k, v in stats.items()}
        out["alpha"] = self.alpha.item()
        if self.distributional:
            out["mean_std"] = self.std_scale.mean().item()
        return out

    def _update_critics(self, b) -> float:
        cfg = self.cfg
        with torch.no_grad():
            next_a, next_logp = self.actor.sample(b["next_actor_in"])
            if self.distributional:
                (m1, s1), (m2, s2) = (c(b["next_critic_in"], next_a) for c in self.target_critics)
                pick1 = m1 <= m2  # the twin with the smaller mean
                next_mean, next_std = torch.where(pick1, m1, m2), torch.where(pick1, s1, s2)
                noise = torch.randn(next_mean.shape, generator=self.generator, device=self.device)
                y_mean, y_sample = losses.dsac_target(b["rewards"], b["dones"], next_mean, next_std, next_logp,
                                                      self.alpha, cfg.gamma, noise)
            else:
                q1, q2 = (c(b["next_critic_in"], next_a) for c in self.target_critics)
                y = losses.sac_q_target(b["rewards"], b["dones"], q1, q2, next_logp, self.alpha, cfg.gamma)
        loss = 0.0
        for i, critic in enumerate(self.critics):
            if self.distributional:
                mean, std = critic(b["critic_in"], b["actions"])
                with torch.no_grad():
                    self.std_scale[i] += cfg.std_tau * (std.mean() - self.std_scale[i])
                loss = loss + losses.dsac_critic_loss(mean, std, y_mean, y_sample, self.std_scale[i],
                                                      cfg.std_clip_k, cfg.std_eps)
            else:
                loss = loss + ((critic(b["critic_in"], b["actions"]) - y) ** 2).mean()
        gradient_step(self.critic_opt, loss, self._critic_params, cfg.max_grad_norm, "critic loss")
        return loss.item()

    def _q_for_actor(self, critic_in, a):
        qs = [c(critic_in, a) for c in self.critics]
        if self.distributional:
            qs = [q[0] for q in qs]  # the mean of each return distribution
        return torch.min(qs[0], qs[1])

    def _update_actor_and_alpha(self, b) -> tuple[float, float]:
        self._critics_require_grad(False)
        a, logp = self.actor.sample(b["actor_in"])
        actor_loss = (self.alpha.detach() * logp - self._q_for_actor(b["critic_in"], a)).mean()
        gradient_step(self.actor_opt, actor_loss, self._actor_params, self.cfg.max_grad_norm, "actor loss")
        self._critics_require_grad(True)
        alpha_loss = losses.sac_temperature_loss(self.log_alpha, logp, self.target_entropy)
        gradient_step(self.alpha_opt, alpha_loss, [self.log_alpha], None, "temperature loss")
        return actor_loss.item(), -logp.mean().item()

    def _critics_require_grad(self, on: bool) -> None:
        for p in self._critic_params:  # a flat loop: Module.requires_grad_ walks the module tree each call
            p.requires_grad_(on)

    @torch.no_grad()
    def _soft_update(self) -> None:
        torch._foreach_lerp_(self._target_params, self._critic_params, self.cfg.tau)

    def state_dict(self) -> dict:
        return {"actor": self.actor.state_dict(), "critics": self.critics.state_dict(),
                "target_critics": self.target_critics.state_dict(), "log_alpha": self.log_alpha.detach().clone(),
                "actor_opt": self.actor_opt.state_dict(), "critic_opt": self.critic_opt.state_dict(),
                "alpha_opt": self.alpha_opt.state_dict(), "std_scale": self.std_scale.clone(),
                "collected": self.collected}

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critics.load_state_dict(state["critics"])
        self.target_critics.load_state_dict(state["target_critics"])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        for key, opt in (("actor_opt", self.actor_opt), ("critic_opt", self.critic_opt), ("alpha_opt", self.alpha_opt)):
            if key in state:
                opt.load_state_dict(state[key])
        self.std_scale.copy_(state.get("std_scale", self.std_scale))
        self.collected = state.get("collected", self.collected)
        self._ready = self.collected >= self.cfg.learning_starts


def _builder(distributional: bool):
    def build(cfg, env, obs) -> SAC:
        """SAC (or DSAC-T) on ``cfg.sac``: a squashed Gaussian actor and twin (distributional) Q critics."""
        from simreal.rl.factory import action_bounds, refuse_recurrent_actor
        from simreal.rl.models.actor import SquashedGaussianActor
        from simreal.rl.models.critic import GaussianQCritic, QCritic

        a, c = cfg.actor, cfg.critic
        refuse_recurrent_actor(cfg)
        low, high = action_bounds(env)
        actor = SquashedGaussianActor(obs, a.groups, env.num_actions, a.hidden, a.activation, a.normalize,
                                      action_scale=(high - low) / 2, action_bias=(high + low) / 2,
                                      images=a.images).to(cfg.device)
        critic_cls = GaussianQCritic if distributional else QCritic
        critics = [critic_cls(obs, c.groups, env.num_actions, c.hidden, c.activation, c.normalize,
                              images=c.images).to(cfg.device) for _ in range(2)]
        return SAC(actor, *critics, cfg.sac, env.num_envs, cfg.device, seed=cfg.seed, distributional=distributional)
    return build


SPECS = {"sac": AlgorithmSpec("sac", _builder(False)), "dsac": AlgorithmSpec("dsac", _builder(True))}
