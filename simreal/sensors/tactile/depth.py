"""Tactile depth: how far objects press into the gel, per pixel, seen from the camera.

For each pixel's ray (parallel to the sensor's z axis; the gel is thin next to the
camera distance) the penetration is the height of the object's lowest surface point
below the undeformed gel surface. Pixels whose gel-surface point lies outside every
object see no contact; the others march down the ray by the SDF value (never
overshooting the surface) until they reach the object's underside or the gel's base.
"""

from __future__ import annotations

import warnings

import torch

from simreal.sensors.tactile.geometry import ContactGeometry, gel_grid


def penetration_depth(geom: ContactGeometry, surface: torch.Tensor, thickness_m: float, iters: int = 12,
                      tol_m: float = 1e-7, warn: bool = True) -> torch.Tensor:
    """Penetration (B, N) in metres at gel-surface points ``surface`` (N, 3) (z = 0).

    Depth beyond ``thickness_m`` is clamped (with a warning when ``warn``).
    """
    B, N = geom.batch, surface.shape[0]
    d0, _ = geom.query(surface.unsqueeze(0).expand(B, N, 3), normals=False)
    depth = torch.zeros(B, N, dtype=surface.dtype, device=surface.device)
    # an object pushed wholly below the surface does not cross z = 0: test the gel's base
    # where an object is near enough to reach it
    nb, npid = ((d0 >= 0) & (d0 <= thickness_m)).nonzero(as_tuple=True)
    sunk = 0
    if nb.numel() > 0:
        base = surface[npid].clone()
        base[:, 2] = -thickness_m
        below = geom.query(base, nb, normals=False)[0] < 0
        depth[nb[below], npid[below]] = thickness_m
        sunk = int(below.sum())
    bid, pid = (d0 < 0).nonzero(as_tuple=True)  # only touched pixels march
    if bid.numel() == 0:
        _warn_clamped(sunk, thickness_m, warn)
        return depth
    p = surface[pid].clone()
    z = d0[bid, pid]  # first step: down by the distance to the surface
    for _ in range(iters):
        z = z.clamp_min(-thickness_m)
        p[:, 2] = z
        s, _ = geom.query(p, bid, normals=False)
        z = z + s.clamp_max(0)
        if (s.abs() < tol_m).all() or bool((z <= -thickness_m).all()):
            break
    deep = z < -thickness_m
    _warn_clamped(int(deep.sum()) + sunk, thickness_m, warn)
    depth[bid, pid] = (-z).clamp(0, thickness_m)
    return depth


def _warn_clamped(count: int, thickness_m: float, warn: bool) -> None:
    if warn and count:
        warnings.warn(
            f"{count} pixels pressed deeper than the gel thickness ({thickness_m * 1e3:.2f} mm); "
            "their depth is clamped to the thickness", stacklevel=3,
        )


def depth_image(geom: ContactGeometry, width: int, height: int, gel_width_m: float, gel_height_m: float,
                thickness_m: float, warn: bool = True) -> torch.Tensor:
    """Depth map (B, height, width) in millimetres of the gel as the camera sees it."""
    device = geom.rot.device
    surface = gel_grid(width, height, gel_width_m, gel_height_m, device=device)
    return penetration_depth(geom, surface, thickness_m, warn=warn).reshape(-1, height, width) * 1e3
