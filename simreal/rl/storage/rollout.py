"""Fixed-length on-policy rollout storage, (T, N, ...) tensors on the env's device.

A recurrent actor's storage also keeps its hidden state at the start of the rollout
(``hidden0``, a tuple of (N, ...) tensors): with the stored dones that is all an RNN needs
to re-run every env's rollout in the update."""

from __future__ import annotations

import torch

from simreal.errors import InputError


class RolloutStorage:
    def __init__(self, num_steps: int, num_envs: int, actor_dim: int, critic_dim: int, num_actions: int, device,
                 state_shapes: dict | None = None):
        T, N = num_steps, num_envs
        z = lambda *shape: torch.zeros(*shape, device=device)  # noqa: E731
        self.actor_in = z(T, N, actor_dim)
        self.critic_in = z(T, N, critic_dim)
        self.actions = z(T, N, num_actions)
        self.log_prob = z(T, N)
        self.values = z(T, N)
        self.rewards = z(T, N)
        self.dones = z(T, N)
        self.hidden0 = tuple(z(N, *shape) for shape in (state_shapes or {}).values())
        self.num_steps = T
        self.step = 0

    def add(self, actor_in, critic_in, actions, log_prob, values, hidden: tuple = ()) -> None:
        """``hidden``: a recurrent actor's state fed to this step (kept at the first step)."""
        if self.step >= self.num_steps:
            raise RuntimeError("rollout storage is full; call clear() after the update")
        t = self.step
        if t == 0:
            for dst, src in zip(self.hidden0, hidden):
                dst.copy_(src)
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

    def sequence_minibatches(self, num_minibatches: int, epochs: int, generator: torch.Generator, **extra):
        """Minibatches of whole env rollouts for recurrent actors (truncated BPTT over the
        rollout): envs, not time steps, are split into ``num_minibatches`` groups of n,
        reshuffled every epoch. Each dict holds the fields of :meth:`minibatches` flattened
        to (T*n, ...) (time-major), plus what the RNN re-runs: ``actor_seq`` (T, n,
        actor_dim), ``dones_seq`` (T, n) and ``hidden0`` (tuple of (n, ...))."""
        fields = {"critic_in": self.critic_in, "actions": self.actions, "log_prob": self.log_prob,
                  "values": self.values, **extra}
        N = self.actor_in.shape[1]
        size = N // num_minibatches
        if size == 0:
            raise InputError(f"a recurrent actor splits envs into minibatches: {N} envs cannot make "
                             f"{num_minibatches}; lower ppo.minibatches or raise num_envs")
        for _ in range(epochs):
            perm = torch.randperm(N, generator=generator, device=generator.device).to(self.actor_in.device)
            for k in range(num_minibatches):
                idx = perm[k * size : (k + 1) * size]
                mb = {name: value[:, idx].flatten(0, 1) for name, value in fields.items()}
                mb.update(actor_seq=self.actor_in[:, idx], dones_seq=self.dones[:, idx],
                          hidden0=tuple(h[idx] for h in self.hidden0))
                yield mb
