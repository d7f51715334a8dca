"""Fit the shading table from real ball presses, and the default calibrations.

Data (the format of the `taxim` package's ``calib/*/dataPack.npz``): ``f0`` (H, W, 3)
no-contact frame, ``imgs`` (N, H, W, 3) presses of a ball of known radius,
``touch_center`` (N, 2) contact centres in pixels (x = column, y = row) and
``touch_radius`` (N,) contact radii in pixels. For each press the ball's depth map is
known (depth d = R - sqrt(R^2 - a^2) from the contact radius a), so every pixel near
the contact gives one sample (slope bin, position) -> colour change, and each bin's
quadratic is a least-squares fit (Taxim, Si & Yuan 2022, Sec. III-B).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from simreal.cache import array_hash, cache_dir
from simreal.errors import InputError, MissingFileError
from simreal.sensors.tactile.calibration_io import Calibration
from simreal.sensors.tactile.sensors import SensorCfg, get_sensor
from simreal.sensors.tactile.shading import bin_index, gaussian_blur, position_basis, slope_features

HOLDOUT_EVERY = 4  # frames 3, 7, 11, ... are held out of the default fit for validation


class CalibrationMissingError(MissingFileError):
    """A sensor without a calibration and without public frames to make one."""


def load_press_data(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"ball-press data {path} does not exist")
    data = np.load(path, allow_pickle=False)
    need = {"f0", "imgs", "touch_center", "touch_radius"}
    if need - set(data.files):
        raise InputError(f"{path} lacks {sorted(need - set(data.files))}; expected the format of taxim's dataPack.npz "
                         "(f0, imgs, touch_center (x, y) px, touch_radius px)")
    return {k: data[k] for k in need}


def ball_depth_maps(centers_xy, radii_px, ball_radius_mm: float, mm_per_px: float, width: int, height: int,
                    device="cpu") -> torch.Tensor:
    """(N, H, W) depth maps (mm) of a ball pressed until its contact radius is radii_px."""
    c = torch.as_tensor(np.asarray(centers_xy, dtype=np.float32), device=device)
    a = torch.as_tensor(np.asarray(radii_px, dtype=np.float32), device=device) * mm_per_px
    R = ball_radius_mm
    if (a >= R).any():
        raise InputError(f"contact radius {float(a.max()):.3f} mm is not smaller than the ball radius {R} mm")
    depth = R - torch.sqrt(R * R - a * a)  # (N,)
    x = (torch.arange(width, device=device) + 0.5).view(1, 1, -1)
    y = (torch.arange(height, device=device) + 0.5).view(1, -1, 1)
    rho2 = ((x - c[:, 0, None, None]) ** 2 + (y - c[:, 1, None, None]) ** 2) * mm_per_px ** 2
    h = torch.sqrt((R * R - rho2).clamp_min(0)) - (R - depth.view(-1, 1, 1))
    return h.clamp_min(0)


def fit_calibration(data: dict, ball_radius_mm: float, mm_per_px: float, frames=None, n_mag: int = 32,
                    n_dir: int = 36, blur_sigma_mm: float = 0.03, ring: float = 1.3, ridge: float = 1.0,
                    meta: dict | None = None) -> Calibration:
    """Least-squares table from the presses ``frames`` (indices; default all)."""
    from scipy import ndimage

    imgs = data["imgs"] if frames is None else data["imgs"][np.asarray(frames)]
    centers = data["touch_center"] if frames is None else data["touch_center"][np.asarray(frames)]
    radii = data["touch_radius"] if frames is None else data["touch_radius"][np.asarray(frames)]
    if len(imgs) == 0:
        raise InputError("no ball-press frames to fit")
    H, W = imgs.shape[1:3]
    bg = torch.from_numpy(data["f0"].astype(np.float32))
    bg = gaussian_blur(bg.permute(2, 0, 1), 1.0, replicate=True).permute(1, 2, 0)  # sensor noise off the background
    depth = ball_depth_maps(centers, radii, ball_radius_mm, mm_per_px, W, H)
    theta, phi = slope_features(depth, mm_per_px, blur_sigma_mm)
    x = torch.arange(W).view(1, 1, -1) + 0.5
    y = torch.arange(H).view(1, -1, 1) + 0.5
    c = torch.as_tensor(centers.astype(np.float32))
    r = torch.as_tensor(radii.astype(np.float32))
    near = ((x - c[:, 0, None, None]) ** 2 + (y - c[:, 1, None, None]) ** 2) <= (ring * r.view(-1, 1, 1)) ** 2
    use = near & (theta > 1e-3)
    n, pix = use.reshape(len(imgs), -1).nonzero(as_tuple=True)
    th, ph = theta.reshape(len(imgs), -1)[n, pix], phi.reshape(len(imgs), -1)[n, pix]
    theta_max = float(torch.quantile(th, 0.995)) if th.numel() > 0 else math.pi / 4
    target = torch.from_numpy(imgs.reshape(len(imgs), -1, 3)[n.numpy(), pix.numpy()].astype(np.float32))
    target = target - bg.reshape(-1, 3)[pix]
    basis = position_basis(W, H)[pix]  # (M, 6)
    b = bin_index(th, ph, theta_max, n_mag, n_dir)
    nb = n_mag * n_dir
    ata = torch.zeros(nb, 6, 6, dtype=torch.float64).index_add_(0, b, (basis[:, :, None] * basis[:, None, :]).double())
    atb = torch.zeros(nb, 6, 3, dtype=torch.float64).index_add_(0, b, (basis[:, :, None] * target[:, None, :]).double())
    count = torch.zeros(nb, dtype=torch.float64).index_add_(0, b, torch.ones_like(th, dtype=torch.float64))
    mean = atb[:, 5, :] / count.clamp_min(1).unsqueeze(-1)  # the constant term's rows: sum of targets
    prior = torch.zeros(nb, 6, 3, dtype=torch.float64)
    prior[:, 5, :] = mean  # sparse bins shrink toward their mean colour change
    eye = torch.eye(6, dtype=torch.float64)
    coef = torch.linalg.solve(ata + ridge * eye, atb + ridge * prior)
    coef = coef.reshape(n_mag, n_dir, 6, 3).numpy()
    empty = (count == 0).reshape(n_mag, n_dir).numpy()
    if empty.all():
        raise InputError("no contact pixels in the ball-press frames; check touch_center/touch_radius")
    if empty.any():  # fill empty bins from the nearest fitted bin (direction wraps around)
        tiled = np.concatenate([empty] * 3, axis=1)
        _, (ii, jj) = ndimage.distance_transform_edt(tiled, return_indices=True)
        ii, jj = ii[:, n_dir:2 * n_dir], jj[:, n_dir:2 * n_dir] % n_dir
        coef = coef[ii, jj]
    info = {"ball_radius_mm": ball_radius_mm, "data_mm_per_px": mm_per_px, "frames": len(imgs),
            "samples": int(th.numel()), "filled_bins": int(empty.sum()), "bins": [n_mag, n_dir]}
    return Calibration(coef.astype(np.float32), bg.numpy(), theta_max, blur_sigma_mm, {**info, **(meta or {})})


def split_frames(n: int, holdout_every: int = HOLDOUT_EVERY) -> tuple[np.ndarray, np.ndarray]:
    """(fit, held-out) frame indices: every ``holdout_every``-th frame is held out."""
    idx = np.arange(n)
    held = idx % holdout_every == holdout_every - 1 if holdout_every > 0 else np.zeros(n, bool)
    return idx[~held], idx[held]


def taxim_data_path(source: str) -> Path:
    try:
        import taxim
    except ImportError as err:
        raise CalibrationMissingError(
            "the default tactile calibrations are fitted from real frames in the PyPI package `taxim`; "
            "install it with `pip install taxim` (or simreal[tactile])"
        ) from err
    path = Path(taxim.__file__).resolve().parent / "calib" / source / "dataPack.npz"
    if not path.is_file():
        raise CalibrationMissingError(f"taxim has no {path}; reinstall it with `pip install --force-reinstall taxim`")
    return path


def default_calibration_path(sensor: SensorCfg) -> Path:
    return cache_dir("tactile") / f"{sensor.name}_default.npz"


def get_calibration(sensor: str | SensorCfg, path=None) -> Calibration:
    """The sensor's calibration: ``path`` if given, else the cached default, fitted on first
    use from the real frames the sensor model names (every 4th frame held out)."""
    if path is not None:
        return Calibration.load(path)
    cfg = get_sensor(sensor) if isinstance(sensor, str) else sensor
    cached = default_calibration_path(cfg)
    if cached.is_file():
        return Calibration.load(cached)
    if cfg.calib_source is None:
        raise CalibrationMissingError(
            f"sensor {cfg.name!r} has no calibration and no public ball-press frames; record presses of a ball of "
            f"known radius (format of taxim's dataPack.npz) and run `simreal tactile calibrate --sensor {cfg.name} "
            f"--data FRAMES.npz --ball-radius-mm R --mm-per-px P` (it writes {cached}), or pass a calibration file"
        )
    return calibrate_default(cfg)


def calibrate_default(cfg: SensorCfg, out=None) -> Calibration:
    path = taxim_data_path(cfg.calib_source)
    data = load_press_data(path)
    fit, held = split_frames(len(data["imgs"]))
    calib = fit_calibration(
        data, cfg.calib_ball_radius_mm, cfg.calib_mm_per_px, frames=fit, blur_sigma_mm=cfg.blur_sigma_mm,
        meta={"sensor": cfg.name, "data": f"taxim/calib/{cfg.calib_source}/dataPack.npz",
              "data_hash": array_hash(data["imgs"][:2]), "fit_frames": fit.tolist(), "held_out_frames": held.tolist()},
    )
    calib.save(out or default_calibration_path(cfg))
    return calib
