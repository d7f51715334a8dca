"""The learning algorithms, each defined by its own module: its config dataclass (a
TrainCfg section), the algorithm class, and an :class:`AlgorithmSpec` that builds it from
a TrainCfg. The runner, eval and export only go through :func:`algorithm`.

``NAMES`` maps each algorithm to the module defining it, so the CLI lists them without
importing torch."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from simreal.errors import UnknownNameError

NAMES = {"ppo": "ppo", "sac": "sac", "dsac": "sac", "aacd": "aacd", "distill": "distill"}


def _same(cfg):
    return cfg


def _model_groups(cfg) -> list[str]:
    return [*cfg.actor.groups, *cfg.critic.groups]


@dataclass(frozen=True)
class AlgorithmSpec:
    name: str
    build: Callable  # build(cfg, env, obs) -> the algorithm with fresh models (what eval and export restore into)
    resolve: Callable = _same  # resolve(cfg) -> cfg, before the env is made (AACD: the teacher's critic)
    groups: Callable = _model_groups  # observation groups the run reads (distill: the teacher's too)
    start: Callable | None = None  # start(algo, cfg, env, obs): training only, e.g. loading teacher weights


def algorithm(name: str) -> AlgorithmSpec:
    if name not in NAMES:
        raise UnknownNameError(f"unknown algorithm {name!r}; choose one of {list(NAMES)}")
    return importlib.import_module(f"simreal.rl.algorithms.{NAMES[name]}").SPECS[name]
