"""CPU backend: MuJoCo's threaded batch (``mujoco.batch.Batch``), zero-copy into torch.

Every hot-path call (step, reset, forward) is one call into MuJoCo's C++ thread pool,
which releases the GIL; there is no Python loop over environments.
"""

from __future__ import annotations

import os
import warnings

import mujoco
import mujoco.batch
import numpy as np
import torch

from simreal.errors import InputError
from simreal.sim.backend import (
    DERIVED_FIELDS,
    SETCONST_FIELDS,
    STATE_FIELDS,
    Backend,
    check_param_field,
)

# Warnings MuJoCo raises before it resets an unstable simulation by itself.
_UNSTABLE_WARNINGS = [
    int(mujoco.mjtWarning.mjWARN_BADQPOS),
    int(mujoco.mjtWarning.mjWARN_BADQVEL),
    int(mujoco.mjtWarning.mjWARN_BADQACC),
]

# After a step, compute position- and velocity-dependent quantities at the new state.
# A persistent batch resumes its next step from these stages, so this costs nothing extra.
_STAGE_AFTER_STEP = int(mujoco.mjtStage.mjSTAGE_VEL)


def _as_tensor(array: np.ndarray) -> torch.Tensor:
    """Zero-copy torch view of a live batch array (read-only ones included)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch warns on non-writable arrays
        return torch.from_numpy(array)


def _ids(env_ids: torch.Tensor | None) -> np.ndarray | None:
    if env_ids is None:
        return None
    return env_ids.detach().to("cpu", torch.int64).numpy()


class MujocoCpuBackend(Backend):
    """``num_envs`` persistent MjData copies stepped on ``nthread`` threads (0: all cores)."""

    name = "mujoco"

    def __init__(self, model: mujoco.MjModel, num_envs: int, nthread: int = 0):
        if num_envs < 1:
            raise InputError(f"num_envs must be at least 1, got {num_envs}")
        self.model = model
        self.num_envs = num_envs
        self.device = torch.device("cpu")
        self.nthread = nthread or (os.cpu_count() or 1)
        self._batch = mujoco.batch.Batch(model, num_envs, nthread=self.nthread, persistent=True)
        for field in STATE_FIELDS + DERIVED_FIELDS:
            setattr(self, field, _as_tensor(self._batch.bind(field)))
        self._batch.reset()
        self._unstable_seen = self._unstable_counts()

    def step(self, n_substeps: int = 1) -> None:
        self._batch.step(nstep=n_substeps, stage=_STAGE_AFTER_STEP)

    def reset(self, env_ids, qpos=None, qvel=None) -> None:
        ids = _ids(env_ids)
        if ids is not None and ids.size == 0:
            return
        self._batch.reset(ids, stage=int(mujoco.mjtStage.mjSTAGE_NONE))
        if qpos is not None:
            self.qpos[env_ids] = qpos.to(self.qpos.dtype)
        if qvel is not None:
            self.qvel[env_ids] = qvel.to(self.qvel.dtype)
        self._batch.forward(ids, stage=_STAGE_AFTER_STEP)
        self._unstable_seen = self._unstable_counts()

    def _unstable_counts(self) -> np.ndarray:
        return self._batch.warning[:, _UNSTABLE_WARNINGS, 1].sum(axis=1)

    def take_unstable(self) -> torch.Tensor:
        counts = self._unstable_counts()
        unstable = counts > self._unstable_seen
        self._unstable_seen = counts
        return torch.from_numpy(unstable)

    def forward(self, env_ids=None) -> None:
        self._batch.forward(_ids(env_ids), stage=_STAGE_AFTER_STEP)

    def param(self, field: str) -> torch.Tensor:
        check_param_field(field)
        values = self._batch.expanded(field)
        if values is None:
            nominal = getattr(self.model, field)
            values = np.broadcast_to(nominal, (self.num_envs,) + nominal.shape)
        return torch.tensor(np.array(values), dtype=torch.float64)

    def set_param(self, field: str, env_ids: torch.Tensor, values: torch.Tensor) -> None:
        check_param_field(field)
        ids = _ids(env_ids)
        self._batch.expand(field)[ids] = values.detach().to("cpu", torch.float64).numpy()
        if field in SETCONST_FIELDS:
            self._batch.set_const(ids)
