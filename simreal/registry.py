"""Task registry: ``register_task`` / ``make_env`` / ``list_tasks``.

Tasks live in the top-level ``tasks/`` folder (installed as ``simreal.tasks``); each
task package registers itself on import, and every package there is imported on the
first lookup.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

from simreal.cfgcheck import SCALAR_TYPES, check_limits, coerce, is_section, merge_section
from simreal.envs.config import EnvCfg
from simreal.errors import InputError, UnknownNameError


@dataclass(frozen=True)
class TaskSpec:
    id: str
    factory: Callable[..., EnvCfg]  # returns a fresh config instance
    description: str
    # keyword arguments of the factory that a user sets like env fields (--set env.twin=DIR):
    # they choose what the scene is, so a bundle carries them to the task cell (provenance task_params)
    params: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()  # those of ``params`` that name files or folders (kept absolute in a run)


_TASKS: dict[str, TaskSpec] = {}
_loaded = False


def register_task(task_id: str, factory: Callable[..., EnvCfg], description: str, params: tuple[str, ...] = (),
                  paths: tuple[str, ...] = ()) -> None:
    if task_id in _TASKS and _TASKS[task_id].factory is not factory:
        raise InputError(f"task id {task_id!r} is registered twice")
    _TASKS[task_id] = TaskSpec(task_id, factory, description, tuple(params), tuple(paths))


def _load_tasks() -> None:
    global _loaded
    if _loaded:
        return
    import simreal.tasks as tasks

    for info in pkgutil.iter_modules(tasks.__path__):
        importlib.import_module(f"simreal.tasks.{info.name}")
    _loaded = True


def list_tasks() -> list[TaskSpec]:
    _load_tasks()
    return [_TASKS[k] for k in sorted(_TASKS)]


def task_spec(task_id: str) -> TaskSpec:
    _load_tasks()
    if task_id not in _TASKS:
        raise UnknownNameError(f"unknown task {task_id!r}; valid task ids: {sorted(_TASKS)}")
    return _TASKS[task_id]


def task_cfg(task_id: str, **overrides) -> EnvCfg:
    """The task's config with fields overridden (num_envs=..., seed=...; the task's own ``params`` go
    to its factory: twin=DIR); a section (actions, scene,
    a table of terms) takes a nested mapping of the fields to change (``cfgcheck.merge_section``)."""
    spec = task_spec(task_id)
    cfg = spec.factory(**{k: overrides[k] for k in spec.params if k in overrides})
    overrides = {k: v for k, v in overrides.items() if k not in spec.params}
    unknown = set(overrides) - {f.name for f in dataclasses.fields(cfg)}
    if unknown:
        raise InputError(f"unknown env config fields {sorted(unknown)}; valid: "
                         f"{[f.name for f in dataclasses.fields(cfg)] + [*spec.params]}")
    types = {f.name: str(f.type) for f in dataclasses.fields(cfg)}
    checked = {}
    for key, value in overrides.items():
        if callable(getattr(cfg, key)):
            name = getattr(getattr(cfg, key), "__name__", getattr(getattr(getattr(cfg, key), "func", None), "__name__",
                                                                  "a function"))
            raise InputError(f"env.{key} is a function ({name}); it cannot be set from a config")
        if is_section(getattr(cfg, key), types[key]):  # env.actions.max_latency_steps=1, env.events.joint_damping=null
            value = merge_section(getattr(cfg, key), value, f"env.{key}")
        elif types[key] in SCALAR_TYPES:
            value = coerce(value, types[key], f"env.{key}")
            if key in cfg.LIMITS:
                check_limits(value, cfg.LIMITS[key], f"env.{key}")
        checked[key] = value
    return dataclasses.replace(cfg, **checked)


def make_env(task_id: str, **overrides):
    """Build a task's environment, e.g. ``make_env("franka-reach", num_envs=1024, seed=1)``."""
    from simreal.envs.env import ManipulationEnv

    return ManipulationEnv(task_cfg(task_id, **overrides), task_id=task_id)


def task_params_of(task_id: str, env: dict) -> dict:
    """The task's factory parameters among a run's env overrides (what a bundle carries to the cell)."""
    return {k: env[k] for k in task_spec(task_id).params if k in env}
