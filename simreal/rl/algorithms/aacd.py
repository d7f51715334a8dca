"""Asymmetric actor-critic distillation (TacSL, Akinola et al. 2024), stage 2.

Stage 1 is ordinary PPO with a privileged actor (the teacher). Stage 2 trains a fresh
student actor on other observation groups (say, tactile images instead of object poses)
with PPO, while the critic starts from the teacher's critic: it already knows the value
of every state, which is what makes the student's policy gradient informative from the
first iteration. The critic is then frozen or fine-tuned (``teacher.freeze_critic``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from simreal.errors import InputError
from simreal.rl.checkpoint import CheckpointError, existing_checkpoint, load_checkpoint
from simreal.rl.config import TrainCfg, from_dict, load_yaml


def teacher_cfg(cfg: TrainCfg) -> TrainCfg:
    if not cfg.teacher.run_dir:
        raise InputError("AACD and distillation need a teacher: --teacher RUN_DIR (a finished PPO run on the same task)")
    path = Path(cfg.teacher.run_dir) / "config.yaml"
    if not path.is_file():
        raise CheckpointError(f"teacher {cfg.teacher.run_dir} is not a simreal run directory (no config.yaml)")
    return from_dict(TrainCfg, load_yaml(path))


def align_with_teacher(cfg: TrainCfg) -> TrainCfg:
    """The student's critic must be the teacher's critic: same groups and sizes."""
    teacher = teacher_cfg(cfg)
    if teacher.task != cfg.task:
        raise InputError(f"teacher was trained on {teacher.task!r}, the student is on {cfg.task!r}")
    return dataclasses.replace(cfg, critic=teacher.critic)


def load_teacher_critic(algo, cfg: TrainCfg) -> None:
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
