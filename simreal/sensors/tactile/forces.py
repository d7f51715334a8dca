"""Tactile force field: TacSL's penalty model on a grid of taxels (Akinola et al. 2024).

Per taxel on the gel surface with penetration d = max(0, -sdf) and object normal n:
normal force f_n = k_n d (along n, pressing the gel), and a shear force opposing the
gel's tangential slip relative to the object, f_t = -min(k_t |v_t|, mu f_n) v_t/|v_t|,
so that |f_t| <= mu f_n. Forces are those the gel feels, in the sensor frame.
"""

from __future__ import annotations

import torch

from simreal.sensors.tactile.geometry import ContactGeometry


def penalty_forces(dist: torch.Tensor, normal: torch.Tensor, slip_vel: torch.Tensor,
                   k_n: float, k_t: float, mu: float) -> torch.Tensor:
    """(B, N, 3): normal force, shear x, shear y per taxel (N, sensor frame).

    dist (B, N) signed distance at the taxel (m), normal (B, N, 3) object outward normal,
    slip_vel (B, N, 3) velocity of the gel relative to the object (m/s); all sensor frame.
    """
    f_n = k_n * (-dist).clamp_min(0)
    v_t = slip_vel - (slip_vel * normal).sum(-1, keepdim=True) * normal
    speed = v_t.norm(dim=-1)
    f_t_mag = torch.minimum(k_t * speed, mu * f_n)
    f_t = -f_t_mag.unsqueeze(-1) * v_t / speed.clamp_min(1e-12).unsqueeze(-1)
    return torch.stack([f_n, f_t[..., 0], f_t[..., 1]], dim=-1)


def force_field(geom: ContactGeometry, taxels: torch.Tensor, slip_vel: torch.Tensor,
                k_n: float, k_t: float, mu: float) -> torch.Tensor:
    """Force field (B, N, 3) at taxel centres ``taxels`` (N, 3) on the gel surface.

    slip_vel: (B, 3) or (B, N, 3) gel-relative-to-object velocity in the sensor frame.
    """
    B, N = geom.batch, taxels.shape[0]
    dist, normal = geom.query(taxels.unsqueeze(0).expand(B, N, 3))
    if slip_vel.dim() == 2:
        slip_vel = slip_vel.unsqueeze(1).expand(B, N, 3)
    return penalty_forces(dist, normal, slip_vel, k_n, k_t, mu)
