"""PPO with an asymmetric critic: the actor and the critic each read the observation
groups their configs name (e.g. actor: [policy], critic: [policy, critic]).

A recurrent actor (``actor.is_recurrent``) carries its hidden state through collection,
zeroed for envs whose episode ended; the update re-runs it over each env's whole rollout
from the state the rollout started with (minibatches split envs, not time steps). The
critic stays an MLP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from simreal.rl import distributed, losses
from simreal.rl.algorithms import AlgorithmSpec
from simreal.rl.optim import gradient_step
from simreal.rl.storage.rollout import RolloutStorage


@dataclass
class PPOCfg:
    num_steps: int = 24  # rollout length per env and iteration
    epochs: int = 5
    minibatches: int = 4
    clip: float = 0.2
    gamma: float = 0.99
    lam: float = 0.95
    value_coef: float = 1.0
    value_clip: bool = True
    entropy_coef: float = 0.005
    # weight of the loss on action means beyond +-bound (the env clips actions at 1); 0 = off
    bound_coef: float = 0.0
    bound: float = 1.1
    lr: float = 1e-3
    schedule: str = "adaptive"  # "adaptive" (KL-based) or "fixed"
    desired_kl: float = 0.01
    max_lr: float = 1e-2  # the adaptive schedule's ceiling
    max_grad_norm: float = 1.0
    normalize_advantage: bool = True

    LIMITS: ClassVar[dict] = {"num_steps": (1, None), "epochs": (1, None), "minibatches": (1, None),
                              "clip": (0.0, None), "gamma": (0.0, 1.0), "lam": (0.0, 1.0), "value_coef": (0.0, None),
                              "entropy_coef": (0.0, None), "bound_coef": (0.0, None), "lr": (1e-12, None),
                              "desired_kl": (1e-12, None), "max_lr": (1e-12, None), "max_grad_norm": (1e-12, None)}


class PPO:
    """The algorithm receives its actor and critic; the runner owns the loop."""

    on_policy = True

    def __init__(self, actor: nn.Module, critic: nn.Module, cfg: PPOCfg, num_envs: int, device, seed: int = 0):
        self.actor, self.critic, self.cfg = actor, critic, cfg
        self.device = torch.device(device)
        self.lr = cfg.lr
        self.params = list(actor.parameters()) + list(critic.parameters())
        self.optimizer = torch.optim.Adam(self.params, lr=self.lr)
        self.recurrent = getattr(actor, "is_recurrent", False)
        self.storage = RolloutStorage(cfg.num_steps, num_envs, actor.obs_dim, critic.obs_dim, actor.num_actions,
                                      self.device, getattr(actor, "recurrent_state_shapes", None))
        self.hidden = actor.initial_state(num_envs) if self.recurrent else ()  # collection's actor state
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.frozen_critic = False  # AACD can freeze a transferred critic
        self._last = None

    # ------------------------------------------------------------- collection
    @torch.no_grad()
    def act(self, obs) -> torch.Tensor:
        actor_in, critic_in = self.actor.inputs(obs), self.critic.inputs(obs)
        self.actor.update_normalizer(actor_in)
        if not self.frozen_critic:
            self.critic.update_normalizer(critic_in)
        if self.recurrent:
            hidden_in = self.hidden
            actions, log_prob, self.hidden = self.actor.act(actor_in, hidden_in)
        else:
            hidden_in = ()
            dist = self.actor.distribution(actor_in)
            actions = dist.sample()
            log_prob = dist.log_prob(actions).sum(-1)
        self._last = (actor_in, critic_in, actions, log_prob, self.critic(critic_in), hidden_in)
        return actions

    @torch.no_grad()
    def process_step(self, rewards, dones, extras, next_obs=None) -> None:
        actor_in, critic_in, actions, log_prob, values, hidden_in = self._last
        # time-outs are not failures: bootstrap with the value of the state before the step
        # (the true final state is gone after auto-reset; rsl_rl does the same)
        rewards = rewards + self.cfg.gamma * values * extras["time_outs"].float()
        self.storage.add(actor_in, critic_in, actions, log_prob, values, hidden_in)
        self.storage.add_outcome(rewards, dones)
        if self.recurrent:  # the next episode starts from zeros
            self.hidden = self.actor.reset_state(self.hidden, dones)

    @property
    def ready(self) -> bool:
        return self.storage.full

    # ------------------------------------------------------------- update
    def update(self, obs) -> dict:
        cfg, st = self.cfg, self.storage
        self._sync_buffers()
        with torch.no_grad():
            last_values = self.critic(self.critic.inputs(obs))
            advantages, returns = losses.gae(st.rewards, st.values, st.dones, last_values, cfg.gamma, cfg.lam)
            # old policy under the current normalizer statistics, so the first ratio is exactly 1
            if self.recurrent:
                old_mu = self.actor.unroll(st.actor_in, st.hidden0, st.dones)
            else:
                old_mu = self.actor(st.actor_in.reshape(-1, st.actor_in.shape[-1])).reshape(st.actions.shape)
            old_std = self.actor.std.detach().expand_as(old_mu)
            old_log_prob = torch.distributions.Normal(old_mu, old_std).log_prob(st.actions).sum(-1)
        st.log_prob.copy_(old_log_prob)
        stats = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "kl": 0.0}
        n = 0
        batches = st.sequence_minibatches if self.recurrent else st.minibatches
        for mb in batches(cfg.minibatches, cfg.epochs, self.generator, advantages=advantages,
                          returns=returns, old_mu=old_mu, old_std=old_std):
            adv = mb["advantages"]
            if cfg.normalize_advantage:
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            dist = self.minibatch_distribution(mb)
            log_prob = dist.log_prob(mb["actions"]).sum(-1)
            entropy = dist.entropy().sum(-1).mean()
            with torch.no_grad():
                kl = losses.gaussian_kl(mb["old_mu"], mb["old_std"], dist.mean, dist.stddev).item()
                kl = distributed.mean_scalar(kl)  # every rank must pick the same learning rate
            if cfg.schedule == "adaptive":
                self.lr = losses.adaptive_lr(self.lr, kl, cfg.desired_kl, hi=cfg.max_lr)
                for group in self.optimizer.param_groups:
                    group["lr"] = self.lr
            policy_loss = losses.ppo_policy_loss(log_prob, mb["log_prob"], adv, cfg.clip)
            loss = policy_loss - cfg.entropy_coef * entropy
            if cfg.bound_coef > 0:
                loss = loss + cfg.bound_coef * losses.action_bound_loss(dist.mean, cfg.bound)
            if not self.frozen_critic:
                v = self.critic(mb["critic_in"])
                v_loss = losses.value_loss(v, mb["values"], mb["returns"], cfg.clip if cfg.value_clip else None)
                loss = loss + cfg.value_coef * v_loss
                stats["value_loss"] += v_loss.item()
            gradient_step(self.optimizer, loss, self.params, cfg.max_grad_norm, "PPO loss")
            stats["policy_loss"] += policy_loss.item()
            stats["entropy"] += entropy.item()
            stats["kl"] += kl
            n += 1
        st.clear()
        out = {k: v / max(n, 1) for k, v in stats.items()}
        out.update(lr=self.lr, action_std=self.actor.std.mean().item())
        return out

    def minibatch_distribution(self, mb: dict) -> torch.distributions.Normal:
        """The actor's action distribution over a minibatch, batch (B, num_actions); a
        recurrent actor re-runs its envs' rollouts, (T*n, ...) in the minibatch's time-major order."""
        if not self.recurrent:
            return self.actor.distribution(mb["actor_in"])
        mean = self.actor.unroll(mb["actor_seq"], mb["hidden0"], mb["dones_seq"]).flatten(0, 1)
        return torch.distributions.Normal(mean, self.actor.std.expand_as(mean))

    def _sync_buffers(self) -> None:
        distributed.average_buffers(self.actor)
        distributed.average_buffers(self.critic)

    # ------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        return {"actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
                "optimizer": self.optimizer.state_dict(), "lr": self.lr}

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        if "optimizer" in state:
            self.optimizer.load_state_dict(state["optimizer"])
        self.lr = state.get("lr", self.lr)


def build(cfg, env, obs) -> PPO:
    """PPO on ``cfg.ppo`` with the actor and critic ``cfg.actor`` / ``cfg.critic`` describe."""
    from simreal.rl.factory import gaussian_actor
    from simreal.rl.models.critic import ValueCritic

    c = cfg.critic
    actor = gaussian_actor(cfg, obs, env.num_actions, recurrent_ok=True)
    critic = ValueCritic(obs, c.groups, c.hidden, c.activation, c.normalize, c.images).to(cfg.device)
    return PPO(actor, critic, cfg.ppo, env.num_envs, cfg.device, seed=cfg.seed)


SPECS = {"ppo": AlgorithmSpec("ppo", build)}
