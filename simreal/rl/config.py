"""Training configuration: dataclasses built by factories, YAML files and ``key=value``
overrides. Every run writes its fully resolved config next to its checkpoints."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from simreal.cfgcheck import check_limits, coerce
from simreal.data import data_path
from simreal.errors import InputError, MissingFileError
from simreal.rl.algorithms import NAMES
from simreal.rl.algorithms.distill import DistillCfg
from simreal.rl.algorithms.ppo import PPOCfg
from simreal.rl.algorithms.sac import SACCfg


@dataclass
class ModelCfg:
    groups: list[str]  # observation groups this model reads, concatenated in this order
    hidden: list[int] = field(default_factory=lambda: [256, 128, 64])
    activation: str = "elu"
    normalize: bool = True  # empirical normalizer inside the model (exported with it)
    init_std: float = 1.0  # PPO actor's initial action std
    # image groups and their (sensors, height, width, channels), e.g. {tactile: [2, 60, 80, 3]}:
    # each goes through a small CNN instead of the normalizer
    images: dict = field(default_factory=dict)
    # recurrent actor (PPO, AACD) for partially observed tasks: "gru" or "lstm" between the
    # normalized features and the MLP head; null: an MLP actor
    rnn_type: str | None = None
    rnn_hidden: int = 128
    rnn_layers: int = 1

    LIMITS: ClassVar[dict] = {"hidden": (1, None), "init_std": (1e-6, None), "rnn_hidden": (1, None),
                              "rnn_layers": (1, None)}


@dataclass
class TeacherCfg:
    """The privileged teacher a student learns from. AACD (TacSL): a fresh student actor
    trained with PPO starting from the teacher's critic. distill: DAgger on the teacher's
    actions (its settings: the ``distill`` section)."""

    run_dir: str | None = None  # run directory of the stage-1 (privileged) teacher
    freeze_critic: bool = False  # AACD: True keeps the teacher critic fixed; False fine-tunes it


@dataclass
class TrainCfg:
    task: str
    algo: str = "ppo"
    num_envs: int = 1024
    steps: int = 5_000_000  # total env steps (all envs together)
    seed: int = 0
    device: str = "cpu"
    actor: ModelCfg = field(default_factory=lambda: ModelCfg(groups=["policy"]))
    critic: ModelCfg = field(default_factory=lambda: ModelCfg(groups=["policy", "critic"]))
    ppo: PPOCfg = field(default_factory=PPOCfg)
    sac: SACCfg = field(default_factory=SACCfg)  # sac and dsac
    distill: DistillCfg = field(default_factory=DistillCfg)
    teacher: TeacherCfg = field(default_factory=TeacherCfg)
    env: dict = field(default_factory=dict)  # overrides of the task's EnvCfg fields (e.g. episode_length_s)
    checkpoint_every: int = 50  # iterations between "latest" checkpoints
    # torch intra-op threads on the CPU (0: torch's default). 1 by default: MuJoCo's own pool
    # already uses every core for physics, and torch's OpenMP pool, spinning at barriers, slowed
    # PPO updates 4-5x whenever the cores were shared (measured on the 2-core machine).
    torch_threads: int = 1
    log_every_s: float = 5.0  # progress line period when not on a terminal

    LIMITS: ClassVar[dict] = {"num_envs": (1, None), "steps": (1, None), "checkpoint_every": (1, None),
                              "torch_threads": (0, None), "log_every_s": (0.0, None)}


def from_dict(cls, data: dict, where: str = ""):
    """Build dataclass ``cls`` from a (nested) dict: unknown keys are refused by name, every
    value is checked against its field's type (a float must be finite) and against the
    class's ``LIMITS`` ({field: (low, high)}, inclusive, None = open)."""
    if not dataclasses.is_dataclass(cls):
        return data
    if not isinstance(data, dict):
        raise InputError(f"config section {where.rstrip('.') or cls.__name__!r} must be a mapping, got {data!r}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(names)
    if unknown:
        raise InputError(f"unknown {cls.__name__} keys {sorted(unknown)}; valid keys: {sorted(names)}")
    kwargs = {}
    limits = getattr(cls, "LIMITS", {})
    hints = typing.get_type_hints(cls)
    for key, value in data.items():
        ftype = names[key].type
        sub = hints[key]
        if dataclasses.is_dataclass(sub):
            value = from_dict(sub, value, f"{where}{key}.")
        else:
            value = coerce(value, str(ftype), where + key)
        if key in limits and value is not None:
            check_limits(value, limits[key], where + key)
        kwargs[key] = value
    return cls(**kwargs)


# env fields a run sets from its own settings, not from env.*
RUN_OWNED = {"num_envs": "num_envs (--num-envs)", "seed": "seed (--seed)", "device": "device (--device)",
             "backend": "device (--device cuda runs MuJoCo Warp)", "obs_groups": "actor.groups / critic.groups"}


def apply_overrides(cfg, overrides: list[str]):
    """``["ppo.lr=3e-4", "actor.hidden=[128,128]"]`` -> a new config (values parsed as YAML)."""
    data = dataclasses.asdict(cfg)
    for item in overrides:
        if "=" not in item:
            raise InputError(f"override {item!r} must look like key.sub=value")
        path, raw = item.split("=", 1)
        keys = path.split(".")
        if keys[0] == "env" and len(keys) > 1 and keys[1] in RUN_OWNED:
            raise InputError(f"override {item!r}: env.{keys[1]} is the run's own; set {RUN_OWNED[keys[1]]}")
        node = data
        for i, k in enumerate(keys[:-1]):
            if i > 0 and keys[0] == "env" and isinstance(node, dict):  # a section of the task's EnvCfg
                node = node.setdefault(k, {})
                if not isinstance(node, dict):
                    raise InputError(f"override {item!r}: env.{'.'.join(keys[1:i + 1])} was set to a value, "
                                     f"not a section")
                continue
            if not isinstance(node, dict) or k not in node:
                hint = f" (task settings go under env., e.g. env.{path})" if i == 0 else ""
                raise InputError(f"override {item!r}: no config section {k!r}{hint}")
            node = node[k]
        if keys[-1] not in node and keys[0] != "env":
            raise InputError(f"override {item!r}: no key {keys[-1]!r}; valid: {sorted(node)}")
        node[keys[-1]] = yaml.safe_load(raw)
    return from_dict(type(cfg), data)


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"config file {path} does not exist")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise InputError(f"config file {path} must hold a mapping, got {type(data).__name__}")
    return data


def merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for k, v in update.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def save_yaml(cfg, path: Path) -> None:
    path.write_text(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False))


def config_dir() -> Path:
    """simreal's configs/ folder (YAML defaults per algorithm and task; see simreal.data)."""
    return data_path("configs")


def default_cfg(task: str, algo: str, overrides: dict[str, Any] | None = None) -> TrainCfg:
    """TrainCfg for ``task``/``algo``: built-in defaults, then configs/<algo>.yaml, then
    configs/<algo>/gym.yaml for a ``gym:<id>`` task, then configs/<algo>/<task>.yaml (each
    optional), then ``overrides``."""
    if algo not in NAMES:
        raise InputError(f"unknown algorithm {algo!r}; choose one of {list(NAMES)}")
    data = dataclasses.asdict(TrainCfg(task=task, algo=algo))
    family = [config_dir() / algo / "gym.yaml"] if task.startswith("gym:") else []  # every gym:<id> task
    for path in (config_dir() / f"{algo}.yaml", *family, config_dir() / algo / f"{task.replace(':', '_')}.yaml"):
        if path.is_file():
            data = merge(data, load_yaml(path))
    data = merge(data, overrides or {})
    return from_dict(TrainCfg, data)


def apply_torch_threads(cfg: TrainCfg) -> None:
    """Set torch's CPU intra-op threads from ``cfg.torch_threads`` (see TrainCfg)."""
    import torch

    if cfg.torch_threads > 0 and not cfg.device.startswith("cuda"):
        torch.set_num_threads(cfg.torch_threads)
