"""A real (or rendered) tactile frame -> the contact the policy reads.

Steps, per frame against the sensor's no-contact reference frame:
1. Exposure: the reference is scaled per channel by the frame's median brightness ratio
   to it (a camera's exposure drift; contact covers a minority of the frame), reported.
   The reference must be of the same sensor in the same place: one shifted by 4 or more
   pixels (640x480) shows its own edges as contact on an empty frame; recapture it.
2. Colour change -> surface gradients through the calibration's shading table run
   backwards (:class:`~simreal.sensors.tactile.inverse.GradientTable`), only where the
   (blurred) change exceeds ``change_level``; integrated to a depth map (Poisson solve).
3. Contact: connected regions where the surface is pressed in (the depth map's
   Laplacian negative: an indenter's cap, unlike the gel's relaxing skirt around it) and
   whose cap stands at least ``min_depth_mm`` above the gel around it. The contact depth
   is the cap's height above that surrounding level.
4. The quantities of the simulator's tactile terms, from the contact depth through the
   same gel stiffness model: the normal force field on the sensor's taxel grid (k_n times
   the depth at each taxel centre; a single frame without markers shows no shear, so the
   shear columns are zero), the pad's total normal force, the force-weighted centroid
   (``tactile_contact_summary``).
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from simreal.cache import array_hash, cache_dir
from simreal.errors import InputError
from simreal.sensors.tactile.calibration import get_calibration
from simreal.sensors.tactile.geometry import gel_grid
from simreal.sensors.tactile.inverse import GradientTable, divergence, integrate
from simreal.sensors.tactile.sensors import SensorCfg, get_sensor
from simreal.sensors.tactile.shading import gaussian_blur


@dataclass(frozen=True)
class ReaderCfg:
    work_width: int = 320  # frames are read at most this wide (area-averaged); depth is smooth
    blur_px: float = 1.0  # smoothing of the colour change against sensor noise (working pixels)
    change_level: float = 5.0  # |colour change| (0..255 RGB norm) below this is background
    concave_blur_px: float = 1.0  # smoothing of the Laplacian that separates cap from skirt
    # 1/mm: a cap has a Laplacian below minus this (a 2 mm ball: -1 at its top; a 12 mm peg lying
    # across the pad: -1/6, which 0.3 missed in one grip of ten)
    min_curvature: float = 0.1
    min_depth_mm: float = 0.04  # a cap shallower than this is not a contact
    min_radius_mm: float = 0.15  # nor one smaller than a disc of this radius


@dataclass
class Contact:
    """What one frame says. Pixel coordinates are those of the frame given (x: column,
    y: row, pixel centres at +0.5); millimetres in the sensor frame (origin at the gel's
    centre, x along columns, y along rows)."""

    in_contact: bool
    centroid_px: tuple[float, float]
    centroid_mm: tuple[float, float]
    radius_mm: float  # radius of the disc with the contact's area
    peak_depth_mm: float
    force_n: float  # total normal force on the pad (the summary's first entry)
    summary: np.ndarray  # (3,) [normal force N, centroid x mm, centroid y mm] on the taxel grid
    field: np.ndarray  # (rows, cols, 3) [normal, shear x, shear y] N
    depth_mm: np.ndarray  # (h, w) contact depth at the working resolution
    gain: tuple[float, float, float]  # frame / reference brightness per channel

    def as_dict(self) -> dict:
        """Plain JSON: centroids are null without contact."""
        return {"in_contact": self.in_contact,
                "centroid_px": [round(v, 2) for v in self.centroid_px] if self.in_contact else None,
                "centroid_mm": [round(v, 4) for v in self.centroid_mm] if self.in_contact else None,
                "radius_mm": round(self.radius_mm, 4), "peak_depth_mm": round(self.peak_depth_mm, 4),
                "force_n": round(self.force_n, 4), "summary": [round(float(v), 4) for v in self.summary],
                "gain": [round(v, 4) for v in self.gain]}


_TABLES: dict[str, GradientTable] = {}


def gradient_table(calib) -> GradientTable:
    """The calibration's inverse table: built once (about 2 s), then cached on disk (keyed by
    the table and the builder's version; an unreadable cache file is rebuilt)."""
    key = array_hash(calib.table, np.float32(calib.theta_max), GradientTable.VERSION)
    if key not in _TABLES:
        path = cache_dir("tactile") / f"inverse_{key}.npz"
        table = None
        if path.is_file():
            try:
                table = GradientTable.load(path)
            except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):
                table = None
        if table is None:
            table = GradientTable(calib)
            try:
                table.save(path)
            except OSError:  # a read-only cache: use the table, build it again next time
                pass
        _TABLES[key] = table
    return _TABLES[key]


def as_rgb_frame(frame, what: str = "frame") -> np.ndarray:
    """(H, W, 3) float32 0..255 from an (H, W, 3) or (H, W) uint8/float array."""
    a = np.asarray(frame)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3:
        raise InputError(f"{what} must be an (H, W, 3) RGB or (H, W) mono image, got shape {a.shape}")
    if a.shape[0] < 16 or a.shape[1] < 16:
        raise InputError(f"{what} is {a.shape[1]}x{a.shape[0]} pixels; a tactile frame needs at least 16x16")
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise InputError(f"{what} must hold numbers (uint8 0..255 or float), got dtype {a.dtype}")
    a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise InputError(f"{what} holds non-finite values")
    if a.min() < 0 or a.max() > 255.5:
        raise InputError(f"{what} holds values in [{a.min():g}, {a.max():g}]; frames are 0..255 "
                         "(8 bits per channel: scale 16-bit or 0..1 images first)")
    return a


def resize_frame(frame, width: int, height: int) -> np.ndarray:
    """(height, width, 3) float32: an (H, W, 3) frame resampled (antialiased bilinear)."""
    a = np.asarray(frame, np.float32)
    if a.shape[:2] == (height, width):
        return a
    t = torch.from_numpy(a).permute(2, 0, 1).unsqueeze(0)
    t = F.interpolate(t, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    return t.squeeze(0).permute(1, 2, 0).numpy()


class ContactReader:
    """Reads frames of one sensor at one resolution: that of ``reference``, or, when none
    is given, the calibration's own no-contact frame resampled to each frame's size."""

    def __init__(self, sensor: str | SensorCfg = "gelsight_r15", calibration=None, reference=None,
                 cfg: ReaderCfg | None = None):
        self.sensor = get_sensor(sensor) if isinstance(sensor, str) else sensor
        self.cfg = cfg or ReaderCfg()
        self.calib = get_calibration(self.sensor, calibration)
        self.table = gradient_table(self.calib)
        self.own_reference = reference is not None
        self._use_reference(self.calib.background if reference is None else reference)

    def calibration_reference(self, width: int, height: int) -> np.ndarray:
        """The calibration's no-contact frame at ``width`` x ``height``."""
        return resize_frame(self.calib.background, width, height)

    def set_reference(self, frame) -> None:
        """A new no-contact frame (e.g. captured with the gripper open); fixes the resolution."""
        self.own_reference = True
        self._use_reference(frame)

    def _use_reference(self, frame) -> None:
        ref = as_rgb_frame(frame, "reference frame")
        self.height, self.width = ref.shape[:2]
        aspect = self.sensor.height_px / self.sensor.width_px
        if abs(self.height / self.width - aspect) > 0.02 * aspect:
            raise InputError(f"a {self.sensor.name} frame is {self.sensor.width_px}x{self.sensor.height_px} "
                             f"(aspect {aspect:.3f}); this one is {self.width}x{self.height}")
        self.mm_per_px = self.sensor.mm_per_px_at(self.width)
        self.factor = max(1, math.ceil(self.width / self.cfg.work_width))
        self.ref = self._work(ref)
        self.work_mm_per_px = self.mm_per_px * self.width / self.ref.shape[2]
        gel_w, gel_h = self.sensor.gel_width_mm * 1e-3, self.sensor.gel_height_mm * 1e-3
        self.taxels_mm = gel_grid(self.sensor.taxel_cols, self.sensor.taxel_rows, gel_w, gel_h)[:, :2] * 1e3

    def _work(self, frame: np.ndarray) -> torch.Tensor:
        """(3, h, w) the frame at the working resolution, lightly blurred."""
        x = torch.from_numpy(frame).permute(2, 0, 1)
        if self.factor > 1:
            x = F.avg_pool2d(x.unsqueeze(0), self.factor, ceil_mode=True).squeeze(0)
        return gaussian_blur(x, self.cfg.blur_px, replicate=True)

    def read(self, frame) -> Contact:
        frame = as_rgb_frame(frame)
        if not self.own_reference and frame.shape[:2] != (self.height, self.width):
            self._use_reference(self.calibration_reference(frame.shape[1], frame.shape[0]))
        if frame.shape[:2] != (self.height, self.width):
            raise InputError(f"frame is {frame.shape[1]}x{frame.shape[0]}, the reference "
                             f"{self.width}x{self.height}; capture a reference at the frame's size")
        img = self._work(frame)
        gain = _gain(img, self.ref)
        delta = img - self.ref * gain.view(3, 1, 1)  # (3, h, w)
        changed = (delta * delta).sum(0) > self.cfg.change_level ** 2
        grad = torch.zeros(*changed.shape, 2)
        if changed.any():
            rows, cols = changed.nonzero(as_tuple=True)
            h, w = changed.shape
            grad[rows, cols] = self.table.lookup(delta[:, rows, cols].T, (cols + 0.5) / w, (rows + 0.5) / h)
        mmpp = self.work_mm_per_px
        div = divergence(grad.numpy(), mmpp)
        depth = integrate(div, mmpp)
        contact = self._contact(depth, div, mmpp)
        return self._measure(contact, tuple(float(g) for g in gain))

    def _contact(self, depth: np.ndarray, div: np.ndarray, mmpp: float) -> np.ndarray:
        """(h, w) contact depth in mm: caps above their surrounding level, zero elsewhere."""
        concave = ndimage.gaussian_filter(div, self.cfg.concave_blur_px) < -self.cfg.min_curvature
        labels, n = ndimage.label(concave & (depth > 0))
        out = np.zeros_like(depth)
        min_area = math.pi * (self.cfg.min_radius_mm / mmpp) ** 2
        areas = np.bincount(labels.ravel(), minlength=n + 1)
        h, w = depth.shape
        for k, box in enumerate(ndimage.find_objects(labels), start=1):
            if box is None or areas[k] < min_area:
                continue
            # the component's box, grown by the two-pixel ring its surrounding level is read on
            ys = slice(max(box[0].start - 3, 0), min(box[0].stop + 3, h))
            xs = slice(max(box[1].start - 3, 0), min(box[1].stop + 3, w))
            region = ndimage.binary_fill_holes(labels[ys, xs] == k)
            edge = ndimage.binary_dilation(region, iterations=2) & ~region
            sub = depth[ys, xs]
            level = float(np.median(sub[edge])) if edge.any() else 0.0  # the gel around the cap
            cap = np.where(region, sub - level, 0.0).clip(0)
            if cap.max() >= self.cfg.min_depth_mm:
                out[ys, xs] = np.maximum(out[ys, xs], cap)
        return out

    def _measure(self, depth: np.ndarray, gain) -> Contact:
        h, w = depth.shape
        scale = self.width / w  # working -> frame pixels
        field = np.zeros((self.sensor.taxel_rows, self.sensor.taxel_cols, 3), np.float32)
        mask = depth > 0
        if not mask.any():
            return Contact(False, (math.nan, math.nan), (math.nan, math.nan), 0.0, 0.0, 0.0,
                           np.zeros(3, np.float32), field, depth.astype(np.float32), gain)
        ys, xs = np.nonzero(mask)
        wts = depth[mask]
        cx, cy = (np.average(xs + 0.5, weights=wts) * scale, np.average(ys + 0.5, weights=wts) * scale)
        mm = (float((cx - self.width / 2) * self.mm_per_px), float((cy - self.height / 2) * self.mm_per_px))
        radius = math.sqrt(mask.sum() / math.pi) * self.work_mm_per_px
        # the force field: depth at the taxel centres (bilinear), through k_n (N/m per taxel)
        tx = self.taxels_mm[:, 0].numpy() / self.work_mm_per_px + w / 2 - 0.5
        ty = self.taxels_mm[:, 1].numpy() / self.work_mm_per_px + h / 2 - 0.5
        d_tax = ndimage.map_coordinates(depth, [ty, tx], order=1, mode="constant")
        fn = (self.sensor.k_n * d_tax * 1e-3).astype(np.float32)
        field[..., 0] = fn.reshape(self.sensor.taxel_rows, self.sensor.taxel_cols)
        total = float(fn.sum())
        centroid = fn @ self.taxels_mm.numpy() / max(total, 1e-6)
        summary = np.array([total, *centroid], np.float32)
        return Contact(True, (float(cx), float(cy)), mm, float(radius), float(depth.max()), total, summary, field,
                       depth.astype(np.float32), gain)


def _gain(img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """(3,) per-channel median brightness ratio of ``img`` to ``ref`` (contact is a minority)."""
    return (img.reshape(3, -1) / ref.reshape(3, -1).clamp_min(1.0)).median(dim=1).values
