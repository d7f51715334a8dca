"""``simreal bench tactile-read``: the frame reader on real ball presses it was not fitted on.

For each held-out press of a sensor's public calibration data (every 4th frame, as in
the default calibration): centroid error against the annotated centre, radius error
against the annotated contact radius, and the recovered peak depth against the ball's
cap height at that radius, R - sqrt(R^2 - a^2). The same under what real streams do
(exposure drift, sensor noise, a reference a few pixels off), false contacts on the
no-contact frame under each, and the time per frame.
"""

from __future__ import annotations

import math
import time

import numpy as np

from simreal.sensors.tactile.calibration import load_press_data, split_frames, taxim_data_path
from simreal.sensors.tactile.reader import ContactReader, resize_frame
from simreal.sensors.tactile.sensors import get_sensor

TARGETS = {"centroid_mm": 0.15, "radius_mm": 0.15, "depth_rel": 0.25}

# (name, brightness gain, noise std in 0..255 levels, reference shift in frame pixels)
CONDITIONS = (("clean", 1.0, 0.0, 0), ("brightness +10%", 1.1, 0.0, 0), ("brightness -10%", 0.9, 0.0, 0),
              ("noise 3", 1.0, 3.0, 0), ("noise 6", 1.0, 6.0, 0), ("shift 2 px", 1.0, 0.0, 2),
              ("shift 4 px", 1.0, 0.0, 4), ("shift 8 px", 1.0, 0.0, 8))


def perturb(frame: np.ndarray, gain: float, noise: float, rng: np.random.Generator) -> np.ndarray:
    out = frame.astype(np.float32) * gain
    if noise > 0:
        out = out + rng.normal(0.0, noise, out.shape).astype(np.float32)
    return out.clip(0, 255)


def shifted(frame: np.ndarray, px: int) -> np.ndarray:
    """The frame moved ``px`` pixels right and down (edges repeated)."""
    if px == 0:
        return frame
    out = np.roll(frame, (px, px), axis=(0, 1))
    out[:px] = out[px]
    out[:, :px] = out[:, px:px + 1]
    return out


def bench_sensor(sensor: str, seed: int = 0, conditions=CONDITIONS, progress=None) -> dict:
    cfg = get_sensor(sensor)
    data = load_press_data(taxim_data_path(cfg.calib_source))
    _, held = split_frames(len(data["imgs"]))
    mmpp, R = cfg.calib_mm_per_px, cfg.calib_ball_radius_mm
    rng = np.random.default_rng(seed)
    rows = {}
    for name, gain, noise, shift in conditions:
        reader = ContactReader(cfg, reference=shifted(data["f0"], shift))
        cen, rad, dep, times = [], [], [], []
        for i in held:
            frame = perturb(data["imgs"][i], gain, noise, rng)
            t0 = time.perf_counter()
            c = reader.read(frame)
            times.append(time.perf_counter() - t0)
            a = float(data["touch_radius"][i]) * mmpp
            cx, cy = data["touch_center"][i]
            if not c.in_contact:
                cen.append(math.inf), rad.append(math.inf), dep.append(math.inf)  # infinitely wrong
                continue
            cen.append(math.hypot(c.centroid_px[0] - cx, c.centroid_px[1] - cy) * mmpp)
            rad.append(abs(c.radius_mm - a))
            dep.append(abs(c.peak_depth_mm / (R - math.sqrt(R * R - a * a)) - 1))
        none = [reader.read(perturb(data["f0"], gain, noise, rng)).in_contact for _ in range(4)]
        rows[name] = {
            "centroid_err_mm_median": float(np.median(cen)), "radius_err_mm_median": float(np.median(rad)),
            "depth_err_rel_median": float(np.median(dep)), "depth_err_rel_max": float(np.max(dep)),
            "missed": int(np.isinf(cen).sum()), "false_contacts": int(sum(none)), "no_contact_frames": len(none),
            "ms_p50": 1e3 * float(np.median(times)),
        }
        rows[name]["within_targets"] = bool(
            rows[name]["centroid_err_mm_median"] <= TARGETS["centroid_mm"]
            and rows[name]["radius_err_mm_median"] <= TARGETS["radius_mm"]
            and rows[name]["depth_err_rel_median"] <= TARGETS["depth_rel"] and rows[name]["false_contacts"] == 0)
        if progress:
            progress(f"{sensor} {name}: " + ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                                     for k, v in rows[name].items()))
    return {"sensor": sensor, "held_out_frames": [int(i) for i in held], "frame_px": list(data["f0"].shape[1::-1]),
            "conditions": rows, "targets": TARGETS}


# presses rendered by simreal's own shader: (indenter, size_mm, depth_mm, at_mm)
SIM_PRESSES = (("sphere", 4.0, 0.3, (0.0, 0.0)), ("sphere", 4.0, 0.8, (3.0, -2.0)), ("sphere", 6.0, 0.5, (-4.0, 2.5)),
               ("cylinder", (3.0, 8.0), 0.4, (2.0, 1.0)), ("box", (4.0, 3.0, 3.0), 0.3, (-2.0, -1.5)),
               ("sphere", 3.0, 0.6, (5.5, 3.5)))


def sim_agreement(sensor: str, width: int) -> dict:
    """The reader on images the simulator renders, against the simulator's own summary
    (total normal force, force-weighted centroid) of the same press."""
    from simreal.sensors.tactile.press import press

    cfg = get_sensor(sensor)
    reader = ContactReader(cfg)
    force_rel, centroid_mm, rows = [], [], []
    for kind, size, depth, at in SIM_PRESSES:
        p = press(cfg, kind, size if isinstance(size, tuple) else [size], depth, width=width, at_mm=at)
        fn = p["forces"][..., 0]
        total = float(fn.sum())
        sim_c = (fn[..., None] * p["taxel_xy_mm"]).sum((0, 1)) / max(total, 1e-9)
        c = reader.read(p["rgb"])
        force_rel.append(abs(c.force_n / total - 1) if total > 0 else math.inf)
        centroid_mm.append(float(np.hypot(*(c.summary[1:] - sim_c))) if c.in_contact else math.inf)
        rows.append({"press": f"{kind} {size} mm at {at} mm, {depth} mm deep", "sim_force_n": round(total, 3),
                     "read_force_n": round(c.force_n, 3), "sim_centroid_mm": [round(float(v), 3) for v in sim_c],
                     "read_centroid_mm": [round(float(v), 3) for v in c.summary[1:]],
                     "sim_peak_mm": round(float(p["depth_mm"].max()), 3), "read_peak_mm": round(c.peak_depth_mm, 3)})
    return {"width": width, "force_err_rel_median": float(np.median(force_rel)),
            "force_err_rel_max": float(np.max(force_rel)), "centroid_err_mm_median": float(np.median(centroid_mm)),
            "centroid_err_mm_max": float(np.max(centroid_mm)), "presses": rows}


def frame_times(sensor: str, width: int, frames: np.ndarray, reference: np.ndarray, repeat: int = 3) -> dict:
    """ms per frame (p50, p99) on one core, frames resampled to ``width``."""
    import torch

    def resize(a):
        return resize_frame(a, width, int(round(width * a.shape[0] / a.shape[1])))

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        reader = ContactReader(sensor, reference=resize(reference))
        imgs = [resize(f) for f in frames]
        reader.read(imgs[0])
        times = []
        for _ in range(repeat):
            for img in imgs:
                t0 = time.perf_counter()
                reader.read(img)
                times.append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)
    return {"width": width, "ms_p50": 1e3 * float(np.median(times)), "ms_p99": 1e3 * float(np.percentile(times, 99))}


def bench_read(sensors, seed: int = 0, policy_width: int = 80, peg: bool = True, progress=None) -> dict:
    out = {}
    for sensor in sensors:
        cfg = get_sensor(sensor)
        data = load_press_data(taxim_data_path(cfg.calib_source))
        res = bench_sensor(sensor, seed=seed, progress=progress)
        res["time"] = [frame_times(sensor, w, data["imgs"], data["f0"]) for w in (data["f0"].shape[1], policy_width)]
        res["sim"] = [sim_agreement(sensor, w) for w in (policy_width, cfg.width_px)]
        if progress:
            for t in res["time"]:
                progress(f"{sensor} {t['width']} px wide: {t['ms_p50']:.1f} ms p50, {t['ms_p99']:.1f} ms p99 (1 core)")
            for s in res["sim"]:
                progress(f"{sensor} rendered at {s['width']} px: force error {s['force_err_rel_median']:.3f} median "
                         f"({s['force_err_rel_max']:.3f} max), centroid error {s['centroid_err_mm_median']:.3f} mm "
                         f"median ({s['centroid_err_mm_max']:.3f} max)")
        out[sensor] = res
    if peg:  # at full size and at the size the task cell streams to a deployed student
        out["peg"] = [peg_agreement(seed=seed, width=w) for w in (640, policy_width)]
        for p in out["peg"] if progress else ():
            progress(f"peg pads ({p['pads']}, {p['width']} px): force error {p['force_err_n_median']:.2f} N median "
                     f"(sim mean {p['sim_force_n_mean']:.2f} N, read {p['read_force_n_mean']:.2f} N), centroid "
                     f"error {p['centroid_err_mm_median']:.2f} mm (across the pad {p['centroid_x_err_mm_median']:.2f}, "
                     f"along it {p['centroid_y_err_mm_median']:.2f})")
    return out


def peg_agreement(num_envs: int = 8, steps: int = 30, width: int = 640, seed: int = 0) -> dict:
    """The reader on franka-peg-insert-tactile's own pads (the peg held in the hand, its
    in-hand offset drawn per episode), against the env's ``tactile_contact_summary``."""
    import torch

    from simreal.registry import make_env
    from simreal.sensors.tactile.observations import tactile_contact_summary, tactile_rgb
    from simreal.tasks.franka_peg_tactile.config import SENSOR, SHAPES, SITES

    env = make_env("franka-peg-insert-tactile", num_envs=num_envs, seed=seed)
    reader = ContactReader(SENSOR)
    for _ in range(steps):
        env.step(torch.zeros(num_envs, env.num_actions))
    rgb = tactile_rgb(env, SENSOR, SITES, SHAPES, width=width).reshape(num_envs * len(SITES), -1, width, 3) * 255
    sim = tactile_contact_summary(env, SENSOR, SITES, SHAPES).reshape(-1, 3).numpy()
    read = np.stack([reader.read(img.numpy()).summary for img in rgb])
    force = np.abs(read[:, 0] - sim[:, 0])
    centroid = np.hypot(*(read[:, 1:] - sim[:, 1:]).T)
    return {"pads": len(sim), "width": width, "sim_force_n_mean": float(sim[:, 0].mean()),
            "force_err_n_median": float(np.median(force)), "force_err_n_p90": float(np.percentile(force, 90)),
            "centroid_err_mm_median": float(np.median(centroid)),
            "centroid_err_mm_p90": float(np.percentile(centroid, 90)), "read_force_n_mean": float(read[:, 0].mean()),
            "centroid_x_err_mm_median": float(np.median(np.abs(read[:, 1] - sim[:, 1]))),
            "centroid_y_err_mm_median": float(np.median(np.abs(read[:, 2] - sim[:, 2]))),
            "read_in_contact": int((read[:, 0] > 0).sum())}
