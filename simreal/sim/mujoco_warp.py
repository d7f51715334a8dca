"""GPU backend: MuJoCo Warp (``mujoco_warp``), zero-copy into torch.

One ``mujoco_warp`` Model/Data pair holds all ``num_envs`` worlds (``nworld``). The state
and derived tensors are ``wp.to_torch`` views of the Data arrays, so reading or writing
them moves no memory. Every hot-path call is a fixed sequence of Warp kernel launches over
all worlds; there is no Python loop over environments.

Differences from the CPU backend (:mod:`simreal.sim.mujoco_cpu`), by design:

* **float32.** Warp computes in float32, so every tensor (state, derived, ``ctrl``) is
  ``torch.float32`` where the CPU backend's are float64. Write them with values cast to
  ``backend.qpos.dtype``. :meth:`param` returns float64 copies, as the CPU backend does,
  but the values held are float32.
* **Solver tolerance.** ``mujoco_warp.put_model`` raises the solver tolerance to at least
  1e-6 (float32 cannot resolve MuJoCo's default 1e-8), so results match plain MuJoCo to
  float32/solver accuracy only (see ``tests/test_sim_backend.py`` for measured errors).
* **Fixed contact/constraint capacity.** ``nconmax`` contacts and ``njmax`` constraint rows
  are allocated *per world* up front (mujoco-warp 4 semantics). Defaults: ``nconmax=64``
  (one arm with a gripper and a few objects rarely exceeds ~20 simultaneous contacts), and
  ``njmax`` = enough rows for ``nconmax`` contacts of the model's largest condim under its
  friction cone, plus one row per dof (limits / friction loss) and 6 per equality, so that
  contacts alone can never overflow the rows (405 rows for the Franka + cube scene, whose
  condim-4 pyramidal contacts take 6 rows each). Overflowing either drops contacts/rows and
  mujoco-warp prints a warning from the kernel; raise them through the constructor.
* **No automatic reset of unstable worlds.** MuJoCo C resets a diverged MjData by itself;
  mujoco-warp lets NaN/inf through, so :meth:`take_unstable` keeps the base class's
  all-False answer and the env layer's finiteness check catches divergence.
* **Derived tensors after step.** As the CPU backend (``mjSTAGE_VEL``): after the substeps
  the position and velocity stages (kinematics, collision, position and velocity sensors)
  are recomputed at the new state. Acceleration-stage sensors keep the values of the last
  substep's forward pass (as in a persistent MjData).

Parameter randomization (:meth:`set_param`): a field becomes per-world (leading dimension
``num_envs``) the first time it is written; until then all worlds share one row. After
``body_mass`` or ``dof_armature`` changes, ``mujoco_warp.set_const`` recomputes the derived
constants that depend on them -- ``body_subtreemass``, ``dof_invweight0``,
``body_invweight0``, ``tendon_invweight0``, ``actuator_acc0``, ``cam_poscom0`` and
``light_poscom0`` (all made per-world) -- for the written worlds only; every other world's
constants, and constants that cannot depend on mass (geom bounds, ``eq_data``,
``tendon_length0``, camera/light poses), are restored bit for bit. Not recomputed:
``actuator_length0`` (not in mujoco-warp), and structural flags that ``put_model`` derives
from the *nominal* values once (e.g. ``has_efm_actuator``, used only by the discrete
integrator), so switching an affine gain/bias term from zero to non-zero under
``integrator="discrete"`` is not seen.

On CUDA the ``n``-substep loop (plus the post-step stages) is captured once per ``n`` in a
CUDA graph and replayed; Warp work runs on torch's current CUDA stream so torch writes
(e.g. to ``ctrl``) are ordered before the step. On Warp's CPU device the loop just runs.
"""

from __future__ import annotations

import contextlib

import mujoco
import mujoco_warp as mjw
import torch
import warp as wp

from simreal.errors import InputError
from simreal.sim.backend import (
    DERIVED_FIELDS,
    SETCONST_FIELDS,
    STATE_FIELDS,
    Backend,
    check_param_field,
)

#: Default contacts allocated per world.
DEFAULT_NCONMAX = 64

#: Derived model constants that mj_setConst computes from body_mass / dof_armature; they
#: become per-world when one of those fields is randomized.
_MASS_DEPENDENT_CONSTANTS = (
    "body_subtreemass",
    "dof_invweight0",
    "body_invweight0",
    "tendon_invweight0",
    "actuator_acc0",
    "cam_poscom0",
    "light_poscom0",
)
#: Every model field mujoco_warp.set_const may write (groups FIXED | KIN0 | INERT0).
_SETCONST_OUTPUTS = _MASS_DEPENDENT_CONSTANTS + (
    "geom_size",
    "geom_aabb",
    "geom_rbound",
    "tendon_length0",
    "eq_data",
    "cam_pos0",
    "cam_mat0",
    "light_pos0",
    "light_dir0",
)
_SETCONST_GROUPS = {
    "body_mass": mjw.SetConstGroup.ALL,  # subtree mass, inverse weights, sub-com poses
    "dof_armature": mjw.SetConstGroup.INERT0,
}


def _rows_per_contact(model: mujoco.MjModel) -> int:
    condims = [int(model.geom_condim.max()) if model.ngeom else 1]
    if model.npair:
        condims.append(int(model.pair_dim.max()))
    condim = max(condims)
    if model.opt.cone == mujoco.mjtCone.mjCONE_ELLIPTIC:
        return condim
    return 1 if condim == 1 else 2 * (condim - 1)


def default_njmax(model: mujoco.MjModel, nconmax: int) -> int:
    """Constraint rows per world that ``nconmax`` contacts plus limits/equalities need."""
    return nconmax * _rows_per_contact(model) + model.nv + 6 * model.neq


def _torch_view(array: wp.array) -> torch.Tensor:
    """Zero-copy torch view of a Warp array (vector/matrix dtypes become trailing dims)."""
    return wp.to_torch(array, requires_grad=False)


class MujocoWarpBackend(Backend):
    """``num_envs`` worlds of one MjModel in a single MuJoCo Warp Data.

    Args:
        model: the compiled host ``mujoco.MjModel``.
        num_envs: number of worlds.
        device: "cuda", "cuda:N" or "cpu" (Warp's CPU device: slow, for tests), or a
            ``torch.device``.
        nconmax: contacts allocated per world (default :data:`DEFAULT_NCONMAX`).
        njmax: constraint rows per world (default :func:`default_njmax`).
        deterministic: ask mujoco-warp for deterministic contact ordering and reductions
            (``DeterminismType.ALL``): bitwise-reproducible runs on CUDA, at some speed cost.
            Warp's CPU device is deterministic either way.
    """

    name = "mujoco_warp"

    def __init__(
        self,
        model: mujoco.MjModel,
        num_envs: int,
        device: str | torch.device = "cuda",
        nconmax: int | None = None,
        njmax: int | None = None,
        deterministic: bool = False,
    ):
        if num_envs < 1:
            raise InputError(f"num_envs must be at least 1, got {num_envs}")
        self.model = model
        self.num_envs = num_envs
        self._wp_device = wp.get_device(str(device))
        self.device = torch.device(wp.device_to_torch(self._wp_device))
        self.nconmax = DEFAULT_NCONMAX if nconmax is None else int(nconmax)
        self.njmax = default_njmax(model, self.nconmax) if njmax is None else int(njmax)
        if self.nconmax < 0:
            raise InputError(f"nconmax must be >= 0, got {self.nconmax}")
        if self.njmax < 1:
            # with njmax=0 mujoco-warp skips the solver, and its Euler integrator then reads
            # an unset right-hand side (efc.Ma): the simulation silently stops moving
            raise InputError(f"njmax must be >= 1, got {self.njmax}")

        with wp.ScopedDevice(self._wp_device):
            self._m = mjw.put_model(model)
            if deterministic:
                self._m.opt.deterministic = int(mjw.DeterminismType.ALL)
            self._d = mjw.make_data(model, nworld=num_envs, nconmax=self.nconmax, njmax=self.njmax)

        d = self._d
        self.qpos = _torch_view(d.qpos)
        self.qvel = _torch_view(d.qvel)
        self.ctrl = _torch_view(d.ctrl)
        self.mocap_pos = _torch_view(d.mocap_pos)
        self.mocap_quat = _torch_view(d.mocap_quat)
        self.xpos = _torch_view(d.xpos)
        self.xquat = _torch_view(d.xquat)
        self.site_xpos = _torch_view(d.site_xpos)
        # (N, nsite, 3, 3) row-major -> (N, nsite, 9) as MjData.site_xmat; still a view
        self.site_xmat = _torch_view(d.site_xmat).view(num_envs, model.nsite, 9)
        self.sensordata = _torch_view(d.sensordata)
        for field in STATE_FIELDS + DERIVED_FIELDS:
            tensor = getattr(self, field)
            assert tensor.shape[0] == num_envs and tensor.dtype == torch.float32, field

        # per-world reset mask, shared between torch and Warp
        self._mask = torch.zeros(num_envs, dtype=torch.bool, device=self.device)
        self._mask_wp = wp.from_torch(self._mask, dtype=wp.bool)
        self._graphs: dict[int, object] = {}  # n_substeps -> captured CUDA graph
        self._streams: dict[int, object] = {}  # torch CUDA stream handle -> Warp stream
        self._warm = False  # CUDA: every kernel module loaded by an eager step

        with self._scope():
            mjw.reset_data(self._m, self._d)
            self._stage_vel()

    # -- execution helpers --------------------------------------------------------------

    def _torch_stream(self):
        """torch's current CUDA stream on this device, wrapped (once) as a Warp stream."""
        stream = torch.cuda.current_stream(self.device)
        wrapped = self._streams.get(stream.cuda_stream)
        if wrapped is None:
            wrapped = self._streams[stream.cuda_stream] = wp.stream_from_torch(stream)
        return wrapped

    @contextlib.contextmanager
    def _scope(self):
        """Run Warp work on this backend's device, on torch's current stream (CUDA), so it
        is ordered after the torch writes (ctrl, qpos, ...) that precede it."""
        with wp.ScopedDevice(self._wp_device):
            if self._wp_device.is_cuda:
                with wp.ScopedStream(self._torch_stream()):
                    yield
            else:
                yield

    def _stage_vel(self) -> None:
        """Position and velocity stages at the current state (mj_forward to mjSTAGE_VEL).

        Sensor data is not cleared first: position and velocity sensors are overwritten,
        acceleration sensors keep their last values, as MuJoCo's staged forward does.
        """
        mjw.fwd_position(self._m, self._d)
        mjw.sensor_pos(self._m, self._d)
        mjw.fwd_velocity(self._m, self._d)
        mjw.sensor_vel(self._m, self._d)

    def _substeps(self, n_substeps: int) -> None:
        for _ in range(n_substeps):
            mjw.step(self._m, self._d)
        self._stage_vel()

    def _set_mask(self, env_ids: torch.Tensor) -> torch.Tensor:
        ids = env_ids.to(self.device, torch.long)
        self._mask.zero_()
        self._mask[ids] = True
        return ids

    def _recompute(self, env_ids: torch.Tensor | None) -> None:
        """Derived tensors of ``env_ids`` (all when None) follow the state; others keep theirs.

        mujoco-warp has no per-world forward, so all worlds are recomputed and the other
        worlds' derived tensors put back: they stay bitwise what they were even if their
        state was written without a forward() since.
        """
        if env_ids is None:
            self._stage_vel()
            return
        derived = [getattr(self, f) for f in DERIVED_FIELDS]
        saved = [t.clone() for t in derived]
        self._stage_vel()
        for tensor, old in zip(derived, saved):
            if tensor.numel():
                keep = self._mask.view((-1,) + (1,) * (tensor.dim() - 1))
                tensor.copy_(torch.where(keep, tensor, old))

    # -- Backend API ------------------------------------------------------------------------

    def step(self, n_substeps: int = 1) -> None:
        n = int(n_substeps)
        if n < 1:
            return
        if not self._wp_device.is_cuda:
            with self._scope():
                self._substeps(n)
            return
        graph = self._graphs.get(n)
        if graph is None and self._warm:
            # capture on Warp's own stream (torch's default stream cannot be captured),
            # replay below on torch's current stream
            with wp.ScopedDevice(self._wp_device):
                with wp.ScopedCapture() as capture:
                    self._substeps(n)
            graph = self._graphs[n] = capture.graph
        if graph is None:
            # the first step runs eagerly: it loads every kernel module outside a capture
            with self._scope():
                self._substeps(n)
            self._warm = True
            return
        with wp.ScopedDevice(self._wp_device):
            wp.capture_launch(graph, stream=self._torch_stream())

    def reset(self, env_ids, qpos=None, qvel=None) -> None:
        if env_ids.numel() == 0:
            return
        ids = self._set_mask(env_ids)
        with self._scope():
            # model defaults for the masked worlds: qpos0, zero qvel/act/ctrl/warm start,
            # mocap poses from the model, time 0, contacts and applied forces cleared
            mjw.reset_data(self._m, self._d, reset=self._mask_wp)
            if qpos is not None:
                self.qpos[ids] = qpos.to(self.device, self.qpos.dtype)
            if qvel is not None:
                self.qvel[ids] = qvel.to(self.device, self.qvel.dtype)
            self._recompute(ids)

    def forward(self, env_ids=None) -> None:
        if env_ids is not None:
            if env_ids.numel() == 0:
                return
            self._set_mask(env_ids)
        with self._scope():
            self._recompute(env_ids)

    def _field(self, field: str) -> wp.array:
        return getattr(self._m, field)

    def _expand(self, field: str) -> torch.Tensor:
        """Make model ``field`` per-world (leading dim num_envs); return its torch view."""
        array = self._field(field)
        if array.shape[0] != self.num_envs:
            expanded = wp.empty((self.num_envs,) + tuple(array.shape[1:]), dtype=array.dtype, device=self._wp_device)
            with self._scope():
                _torch_view(expanded).copy_(_torch_view(array).expand_as(_torch_view(expanded)))
            setattr(self._m, field, expanded)
            self._graphs.clear()  # captured graphs hold the old array's address
        return _torch_view(self._field(field))

    def param(self, field: str) -> torch.Tensor:
        check_param_field(field)
        values = _torch_view(self._field(field))
        values = values.expand((self.num_envs,) + tuple(values.shape[1:]))
        return values.to(torch.float64, copy=True)

    def set_param(self, field: str, env_ids: torch.Tensor, values: torch.Tensor) -> None:
        check_param_field(field)
        if env_ids.numel() == 0:
            return
        ids = env_ids.to(self.device, torch.long)
        target = self._expand(field)
        target[ids] = values.to(self.device, target.dtype).reshape((ids.numel(),) + tuple(target.shape[1:]))
        if field in SETCONST_FIELDS:
            self._set_const(ids, _SETCONST_GROUPS[field])

    def _set_const(self, ids: torch.Tensor, groups) -> None:
        """mujoco_warp.set_const for worlds ``ids`` only.

        set_const computes every world; the constants of the other worlds, and the shared
        ones that cannot depend on mass or armature, are put back as they were (Warp would
        otherwise replace the host's float64-computed values by float32 recomputations).
        """
        for name in _MASS_DEPENDENT_CONSTANTS:
            self._expand(name)
        self._set_mask(ids)
        outputs = {}
        for name in _SETCONST_OUTPUTS:
            tensor = _torch_view(self._field(name))
            if tensor.numel():
                outputs[name] = (tensor, tensor.clone())
        with self._scope():
            mjw.set_const(self._m, self._d, groups=groups)
            for tensor, old in outputs.values():
                if tensor.shape[0] == self.num_envs:  # per-world: keep only the written worlds
                    keep = self._mask.view((-1,) + (1,) * (tensor.dim() - 1))
                    tensor.copy_(torch.where(keep, tensor, old))
                else:  # shared by all worlds
                    tensor.copy_(old)
