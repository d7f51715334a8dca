"""Rendered ball presses against real frames the calibration did not use."""

from __future__ import annotations

import numpy as np
import torch

from simreal.sensors.tactile.calibration import ball_depth_maps
from simreal.sensors.tactile.calibration_io import Calibration
from simreal.sensors.tactile.shading import Shader

CONTACT_THRESHOLD = 12.0  # summed |RGB - background| above this counts as touched (0..765 scale)


def contact_radius_px(rgb: torch.Tensor, background: torch.Tensor, centers_xy, radii_px,
                      threshold: float = CONTACT_THRESHOLD) -> np.ndarray:
    """Contact radius (N,) estimated from images (N, H, W, 3): sqrt(area / pi) of the
    touched pixels within twice the annotated radius of the annotated centre."""
    N, H, W = rgb.shape[:3]
    touched = (rgb.float() - background.float()).abs().sum(-1) > threshold
    x = torch.arange(W).view(1, 1, -1) + 0.5
    y = torch.arange(H).view(1, -1, 1) + 0.5
    c = torch.as_tensor(np.asarray(centers_xy, dtype=np.float32))
    r = torch.as_tensor(np.asarray(radii_px, dtype=np.float32)).view(-1, 1, 1)
    window = (x - c[:, 0, None, None]) ** 2 + (y - c[:, 1, None, None]) ** 2 <= (2 * r) ** 2
    return torch.sqrt((touched & window).sum((1, 2)).float() / torch.pi).numpy()


def compare_with_real(calib: Calibration, data: dict, frames, ball_radius_mm: float, mm_per_px: float) -> dict:
    """Render the presses ``frames`` of ``data`` and compare with the real frames.

    Returns per-frame and mean: absolute pixel error inside the annotated contact (0..255,
    mean over pixels and channels), the same for the bare background (what shading must
    beat), and the contact radius estimated from the rendered image minus the annotation.
    """
    frames = np.asarray(frames)
    imgs = torch.from_numpy(data["imgs"][frames].astype(np.float32))
    centers, radii = data["touch_center"][frames], data["touch_radius"][frames]
    H, W = imgs.shape[1:3]
    shader = Shader(calib, W, H, mm_per_px)
    depth = ball_depth_maps(centers, radii, ball_radius_mm, mm_per_px, W, H)
    rgb = shader.render(depth)
    x = torch.arange(W).view(1, 1, -1) + 0.5
    y = torch.arange(H).view(1, -1, 1) + 0.5
    c = torch.as_tensor(centers.astype(np.float32))
    r = torch.as_tensor(radii.astype(np.float32)).view(-1, 1, 1)
    inside = ((x - c[:, 0, None, None]) ** 2 + (y - c[:, 1, None, None]) ** 2 <= r ** 2).unsqueeze(-1)
    n_in = inside.sum((1, 2, 3)).float() * 3
    mae = ((rgb - imgs).abs() * inside).sum((1, 2, 3)) / n_in
    mae_bg = ((shader.background - imgs).abs() * inside).sum((1, 2, 3)) / n_in
    r_sim = contact_radius_px(rgb, shader.background, centers, radii)
    r_real = contact_radius_px(imgs, shader.background, centers, radii)
    return {
        "frames": frames.tolist(),
        "mae_in_contact": float(mae.mean()), "mae_background_only": float(mae_bg.mean()),
        "radius_error_px": float(np.abs(r_sim - radii).mean()),
        "radius_error_mm": float(np.abs(r_sim - radii).mean() * mm_per_px),
        "radius_error_real_estimator_px": float(np.abs(r_real - radii).mean()),
        "per_frame_mae": [round(float(v), 2) for v in mae],
        "rendered": rgb,
    }
