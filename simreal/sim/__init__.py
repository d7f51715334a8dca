"""Simulation backends. The only package in simreal that imports a simulator."""

from __future__ import annotations

from simreal.errors import InputError
from simreal.sim.backend import PARAM_FIELDS, Backend
from simreal.sim.scene import ModelError, compile_mjcf

BACKENDS = ("mujoco", "mujoco_warp")


def make_backend(model, num_envs: int, backend: str = "mujoco", device: str = "cpu", nthread: int = 0) -> Backend:
    """Build ``num_envs`` copies of a compiled ``mujoco.MjModel`` on an engine.

    backend: "mujoco" (CPU threads; ``nthread`` 0 means all cores) or "mujoco_warp"
    (MuJoCo Warp; ``device`` "cuda", "cuda:N" or "cpu" for Warp's slow CPU device).
    """
    if backend == "mujoco":
        if str(device) != "cpu":
            raise InputError(f"the 'mujoco' backend runs on the CPU; for device {device!r} use backend='mujoco_warp'")
        from simreal.sim.mujoco_cpu import MujocoCpuBackend

        return MujocoCpuBackend(model, num_envs, nthread=nthread)
    if backend == "mujoco_warp":
        from simreal.sim.mujoco_warp import MujocoWarpBackend

        return MujocoWarpBackend(model, num_envs, device=device)
    raise InputError(f"unknown backend {backend!r}; choose one of {list(BACKENDS)}")


__all__ = ["BACKENDS", "PARAM_FIELDS", "Backend", "ModelError", "compile_mjcf", "make_backend"]
