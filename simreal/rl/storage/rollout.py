"""Fixed-length on-policy rollout storage, (T, N, ...) tensors on the env's device."""

from __future__ import annotations

import torch


class RolloutStorage:
    def __init__(self, num_steps: int, num_envs: int, actor_dim: int, critic_dim: int, num_actions: int, device):
        T, N = num_steps, num_envs
        z = lambda *shape: torch.zeros(*shape, device=device)  # noqa: E731
        self.actor_in = z(T, N, actor_dim)
        self.critic_in = z(T, N, critic_dim)
        self.actions = z(T, N, num_actions)
        self.log_prob = z(T, N)
        self.values = z(T, N)
        self.rewards = z(T, N)
        self.dones = z(T, N)
        self.num_steps = T
        self.step = 0

    def add(self, actor_in, critic_in, actions, log_prob, values) -> None:
        if self.step >= self.num_steps:
            raise RuntimeError("rollout storage is full; call clear() after the update")
        t = self.step
        self.actor_in[t] = actor_in
        self.critic_in[t] = critic_in
        self.actions[t] = actions
        self.log_prob[t] = log_prob
        self.values[t] = values

    def add_outcome(self, rewards, dones) -> None:
        self.rewards[self.step] = rewards
        self.dones[self.step] = dones.float()
        self.step += 1

    @property
    def full(self) -> bool:
        return self.step == self.num_steps

    def clear(self) -> None:
        self.step = 0

    def minibatches(self, num_minibatches: int, epochs: int, generator: torch.Generator, **extra):
        """Yield dicts of flattened (T*N, ...) minibatches, reshuffled every epoch."""
        fields = {
            "actor_in": self.actor_in, "critic_in": self.critic_in, "actions": self.actions,
            "log_prob": self.log_prob, "values": self.values, **extra,
        }
        flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in fields.items()}
        total = self.num_steps * self.actor_in.shape[1]
        size = total // num_minibatches
        for _ in range(epochs):
            perm = torch.randperm(total, generator=generator, device=generator.device).to(self.actor_in.device)
            for k in range(num_minibatches):
                idx = perm[k * size : (k + 1) * size]
                yield {name: value[idx] for name, value in flat.items()}
