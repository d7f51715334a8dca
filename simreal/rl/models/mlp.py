"""Plain MLPs and the observation-group plumbing shared by actors and critics."""

from __future__ import annotations

import torch
from torch import nn

from simreal.errors import InputError, UnknownNameError

ACTIVATIONS = {"elu": nn.ELU, "relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU, "gelu": nn.GELU}


def mlp(in_dim: int, hidden: list[int], out_dim: int, activation: str = "elu",
        out_gain: float | None = None) -> nn.Sequential:
    if activation not in ACTIVATIONS:
        raise InputError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
    layers, d = [], in_dim
    for h in hidden:
        layers += [nn.Linear(d, h), ACTIVATIONS[activation]()]
        d = h
    last = nn.Linear(d, out_dim)
    if out_gain is not None:
        nn.init.orthogonal_(last.weight, gain=out_gain)
        nn.init.zeros_(last.bias)
    layers.append(last)
    return nn.Sequential(*layers)


def gather_groups(obs, groups: list[str]) -> torch.Tensor:
    """Concatenate the observation groups a model reads, (B, sum of dims).

    ``obs`` is a TensorDict/dict of groups, or already a tensor (exported models)."""
    if isinstance(obs, torch.Tensor):
        return obs
    missing = [g for g in groups if g not in obs.keys()]
    if missing:
        raise UnknownNameError(f"model reads observation groups {groups}, but {missing} are not in the env's "
                               f"{list(obs.keys())}")
    if len(groups) == 1:
        return obs[groups[0]]
    return torch.cat([obs[g] for g in groups], dim=-1)
