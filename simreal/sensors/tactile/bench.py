"""``simreal bench tactile``: tactile RGB frames/s and force-field taxel updates/s, with
the same contacts rendered by the `taxim` package's own renderer (JAX backend) on the
same machine, at the same resolution and without shadows on either side."""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from simreal.sensors.tactile.calibration import ball_depth_maps, get_calibration
from simreal.sensors.tactile.forces import force_field
from simreal.sensors.tactile.geometry import ContactGeometry, gel_grid
from simreal.sensors.tactile.sdf import SphereSdf
from simreal.sensors.tactile.sensor import TactileSensorArray
from simreal.sensors.tactile.sensors import get_sensor
from simreal.sensors.tactile.shading import Shader

BALL_RADIUS_MM = 2.0


def _contacts(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n ball presses: centres as a fraction of the image (x, y) and contact radius (mm)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.25, 0.75, size=(n, 2)), rng.uniform(0.5, 1.6, size=n)


def _depth_maps(centres, radii_mm, width, height, mm_per_px, device="cpu") -> torch.Tensor:
    c = centres * np.array([width, height])
    return ball_depth_maps(c, radii_mm / mm_per_px, BALL_RADIUS_MM, mm_per_px, width, height, device=device)


def _rate(fn, items_per_call: int, seconds: float) -> float:
    fn()  # warm-up
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= seconds:
            return n * items_per_call / dt


def taxim_rate(depth_mm: np.ndarray, seconds: float, chunk: int = 8) -> dict:
    """Taxim's JAX renderer on the same depth maps (height map = -depth in contact, far elsewhere)."""
    try:
        import jax  # noqa: F401
        from taxim import CALIB_GELSIGHT, Taxim
    except ImportError as err:
        return {"taxim_frames_per_s": None, "taxim_note": f"taxim baseline skipped: {err}; `pip install jax taxim`"}
    sim = Taxim(calib_folder=CALIB_GELSIGHT, backend="jax")
    hm = np.where(depth_mm > 0, -depth_mm, 5.0).astype(np.float32)
    n = min(chunk, len(hm))
    batches = [hm[i:i + n] for i in range(0, len(hm) - n + 1, n)]
    t0 = time.perf_counter()
    np.asarray(sim.render(batches[0], with_shadow=False))  # compile
    compile_s = time.perf_counter() - t0
    k, frames, t0 = 0, 0, time.perf_counter()
    while True:
        np.asarray(sim.render(batches[k % len(batches)], with_shadow=False))
        frames += n
        k += 1
        if time.perf_counter() - t0 >= seconds and k >= 2:
            break
    return {"taxim_frames_per_s": frames / (time.perf_counter() - t0), "taxim_compile_s": compile_s,
            "taxim_batch": n, "taxim_note": "taxim JAX backend, with_shadow=False, same depth maps"}


def bench_tactile(sensor: str = "gelsight_r15", num_envs: int = 256, policy_width: int = 80, seconds: float = 5.0,
                  device: str = "cpu", taxim: bool = True, threads: int = 0, progress=None) -> dict:
    if threads > 0:  # on a loaded machine one thread can beat two (no waiting at OpenMP barriers)
        torch.set_num_threads(threads)
    cfg = get_sensor(sensor)
    say = progress or (lambda msg: None)
    calib = get_calibration(cfg)
    centres, radii = _contacts(num_envs)
    W, H = cfg.width_px, cfg.height_px
    depth_full = _depth_maps(centres, radii, W, H, cfg.mm_per_px, device)
    shader = Shader(calib, W, H, cfg.mm_per_px, device)
    say(f"RGB {W}x{H}, batch {num_envs}")
    full = _rate(lambda: shader.render_uint8(depth_full), num_envs, seconds)
    pw, ph = policy_width, int(round(policy_width * H / W))
    depth_pol = _depth_maps(centres, radii, pw, ph, cfg.mm_per_px_at(pw), device)
    pshader = Shader(calib, pw, ph, cfg.mm_per_px_at(pw), device)
    say(f"RGB {pw}x{ph}, batch {num_envs}")
    pol = _rate(lambda: pshader.render(depth_pol), num_envs, seconds)

    # whole pipeline at policy resolution and the force field: balls posed against the sensors
    arr = TactileSensorArray(cfg, num_envs, width=pw, calibration=None, device=device)
    a = torch.as_tensor(radii, dtype=torch.float32, device=device) * 1e-3
    R = BALL_RADIUS_MM * 1e-3
    press = R - torch.sqrt(R * R - a * a)
    xy = torch.as_tensor((centres - 0.5) * [cfg.gel_width_mm, cfg.gel_height_mm], dtype=torch.float32) * 1e-3
    centre = torch.cat([xy.to(device), (R - press).unsqueeze(1)], 1)
    geom = ContactGeometry([SphereSdf(R)], torch.eye(3, device=device).expand(num_envs, 1, 3, 3), -centre.unsqueeze(1))
    say(f"SDF -> depth -> RGB {pw}x{ph}, batch {num_envs}")
    pipe = _rate(lambda: arr.rgb(arr.depth(geom)), num_envs, seconds)
    taxels = gel_grid(cfg.taxel_cols, cfg.taxel_rows, cfg.gel_width_mm * 1e-3, cfg.gel_height_mm * 1e-3, device)
    slip = torch.zeros(num_envs, 3, device=device)
    slip[:, 0] = 0.01
    say(f"force field {cfg.taxel_rows}x{cfg.taxel_cols} taxels, batch {num_envs}")
    taxel_rate = _rate(lambda: force_field(geom, taxels, slip, cfg.k_n, cfg.k_t, cfg.mu), num_envs * len(taxels),
                       seconds)
    result = {
        "bench": "tactile", "sensor": cfg.name, "num_envs": num_envs, "device": str(device),
        "torch_threads": torch.get_num_threads(), "load_avg_1min": round(os.getloadavg()[0], 2),
        "resolution": [W, H], "rgb_frames_per_s": full,
        "policy_resolution": [pw, ph], "policy_rgb_frames_per_s": pol,
        "policy_pipeline_frames_per_s": pipe,
        "taxels": [cfg.taxel_rows, cfg.taxel_cols], "taxel_updates_per_s": taxel_rate,
    }
    if taxim:
        say(f"taxim {W}x{H} (JAX, no shadows)")
        result.update(taxim_rate(depth_full.cpu().numpy(), seconds))
    else:
        result.update({"taxim_frames_per_s": None, "taxim_note": "taxim baseline not run (--no-taxim)"})
    t = result["taxim_frames_per_s"]
    result["ratio_vs_taxim"] = full / t if t else None
    return result
