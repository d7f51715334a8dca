"""Offscreen rendering of backend state with MuJoCo's renderer (EGL or OSMesa)."""

from __future__ import annotations

import mujoco
import numpy as np

from simreal.sim.backend import Backend


class BatchRenderer:
    """Renders chosen envs of a backend from the scene's ``overview`` camera."""

    def __init__(self, backend: Backend, width: int = 480, height: int = 360, camera: str = "overview"):
        self.backend = backend
        self.model = backend.model
        try:
            self._renderer = mujoco.Renderer(self.model, height, width)
        except Exception as err:
            raise RuntimeError(
                f"offscreen rendering failed ({err}). Install Mesa's EGL (Debian: libegl1 libgl1-mesa-dri) "
                "or OSMesa (libosmesa6 with MUJOCO_GL=osmesa)"
            ) from err
        self._data = mujoco.MjData(self.model)
        self._camera = camera if mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, camera) >= 0 else -1

    def render(self, env_ids: list[int]) -> list[np.ndarray]:
        """One (height, width, 3) uint8 image per env id (a loop, but not a hot path)."""
        qpos = self.backend.qpos.detach().cpu().double().numpy()
        mocap = self.backend.mocap_pos.detach().cpu().double().numpy()
        images = []
        for i in env_ids:
            self._data.qpos[:] = qpos[i]
            self._data.mocap_pos[:] = mocap[i]
            mujoco.mj_forward(self.model, self._data)
            self._renderer.update_scene(self._data, camera=self._camera)
            images.append(self._renderer.render().copy())
        return images

    def close(self) -> None:
        self._renderer.close()


def tile(images: list[np.ndarray]) -> np.ndarray:
    """Arrange images in a near-square grid."""
    n = len(images)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    h, w, c = images[0].shape
    grid = np.zeros((rows * h, cols * w, c), dtype=np.uint8)
    for k, img in enumerate(images):
        r, q = divmod(k, cols)
        grid[r * h : (r + 1) * h, q * w : (q + 1) * w] = img
    return grid
