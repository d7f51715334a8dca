"""Asymmetric actor-critic distillation (TacSL, Akinola et al. 2024), stage 2.

Stage 1 is ordinary PPO with a privileged actor (the teacher). Stage 2 trains a fresh
student actor on other observation groups (say, tactile images instead of object poses)
with PPO, while the critic starts from the teacher's critic: it already knows the value
of every state, which is what makes the student's policy gradient informative from the
first iteration. The critic is then frozen or fine-tuned (``teacher.freeze_critic``).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from simreal.errors import InputError
from simreal.rl.algorithms import AlgorithmSpec
from simreal.rl.algorithms.ppo import build as build_ppo
from simreal.rl.checkpoint import CheckpointError, existing_checkpoint, load_checkpoint
from simreal.rl.config import TrainCfg, from_dict, load_yaml


def teacher_cfg(cfg: TrainCfg) -> TrainCfg:
    if not cfg.teacher.run_dir:
        raise InputError("AACD and distillation need a teacher: --teacher RUN_DIR "
                         "(a finished PPO run on the same task)")
    path = Path(cfg.teacher.run_dir) / "config.yaml"
    if not path.is_file():
        raise CheckpointError(f"teacher {cfg.teacher.run_dir} is not a simreal run directory (no config.yaml)")
    return from_dict(TrainCfg, load_yaml(path))


def align_with_teacher(cfg: TrainCfg) -> TrainCfg:
    """The student's critic is the teacher's critic: its groups and sizes replace the run's
    critic settings, and a note says which settings were replaced (config.yaml records the
    critic actually trained)."""
    teacher = teacher_cfg(cfg)
    if teacher.task != cfg.task:
        raise InputError(f"teacher was trained on {teacher.task!r}, the student is on {cfg.task!r}")
    if teacher.critic != cfg.critic:
        ours, theirs = dataclasses.asdict(cfg.critic), dataclasses.asdict(teacher.critic)
        changed = {k: f"{ours[k]} -> {theirs[k]}" for k in ours if ours[k] != theirs[k]}
        print(f"aacd: the critic is the teacher's ({cfg.teacher.run_dir}); replacing critic settings {changed}",
              file=sys.stderr, flush=True)
    return dataclasses.replace(cfg, critic=teacher.critic)


def load_teacher_critic(algo, cfg: TrainCfg, env=None, obs=None) -> None:
    teacher_dir = Path(cfg.teacher.run_dir)
    path = existing_checkpoint(teacher_dir)
    state = load_checkpoint(path)
    if "critic" not in state["algo"]:
        raise CheckpointError(f"{path} holds no value critic (was the teacher trained with PPO?)")
    try:
        algo.critic.load_state_dict(state["algo"]["critic"])
    except RuntimeError as err:
        raise CheckpointError(f"teacher critic in {path} does not fit the student's critic config: "
                              f"{str(err).splitlines()[0]}") from err
    if cfg.teacher.freeze_critic:
        algo.frozen_critic = True
        algo.critic.requires_grad_(False)
        algo.critic.eval()


# stage 2 is PPO: the same build, the critic settings and weights from the teacher
SPECS = {"aacd": AlgorithmSpec("aacd", build_ppo, resolve=align_with_teacher, start=load_teacher_critic)}
