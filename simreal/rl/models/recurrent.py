"""A recurrent Gaussian actor (PPO, AACD) for partially observed tasks: the same
normalized observation features as :class:`GaussianActor`, then a GRU or LSTM, then the
MLP head.

The hidden state is a tuple of tensors, environments first: ``(h,)`` for a GRU,
``(h, c)`` for an LSTM, each (num_envs, layers, hidden). An env whose episode ended
starts the next one from zeros (:meth:`reset_state`). ``forward(x, *state) ->
(actions, *new_state)`` is the deterministic policy with its state explicit, as export
(``recurrent_state_shapes``) and deployment use it.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.distributions import Normal

from simreal.errors import InputError
from simreal.rl.models.features import GroupModel
from simreal.rl.models.mlp import mlp

RNN_TYPES = {"gru": nn.GRU, "lstm": nn.LSTM}


class RecurrentGaussianActor(GroupModel):
    """Diagonal Gaussian with a state-independent std, its mean a function of the
    observation history."""

    is_recurrent = True

    def __init__(self, obs, groups: list[str], num_actions: int, hidden: list[int], activation: str = "elu",
                 init_std: float = 1.0, normalize: bool = True, images: dict | None = None, rnn_type: str = "gru",
                 rnn_hidden: int = 128, rnn_layers: int = 1):
        if rnn_type not in RNN_TYPES:
            raise InputError(f"unknown rnn_type {rnn_type!r}; choose one of {sorted(RNN_TYPES)} (or null for an MLP "
                             f"actor)")
        super().__init__(obs, groups, normalize, images)
        self.num_actions = num_actions
        self.rnn_type = rnn_type
        self.rnn = RNN_TYPES[rnn_type](self.features.out_dim, rnn_hidden, rnn_layers)  # (T, B, F) layout
        self.mean_net = mlp(rnn_hidden, hidden, num_actions, activation, out_gain=0.01)
        self.log_std = nn.Parameter(torch.full((num_actions,), math.log(init_std)))
        names = ("h",) if rnn_type == "gru" else ("h", "c")
        # per-env shape of each state tensor (export writes them as ONNX inputs/outputs)
        self.recurrent_state_shapes = {k: (rnn_layers, rnn_hidden) for k in names}

    @property
    def std(self) -> torch.Tensor:
        return self.log_std.exp()

    # ------------------------------------------------------------- hidden state
    def initial_state(self, batch: int) -> tuple[torch.Tensor, ...]:
        """Zeros, one (batch, layers, hidden) tensor per state name."""
        p = self.log_std
        return tuple(torch.zeros(batch, *shape, device=p.device, dtype=p.dtype)
                     for shape in self.recurrent_state_shapes.values())

    @staticmethod
    def reset_state(state: tuple[torch.Tensor, ...], dones: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Zero the state of envs whose episode ended: state * (1 - dones), dones (B,)."""
        keep = (1.0 - dones.float()).view(-1, 1, 1)
        return tuple(s * keep for s in state)

    def _to_rnn(self, state):
        """Env-first tuple -> what torch's GRU (h) / LSTM ((h, c)) take, (layers, B, hidden)."""
        s = tuple(x.transpose(0, 1).contiguous() for x in state)
        return s[0] if self.rnn_type == "gru" else s

    def _from_rnn(self, h) -> tuple[torch.Tensor, ...]:
        return tuple(x.transpose(0, 1) for x in ((h,) if self.rnn_type == "gru" else h))

    # ------------------------------------------------------------- one step
    def forward(self, x: torch.Tensor, *state: torch.Tensor):
        """Deterministic action (the mean) and the next state: x (B, obs_dim), state as
        :meth:`initial_state` -> (actions (B, num_actions), *new_state)."""
        out, h = self.rnn(self.features(x).unsqueeze(0), self._to_rnn(state))
        return (self.mean_net(out[0]), *self._from_rnn(h))

    def step(self, x: torch.Tensor, state: tuple) -> tuple[torch.Tensor, tuple]:
        """(mean actions (B, num_actions), new state)."""
        mean, *new_state = self.forward(x, *state)
        return mean, tuple(new_state)

    def distribution(self, x: torch.Tensor, state: tuple) -> tuple[Normal, tuple]:
        mean, new_state = self.step(x, state)
        return Normal(mean, self.std.expand_as(mean)), new_state

    def act(self, x: torch.Tensor, state: tuple) -> tuple[torch.Tensor, torch.Tensor, tuple]:
        """Sampled actions (B, num_actions), their log-probabilities (B,) and the new state."""
        dist, new_state = self.distribution(x, state)
        actions = dist.sample()
        return actions, dist.log_prob(actions).sum(-1), new_state

    # ------------------------------------------------------------- sequences
    def unroll(self, x: torch.Tensor, state: tuple, dones: torch.Tensor) -> torch.Tensor:
        """Mean actions (T, B, num_actions) over observation sequences x (T, B, obs_dim),
        starting from ``state`` and zeroing an env's state after every step t whose
        ``dones[t]`` (T, B) is set: exactly what stepping through the rollout gave."""
        T, B = x.shape[:2]
        feats = self.features(x.reshape(T * B, -1)).reshape(T, B, -1)
        keep = (1.0 - dones.float()).unsqueeze(-1)  # (T, B, 1), broadcast over (layers, B, hidden)
        h = self._to_rnn(state)
        outs = []
        for t in range(T):
            if t > 0:
                h = h * keep[t - 1] if self.rnn_type == "gru" else (h[0] * keep[t - 1], h[1] * keep[t - 1])
            out, h = self.rnn(feats[t : t + 1], h)
            outs.append(out)
        return self.mean_net(torch.cat(outs))
