"""Press an indenter into a sensor's gel: depth, RGB and force field of one contact.

The indenter's lowest point sits ``depth_mm`` below the gel surface; with ``slide_mm``
it has slid that far along the sensor's x axis (at ``slide_speed_mm_s``), which sets
the slip velocity of the shear forces.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from simreal.errors import InputError
from simreal.sensors.tactile.calibration import get_calibration
from simreal.sensors.tactile.depth import depth_image
from simreal.sensors.tactile.forces import force_field
from simreal.sensors.tactile.geometry import ContactGeometry, gel_grid
from simreal.sensors.tactile.sdf import BoxSdf, CylinderSdf, Sdf, SphereSdf
from simreal.sensors.tactile.sensors import SensorCfg, get_sensor
from simreal.sensors.tactile.shading import Shader

PRIMITIVES = ("sphere", "cylinder", "box")


def make_indenter(kind: str, size_mm) -> Sdf:
    """An indenter in metres. sphere: diameter; cylinder: diameter[, length] (lying along
    the sensor's y axis); box: x[, y[, z]] side lengths; anything else: a mesh file
    scaled so that its largest extent is size_mm[0]."""
    size = [float(s) * 1e-3 for s in (size_mm if isinstance(size_mm, (list, tuple)) else [size_mm])]
    if not size or any(s <= 0 for s in size):
        raise InputError(f"indenter sizes must be positive millimetres, got {size_mm}")
    if kind == "sphere":
        return SphereSdf(size[0] / 2)
    if kind == "cylinder":
        return _LyingCylinder(size[0] / 2, (size[1] if len(size) > 1 else 4 * size[0]) / 2)
    if kind == "box":
        sx = size[0]
        sy = size[1] if len(size) > 1 else sx
        sz = size[2] if len(size) > 2 else sx
        return BoxSdf((sx / 2, sy / 2, sz / 2))
    from simreal.sensors.tactile.mesh_sdf import load_watertight_mesh, mesh_sdf

    path = Path(kind)
    if not path.suffix:
        raise InputError(f"unknown indenter {kind!r}; use one of {list(PRIMITIVES)} or a mesh file (.stl, .obj, .ply)")
    mesh = load_watertight_mesh(path)
    mesh.apply_scale(size[0] / float(mesh.extents.max()))
    mesh.apply_translation(-mesh.bounding_box.centroid)
    return mesh_sdf(mesh)


class _LyingCylinder(CylinderSdf):
    """Cylinder whose axis is the sensor's y axis (a rod pressed sideways)."""

    def distance(self, p):
        return super().distance(p[..., [0, 2, 1]])

    @property
    def lowest_z(self):
        return -self.radius


def press(sensor: str | SensorCfg, indenter: str, size_mm, depth_mm: float, slide_mm: float = 0.0,
          slide_speed_mm_s: float = 10.0, width: int | None = None, calibration=None, device="cpu",
          at_mm: tuple[float, float] = (0.0, 0.0)) -> dict:
    """One press, centred at ``at_mm`` (x, y on the gel) before any slide. Returns numpy
    arrays: depth_mm (H, W), rgb (H, W, 3) uint8, forces (rows, cols, 3) [normal, shear x,
    shear y] in N, taxel_xy_mm (rows, cols, 2), and scalars mm_per_px, depth and slide."""
    cfg = get_sensor(sensor) if isinstance(sensor, str) else sensor
    if not (math.isfinite(depth_mm) and depth_mm >= 0):
        raise InputError(f"press depth must be a finite number >= 0 mm, got {depth_mm}")
    if not math.isfinite(slide_mm) or not (math.isfinite(slide_speed_mm_s) and slide_speed_mm_s >= 0):
        raise InputError(f"slide must be finite and its speed >= 0, got slide {slide_mm} mm at {slide_speed_mm_s} mm/s")
    if width is not None and int(width) < 1:
        raise InputError(f"image width must be at least 1 pixel, got {width}")
    sdf = make_indenter(indenter, size_mm).to(device)
    W = int(width or cfg.width_px)
    H = int(round(W * cfg.height_px / cfg.width_px))
    mm_per_px = cfg.mm_per_px_at(W)
    centre = torch.tensor([(at_mm[0] + slide_mm) * 1e-3, at_mm[1] * 1e-3, -depth_mm * 1e-3 - sdf.lowest_z],
                          device=device)
    geom = ContactGeometry([sdf], torch.eye(3, device=device).view(1, 1, 3, 3), -centre.view(1, 1, 3))
    gel_w, gel_h = cfg.gel_width_mm * 1e-3, cfg.gel_height_mm * 1e-3
    depth = depth_image(geom, W, H, gel_w, gel_h, cfg.gel_thickness_mm * 1e-3)
    shader = Shader(get_calibration(cfg, calibration), W, H, mm_per_px, device=device)
    rgb = shader.render_uint8(depth)
    taxels = gel_grid(cfg.taxel_cols, cfg.taxel_rows, gel_w, gel_h, device=device)
    direction = float(np.sign(slide_mm))
    slip = torch.tensor([[-direction * slide_speed_mm_s * 1e-3, 0.0, 0.0]], device=device)  # gel relative to object
    forces = force_field(geom, taxels, slip, cfg.k_n, cfg.k_t, cfg.mu)
    return {
        "depth_mm": depth[0].cpu().numpy().astype(np.float32),
        "rgb": rgb[0].cpu().numpy(),
        "forces": forces[0].reshape(cfg.taxel_rows, cfg.taxel_cols, 3).cpu().numpy().astype(np.float32),
        "taxel_xy_mm": (taxels[:, :2] * 1e3).reshape(cfg.taxel_rows, cfg.taxel_cols, 2).cpu().numpy(),
        "mm_per_px": np.float32(mm_per_px),
        "taxel_pitch_mm": np.array([cfg.gel_width_mm / cfg.taxel_cols, cfg.gel_height_mm / cfg.taxel_rows], np.float32),
        "press_depth_mm": np.float32(depth_mm),
        "slide_mm": np.float32(slide_mm),
    }


def save_picture(result: dict, path) -> Path:
    """PNG: tactile image | depth map | force field (normal force as shade, shear as arrows)."""
    from PIL import Image, ImageDraw

    rgb = result["rgb"]
    H, W = rgb.shape[:2]
    depth = result["depth_mm"]
    d = (255 * depth / max(float(depth.max()), 1e-9)).astype(np.uint8)
    forces = result["forces"]
    rows, cols = forces.shape[:2]
    canvas = Image.new("RGB", (3 * W + 20, H), (255, 255, 255))
    canvas.paste(Image.fromarray(rgb), (0, 0))
    canvas.paste(Image.fromarray(np.stack([d] * 3, -1)), (W + 10, 0))
    field = Image.new("RGB", (W, H), (250, 250, 250))
    draw = ImageDraw.Draw(field)
    fn = forces[..., 0]
    fmax = max(float(fn.max()), 1e-12)
    cw, ch = W / cols, H / rows
    smax = max(float(np.linalg.norm(forces[..., 1:], axis=-1).max()), 1e-12)
    for i in range(rows):  # a picture, not a hot path
        for j in range(cols):
            shade = int(255 * (1 - fn[i, j] / fmax))
            x0, y0 = j * cw, i * ch
            draw.rectangle([x0 + 1, y0 + 1, x0 + cw - 1, y0 + ch - 1], fill=(255, shade, shade))
            sx, sy = forces[i, j, 1] / smax, forces[i, j, 2] / smax
            if abs(sx) + abs(sy) > 1e-3:
                cx, cy = x0 + cw / 2, y0 + ch / 2
                draw.line([cx, cy, cx + sx * cw * 0.45, cy + sy * ch * 0.45], fill=(0, 0, 160), width=2)
    canvas.paste(field, (2 * W + 20, 0))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path
