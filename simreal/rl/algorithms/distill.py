"""DAgger-style student-teacher distillation.

The student acts (the teacher takes over with probability beta, which falls linearly to
zero), every visited state is labelled with the teacher's deterministic action, and the
student regresses onto those labels. The student reads its own observation groups (e.g.
``[policy, tactile]``), the teacher its own (e.g. ``[policy, critic]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from simreal.errors import InputError
from simreal.rl.algorithms import AlgorithmSpec
from simreal.rl.optim import gradient_step


@dataclass
class DistillCfg:
    """The ``distill`` section of a TrainCfg."""

    num_steps: int = 24  # rollout length per env and iteration
    epochs: int = 5
    minibatches: int = 4
    lr: float = 1e-3
    beta_decay_iters: int = 20  # P(teacher acts) falls linearly from 1 to 0 over these iterations
    max_grad_norm: float = 1.0

    LIMITS: ClassVar[dict] = {"num_steps": (1, None), "epochs": (1, None), "minibatches": (1, None),
                              "lr": (1e-12, None), "beta_decay_iters": (1, None), "max_grad_norm": (1e-12, None)}


class Distillation:
    on_policy = True

    def __init__(self, student: nn.Module, teacher: nn.Module | None, cfg: DistillCfg, num_envs: int, device,
                 seed: int = 0):
        """``teacher`` None: a student to restore and evaluate (training sets ``teacher`` first)."""
        self.actor, self.cfg = student, cfg
        self.teacher = teacher.eval().requires_grad_(False) if teacher is not None else None
        self.device = torch.device(device)
        self.optimizer = torch.optim.Adam(student.parameters(), lr=cfg.lr)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        T, N = cfg.num_steps, num_envs
        self.obs = torch.zeros(T, N, student.obs_dim, device=self.device)
        self.labels = torch.zeros(T, N, student.num_actions, device=self.device)
        self.step = 0
        self.iteration = 0

    @property
    def beta(self) -> float:
        return max(0.0, 1.0 - self.iteration / max(self.cfg.beta_decay_iters, 1))

    @torch.no_grad()
    def act(self, obs) -> torch.Tensor:
        x = self.actor.inputs(obs)
        self.actor.update_normalizer(x)
        label = self.teacher(self.teacher.inputs(obs))
        self.obs[self.step], self.labels[self.step] = x, label
        own = self.actor(x)
        use_teacher = torch.rand(x.shape[0], 1, generator=self.generator, device=self.device) < self.beta
        return torch.where(use_teacher, label, own)

    def process_step(self, rewards, dones, extras, next_obs=None) -> None:
        self.step += 1

    @property
    def ready(self) -> bool:
        return self.step == self.cfg.num_steps

    def update(self, obs=None) -> dict:
        x = self.obs.reshape(-1, self.obs.shape[-1])
        y = self.labels.reshape(-1, self.labels.shape[-1])
        size = x.shape[0] // self.cfg.minibatches
        total, n = 0.0, 0
        for _ in range(self.cfg.epochs):
            perm = torch.randperm(x.shape[0], generator=self.generator, device=self.device)
            for k in range(self.cfg.minibatches):
                idx = perm[k * size : (k + 1) * size]
                loss = ((self.actor(x[idx]) - y[idx]) ** 2).mean()
                gradient_step(self.optimizer, loss, self.actor.parameters(), self.cfg.max_grad_norm,
                              "distillation loss")
                total += loss.item()
                n += 1
        self.step = 0
        self.iteration += 1
        return {"bc_loss": total / n, "beta": self.beta}

    def state_dict(self) -> dict:
        return {"actor": self.actor.state_dict(), "optimizer": self.optimizer.state_dict(), "iteration": self.iteration}

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        if "optimizer" in state:
            self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = state.get("iteration", 0)


def teacher_groups(cfg) -> list[str]:
    """The student's groups and, while its teacher run exists, the teacher's (a finished
    student is evaluated without its teacher; training without one fails in start)."""
    from pathlib import Path

    from simreal.rl.algorithms.aacd import teacher_cfg

    own = [*cfg.actor.groups, *cfg.critic.groups]
    if not cfg.teacher.run_dir or not (Path(cfg.teacher.run_dir) / "config.yaml").is_file():
        return own
    return own + teacher_cfg(cfg).actor.groups


def build(cfg, env, obs) -> Distillation:
    from simreal.rl.factory import gaussian_actor

    student = gaussian_actor(cfg, obs, env.num_actions, recurrent_ok=False)
    return Distillation(student, None, cfg.distill, env.num_envs, cfg.device, seed=cfg.seed)


def load_teacher_actor(algo: Distillation, cfg, env, obs) -> None:
    """The teacher's actor, rebuilt from its run directory and frozen, becomes ``algo.teacher``."""
    from simreal.rl.algorithms import algorithm
    from simreal.rl.algorithms.aacd import teacher_cfg
    from simreal.rl.checkpoint import existing_checkpoint, load_checkpoint, restore

    tcfg = teacher_cfg(cfg)
    if tcfg.task != cfg.task:
        raise InputError(f"teacher was trained on {tcfg.task!r}, the student is on {cfg.task!r}")
    if tcfg.actor.rnn_type:
        raise InputError(f"teacher {cfg.teacher.run_dir} has a recurrent actor ({tcfg.actor.rnn_type}); distillation "
                         "queries its teacher one step at a time and needs an MLP teacher")
    teacher_algo = algorithm(tcfg.algo).build(tcfg, env, obs)
    path = existing_checkpoint(cfg.teacher.run_dir)
    restore(teacher_algo, load_checkpoint(path), path)
    algo.teacher = teacher_algo.actor.eval().requires_grad_(False)


SPECS = {"distill": AlgorithmSpec("distill", build, groups=teacher_groups, start=load_teacher_actor)}
