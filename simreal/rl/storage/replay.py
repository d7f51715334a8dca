"""Replay buffer for off-policy learning, on the same device as the env."""

from __future__ import annotations

import torch


class ReplayBuffer:
    """Ring buffer of transitions (actor inputs, critic inputs, action, reward, done, next
    inputs). ``add`` takes a batch from all envs at once; no Python loop over envs."""

    def __init__(self, capacity: int, actor_dim: int, critic_dim: int, num_actions: int, device):
        z = lambda *s: torch.zeros(*s, device=device)  # noqa: E731
        self.capacity = capacity
        self.actor_in, self.next_actor_in = z(capacity, actor_dim), z(capacity, actor_dim)
        self.critic_in, self.next_critic_in = z(capacity, critic_dim), z(capacity, critic_dim)
        self.actions, self.rewards, self.dones = z(capacity, num_actions), z(capacity), z(capacity)
        self.pos = 0
        self.size = 0

    def add(self, actor_in, critic_in, actions, rewards, dones, next_actor_in, next_critic_in, valid=None) -> None:
        if valid is not None:
            keep = valid.nonzero().squeeze(1)
            actor_in, critic_in, actions, rewards, dones, next_actor_in, next_critic_in = (
                t[keep] for t in (actor_in, critic_in, actions, rewards, dones, next_actor_in, next_critic_in)
            )
        n = actor_in.shape[0]
        if n == 0:
            return
        idx = (self.pos + torch.arange(n, device=self.actions.device)) % self.capacity
        for buf, value in ((self.actor_in, actor_in), (self.critic_in, critic_in), (self.actions, actions),
                           (self.rewards, rewards), (self.dones, dones.float()), (self.next_actor_in, next_actor_in),
                           (self.next_critic_in, next_critic_in)):
            buf[idx] = value
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator) -> dict:
        idx = torch.randint(0, self.size, (batch_size,), generator=generator,
                            device=generator.device).to(self.actions.device)
        return {
            "actor_in": self.actor_in[idx], "critic_in": self.critic_in[idx], "actions": self.actions[idx],
            "rewards": self.rewards[idx], "dones": self.dones[idx], "next_actor_in": self.next_actor_in[idx],
            "next_critic_in": self.next_critic_in[idx],
        }
