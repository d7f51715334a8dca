"""The backend seam: what every simulator engine offers the environment layer.

A backend holds ``num_envs`` copies of one compiled MuJoCo model and exposes their
state as torch tensors shaped ``(num_envs, ...)``. State tensors (``qpos``, ``qvel``,
``ctrl``, ``mocap_pos``, ``mocap_quat``) are writable views: writing them changes the
simulation. Derived tensors (``xpos``, ``xquat``, ``site_xpos``, ``site_xmat``,
``sensordata``) are refreshed by ``step``, ``reset`` and ``forward``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from simreal.errors import InputError

#: Per-env model parameters a backend can randomize, by the MjModel field they live in.
#: Names are MuJoCo's, so users can look them up in the MJCF reference.
PARAM_FIELDS = (
    "geom_friction",  # (ngeom, 3) sliding, torsional, rolling
    "geom_solref",  # (ngeom, 2) contact compliance: (timeconst, dampratio) or direct (-stiffness, -damping)
    "body_mass",  # (nbody,)
    "dof_damping",  # (nv,)
    "dof_frictionloss",  # (nv,) dry friction, N m (N for slides)
    "dof_armature",  # (nv,)
    "actuator_gainprm",  # (nu, 10)
    "actuator_biasprm",  # (nu, 10)
)

#: Fields whose change alters constants derived by mj_setConst (inertia, invweight).
SETCONST_FIELDS = ("body_mass", "dof_armature")

STATE_FIELDS = ("qpos", "qvel", "ctrl", "mocap_pos", "mocap_quat")
DERIVED_FIELDS = ("xpos", "xquat", "site_xpos", "site_xmat", "sensordata")


class Backend(ABC):
    """``num_envs`` copies of one MjModel, stepped as a batch.

    Attributes (torch tensors, first dimension ``num_envs``):
        qpos (nq), qvel (nv), ctrl (nu), mocap_pos (nmocap, 3), mocap_quat (nmocap, 4),
        xpos (nbody, 3), xquat (nbody, 4), site_xpos (nsite, 3), site_xmat (nsite, 9),
        sensordata (nsensordata).
    """

    #: short engine name, e.g. "mujoco" or "mujoco_warp"
    name: str
    num_envs: int
    device: torch.device
    #: the host MjModel the batch was built from (names, sizes, nominal parameters)
    model: object

    qpos: torch.Tensor
    qvel: torch.Tensor
    ctrl: torch.Tensor
    mocap_pos: torch.Tensor
    mocap_quat: torch.Tensor
    xpos: torch.Tensor
    xquat: torch.Tensor
    site_xpos: torch.Tensor
    site_xmat: torch.Tensor
    sensordata: torch.Tensor

    @abstractmethod
    def step(self, n_substeps: int = 1) -> None:
        """Advance every env by ``n_substeps`` physics steps with the current ``ctrl``.

        Afterwards the derived tensors describe the new state.
        """

    @abstractmethod
    def reset(
        self,
        env_ids: torch.Tensor,
        qpos: torch.Tensor | None = None,
        qvel: torch.Tensor | None = None,
    ) -> None:
        """Reset ``env_ids`` (long, (n,)) to the model defaults, then set ``qpos`` (n, nq)
        and ``qvel`` (n, nv) where given, and recompute the derived tensors of those envs.

        Controls, mocap poses, warm starts and time of the reset envs return to defaults;
        the other envs are untouched.
        """

    @abstractmethod
    def forward(self, env_ids: torch.Tensor | None = None) -> None:
        """Recompute derived tensors from the current state (after writing qpos)."""

    def take_unstable(self) -> torch.Tensor:
        """bool (num_envs,): envs the engine itself found unstable (NaN or huge values)
        since the last call. MuJoCo resets such an env's data by itself, which would
        otherwise hide the divergence from the env layer. Engines that let non-finite
        values through return all False here (the env layer checks finiteness too)."""
        return torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)

    @abstractmethod
    def param(self, field: str) -> torch.Tensor:
        """Per-env values of a model field from ``PARAM_FIELDS``, (num_envs, ...).

        A read-only copy; change values with :meth:`set_param`.
        """

    @abstractmethod
    def set_param(self, field: str, env_ids: torch.Tensor, values: torch.Tensor) -> None:
        """Write per-env values (n, ...) of model ``field`` for ``env_ids`` only."""

    def nominal_param(self, field: str) -> torch.Tensor:
        """The compiled model's value of ``field``, shape as in MjModel, float64."""
        check_param_field(field)
        return torch.as_tensor(getattr(self.model, field).copy(), dtype=torch.float64)


def check_param_field(field: str) -> None:
    if field not in PARAM_FIELDS:
        raise InputError(
            f"cannot randomize model field {field!r}; supported fields are {list(PARAM_FIELDS)}"
        )
