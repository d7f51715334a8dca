"""Objects seen from the sensors: poses, batched SDF queries in the sensor frame.

Sensor frame: origin at the centre of the gel surface, z the gel's outward normal
(pointing at what it touches), x along image columns, y along image rows. The gel
occupies z < 0; the camera sits at z = -camera_distance looking along +z.
"""

from __future__ import annotations

import torch

from simreal.errors import InputError
from simreal.sensors.tactile.sdf import Sdf


def sensor_to_object(sensor_pos, sensor_rot, obj_pos, obj_rot) -> tuple[torch.Tensor, torch.Tensor]:
    """Transform taking sensor-frame points into an object's frame: ``p_o = A p_s + b``.

    Poses in the world: positions (B, 3), rotation matrices (B, 3, 3) whose columns
    are the frame's axes. Returns A (B, 3, 3), b (B, 3).
    """
    rot = obj_rot.transpose(-1, -2) @ sensor_rot
    trans = (obj_rot.transpose(-1, -2) @ (sensor_pos - obj_pos).unsqueeze(-1)).squeeze(-1)
    return rot, trans


class ContactGeometry:
    """Shapes posed relative to a batch of B sensors.

    sdfs: K shapes; rot (B, K, 3, 3), trans (B, K, 3): sensor -> object k transforms
    (see :func:`sensor_to_object`).
    """

    def __init__(self, sdfs: list[Sdf], rot: torch.Tensor, trans: torch.Tensor):
        if rot.shape[1] != len(sdfs) or trans.shape[1] != len(sdfs):
            raise InputError(f"{len(sdfs)} shapes but poses for {rot.shape[1]}")
        self.sdfs, self.rot, self.trans = sdfs, rot, trans
        self.batch = rot.shape[0]

    def query(self, p: torch.Tensor, bid: torch.Tensor | None = None,
              normals: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Nearest shape at sensor-frame points.

        p: (B, N, 3) with one row per sensor, or (M, 3) with ``bid`` (M,) naming each
        point's sensor. Returns distance (B, N) or (M,) and that shape's outward normal
        in the sensor frame, (..., 3) (None unless ``normals``).
        """
        best_d = best_n = None
        for k, sdf in enumerate(self.sdfs):
            rot, trans = self.rot[:, k], self.trans[:, k]
            if bid is not None:
                rot, trans = rot[bid], trans[bid]
                q = (rot @ p.unsqueeze(-1)).squeeze(-1) + trans
            else:
                q = p @ rot.transpose(-1, -2) + trans.unsqueeze(1)
            if not normals:
                d = sdf.distance(q)
                best_d = d if best_d is None else torch.minimum(best_d, d)
                continue
            d, n = sdf.distance_and_normal(q)
            # object -> sensor frame, R^T n, for row vectors
            n = (n.unsqueeze(-2) @ rot).squeeze(-2) if bid is not None else n @ rot
            if best_d is None:
                best_d, best_n = d, n
            else:
                closer = d < best_d
                best_d = torch.where(closer, d, best_d)
                best_n = torch.where(closer.unsqueeze(-1), n, best_n)
        return best_d, best_n


def gel_grid(cols: int, rows: int, width_m: float, height_m: float, device="cpu") -> torch.Tensor:
    """Centres of a rows x cols grid over the gel surface (z = 0): (rows*cols, 3), row-major."""
    x = (torch.arange(cols, device=device, dtype=torch.float32) + 0.5 - cols / 2) * (width_m / cols)
    y = (torch.arange(rows, device=device, dtype=torch.float32) + 0.5 - rows / 2) * (height_m / rows)
    yy, xx = torch.meshgrid(y, x, indexing="ij")
    return torch.stack([xx, yy, torch.zeros_like(xx)], dim=-1).reshape(-1, 3)
