"""A batch of tactile sensors fixed to bodies of the simulation: depth, RGB, forces.

Each of the B sensors has a world pose and velocity (e.g. a gel pad site on a finger);
the touched objects have SDFs, world poses and velocities. One call computes, for all
sensors at once, the depth image, the shaded RGB image (optionally the difference from
the background and augmented) and the force field in each sensor's frame.
"""

from __future__ import annotations

import torch

from simreal.sensors.tactile.augment import AugmentCfg, TactileAugment
from simreal.sensors.tactile.calibration import get_calibration
from simreal.sensors.tactile.depth import penetration_depth
from simreal.sensors.tactile.forces import force_field
from simreal.sensors.tactile.geometry import ContactGeometry, gel_grid, sensor_to_object
from simreal.sensors.tactile.sdf import Sdf
from simreal.sensors.tactile.sensors import SensorCfg, get_sensor
from simreal.sensors.tactile.shading import Shader


class TactileSensorArray:
    """B sensors of one model rendering at ``width`` pixels (height keeps the aspect)."""

    def __init__(self, sensor: str | SensorCfg, num_sensors: int, width: int | None = None, calibration=None,
                 augment: AugmentCfg | None = None, difference: bool = False, device="cpu",
                 generator: torch.Generator | None = None):
        self.cfg = get_sensor(sensor) if isinstance(sensor, str) else sensor
        self.num_sensors, self.device, self.difference = num_sensors, torch.device(device), difference
        self.width = int(width or self.cfg.width_px)
        self.height = int(round(self.width * self.cfg.height_px / self.cfg.width_px))
        self.mm_per_px = self.cfg.mm_per_px_at(self.width)
        gel_w, gel_h = self.cfg.gel_width_mm * 1e-3, self.cfg.gel_height_mm * 1e-3
        self.pixels = gel_grid(self.width, self.height, gel_w, gel_h, device=device)
        self.taxels = gel_grid(self.cfg.taxel_cols, self.cfg.taxel_rows, gel_w, gel_h, device=device)
        self._calibration, self._shader = calibration, None
        self.augment = TactileAugment(augment, num_sensors, generator, device) if augment else None

    @property
    def shader(self) -> Shader:
        """Built on first use: depth and forces need no calibration."""
        if self._shader is None:
            calib = get_calibration(self.cfg, self._calibration)
            self._shader = Shader(calib, self.width, self.height, self.mm_per_px, self.device)
        return self._shader

    def geometry(self, sdfs: list[Sdf], sensor_pos, sensor_rot, obj_pos, obj_rot) -> ContactGeometry:
        """sensor_pos (B, 3), sensor_rot (B, 3, 3); obj_pos (B, K, 3), obj_rot (B, K, 3, 3), world frame."""
        rots, transs = zip(*(sensor_to_object(sensor_pos, sensor_rot, obj_pos[:, k], obj_rot[:, k])
                             for k in range(len(sdfs))))
        return ContactGeometry(sdfs, torch.stack(rots, 1), torch.stack(transs, 1))

    def depth(self, geom: ContactGeometry) -> torch.Tensor:
        """(B, H, W) penetration in mm."""
        d = penetration_depth(geom, self.pixels, self.cfg.gel_thickness_mm * 1e-3)
        return d.reshape(-1, self.height, self.width) * 1e3

    def rgb(self, depth_mm: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) float in [0, 255] (or signed difference), augmented if configured."""
        img = self.shader.render(depth_mm, difference=self.difference)
        if self.augment is not None and not self.difference:
            img = self.augment.apply(img)
        return img

    def forces(self, geom: ContactGeometry, slip_vel: torch.Tensor) -> torch.Tensor:
        """(B, rows, cols, 3) [normal, shear x, shear y] in N; slip_vel (B, 3) or (B, N, 3):
        velocity of the gel relative to the object, sensor frame."""
        f = force_field(geom, self.taxels, slip_vel, self.cfg.k_n, self.cfg.k_t, self.cfg.mu)
        return f.reshape(-1, self.cfg.taxel_rows, self.cfg.taxel_cols, 3)

    def reset(self, env_ids: torch.Tensor) -> None:
        if self.augment is not None:
            self.augment.resample(env_ids)
