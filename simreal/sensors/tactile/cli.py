"""``simreal tactile calibrate|press|read`` and ``simreal bench tactile|tactile-read``."""

from __future__ import annotations

import json
import math
import sys

from simreal.argtypes import finite_float, nonneg_float, nonneg_int, positive_float, positive_int
from simreal.errors import InputError


def _calibrate(args) -> int:
    from simreal.sensors.tactile.calibration import (
        calibrate_default,
        default_calibration_path,
        fit_calibration,
        load_press_data,
        split_frames,
        taxim_data_path,
    )
    from simreal.sensors.tactile.sensors import get_sensor
    from simreal.sensors.tactile.validate import compare_with_real

    cfg = get_sensor(args.sensor)
    out = args.out or default_calibration_path(cfg)
    ball = args.ball_radius_mm or cfg.calib_ball_radius_mm
    if args.data is None:
        if cfg.calib_source is None:
            raise InputError(f"sensor {cfg.name!r} has no public ball-press frames; pass --data FRAMES.npz "
                             "(taxim's dataPack.npz format) with --ball-radius-mm and --mm-per-px")
        data_path, mm_per_px = taxim_data_path(cfg.calib_source), args.mm_per_px or cfg.calib_mm_per_px
    else:
        data_path, mm_per_px = args.data, args.mm_per_px or cfg.calib_mm_per_px
    data = load_press_data(data_path)
    fit, held = split_frames(len(data["imgs"]), args.holdout_every)
    if args.data is None and args.out is None and args.holdout_every == 4 and args.ball_radius_mm is None:
        calib = calibrate_default(cfg)
    else:
        calib = fit_calibration(data, ball, mm_per_px, frames=fit, blur_sigma_mm=cfg.blur_sigma_mm,
                                meta={"sensor": cfg.name, "data": str(data_path), "fit_frames": fit.tolist(),
                                      "held_out_frames": held.tolist()})
        calib.save(out)
    print(f"fitted {cfg.name} from {len(fit)} presses of {data_path} (ball radius {ball} mm, {mm_per_px} mm/px); "
          f"wrote {out}", file=sys.stderr)
    result = {"sensor": cfg.name, "calibration": str(out), "fit_frames": len(fit), "held_out_frames": len(held)}
    if len(held):
        val = compare_with_real(calib, data, held, ball, mm_per_px)
        val.pop("rendered")
        print(f"held-out presses: mean abs pixel error in contact {val['mae_in_contact']:.2f} "
              f"(background alone {val['mae_background_only']:.2f}), contact radius error "
              f"{val['radius_error_px']:.2f} px = {val['radius_error_mm']:.3f} mm", file=sys.stderr)
        result.update({k: v for k, v in val.items() if k != "frames"})
    print(json.dumps(result))
    return 0


def _press(args) -> int:
    import numpy as np

    from simreal.sensors.tactile.press import press, save_picture
    from simreal.sensors.tactile.sensors import get_sensor

    try:
        size = [float(s) for s in str(args.size_mm).split(",")]
    except ValueError:
        raise InputError(f"--size-mm takes numbers separated by commas, e.g. 4 or 6,10; got {args.size_mm!r}") from None
    if not all(math.isfinite(v) and v > 0 for v in size):
        raise InputError(f"--size-mm must be finite and > 0, got {args.size_mm!r}")
    sensor = get_sensor(args.sensor)
    if args.taxels:
        try:
            rows, cols = (int(v) for v in args.taxels.lower().split("x"))
        except ValueError:
            raise InputError(f"--taxels takes ROWSxCOLS, e.g. 20x28; got {args.taxels!r}") from None
        if rows < 1 or cols < 1:
            raise InputError(f"--taxels needs at least one row and column, got {args.taxels!r}")
        sensor = get_sensor(args.sensor, taxel_rows=rows, taxel_cols=cols)
    result = press(sensor, args.indenter, size, args.depth_mm, slide_mm=args.slide_mm, width=args.width,
                   calibration=args.calibration)
    np.savez_compressed(args.out, **result)
    f = result["forces"]
    print(f"wrote {args.out}: depth {result['depth_mm'].shape} max {result['depth_mm'].max():.3f} mm, "
          f"rgb {result['rgb'].shape}, forces {f.shape}: normal {f[..., 0].sum():.3f} N, "
          f"shear ({f[..., 1].sum():.3f}, {f[..., 2].sum():.3f}) N")
    if args.png:
        print(f"wrote {save_picture(result, args.png)}")
    return 0


def load_frame(path: str, what: str = "image"):
    """(H, W, 3) or (H, W) array from a PNG/JPEG/BMP/TIFF file or a .npy array."""
    from pathlib import Path

    import numpy as np

    from simreal.errors import MissingFileError

    p = Path(path)
    if not p.is_file():
        raise MissingFileError(f"{what} {p} does not exist")
    if p.suffix.lower() == ".npy":
        try:
            return np.load(p, allow_pickle=False)
        except (ValueError, EOFError, OSError) as err:
            raise InputError(f"{what} {p} is not a plain .npy array ({err})") from None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(p) as im:
            if im.mode.startswith("I") or im.mode == "F":
                raise InputError(f"{what} {p} is a {im.mode} image (16-bit or float); give 8 bits per channel, "
                                 "or a .npy array scaled to 0..255")
            return np.asarray(im.convert("RGB") if im.mode not in ("RGB", "L") else im)
    except (UnidentifiedImageError, OSError) as err:
        raise InputError(f"{what} {p} is not an image PIL can read ({err}); give a PNG, JPEG or .npy") from None


def _read(args) -> int:
    from simreal.sensors.tactile.reader import ContactReader

    frame = load_frame(args.image)
    reference = load_frame(args.reference, "reference") if args.reference else None
    reader = ContactReader(args.sensor, calibration=args.calibration, reference=reference)
    contact = reader.read(frame)
    if args.png:
        import numpy as np
        from scipy import ndimage

        from simreal.sensors.tactile.press import save_picture

        rgb = np.asarray(frame)
        rgb = np.repeat(rgb[..., None], 3, axis=2) if rgb.ndim == 2 else rgb
        zoom = (rgb.shape[0] / contact.depth_mm.shape[0], rgb.shape[1] / contact.depth_mm.shape[1])
        picture = {"rgb": rgb.clip(0, 255).astype(np.uint8), "forces": contact.field,
                   "depth_mm": ndimage.zoom(contact.depth_mm, zoom, order=1)}
        print(f"wrote {save_picture(picture, args.png)}", file=sys.stderr)
    out = contact.as_dict()
    print(json.dumps({"sensor": reader.sensor.name, "image": args.image, **out}))
    return 0


def _strict(obj):
    """JSON-safe: a non-finite number (a missed press counts as infinitely wrong) becomes null."""
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v) for v in obj]
    return None if isinstance(obj, float) and not math.isfinite(obj) else obj


def _bench_read(args) -> int:
    from simreal.sensors.tactile.read_bench import bench_read

    sensors = ["gelsight_r15", "gelsight_mini"] if args.sensor == "all" else [args.sensor]
    result = bench_read(sensors, seed=args.seed, peg=not args.no_peg,
                        progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(json.dumps(_strict(result), allow_nan=False))
    return 0


def _bench(args) -> int:
    from simreal.sensors.tactile.bench import bench_tactile

    result = bench_tactile(args.sensor, args.num_envs, policy_width=args.policy_width, seconds=args.seconds,
                           device=args.device, taxim=not args.no_taxim, threads=args.threads,
                           progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(json.dumps(result))
    return 0


def add_verbs(verbs, bench) -> None:
    tactile = verbs.add_parser("tactile", help="visuotactile sensors: calibrate shading, press an indenter")
    sub = tactile.add_subparsers(dest="tactile", required=True, metavar="TACTILE")

    p = sub.add_parser("calibrate", help="fit a sensor's shading table from real ball-press frames")
    p.add_argument("--sensor", default="gelsight_r15")
    p.add_argument("--data", help="ball-press frames (.npz like taxim's dataPack.npz); "
                                  "default: the sensor's taxim data")
    p.add_argument("--ball-radius-mm", type=positive_float,
                   help="radius of the pressed ball (default: the sensor's data)")
    p.add_argument("--mm-per-px", type=positive_float, help="pixel size of the frames (default: the sensor's data)")
    p.add_argument("--holdout-every", type=nonneg_int, default=4,
                   help="hold out every N-th frame for validation (0: none)")
    p.add_argument("--out", help="calibration file (default: the sensor's cached default)")
    p.set_defaults(func=_calibrate)

    p = sub.add_parser("press", help="press an indenter into a sensor; write depth, RGB and forces")
    p.add_argument("--sensor", default="gelsight_r15")
    p.add_argument("--indenter", default="sphere", help="sphere | cylinder | box | path to a mesh file")
    p.add_argument("--size-mm", default="4", help="sphere: diameter; cylinder: diameter[,length]; box: x[,y[,z]]; "
                                                  "mesh: largest extent")
    p.add_argument("--depth-mm", type=nonneg_float, required=True)
    p.add_argument("--slide-mm", type=finite_float, default=0.0, help="tangential slide along the sensor's x axis")
    p.add_argument("--width", type=positive_int, help="image width in pixels (default: the sensor's native width)")
    p.add_argument("--calibration", help="calibration file (default: the sensor's cached default)")
    p.add_argument("--taxels", help="force field grid ROWSxCOLS (default: the sensor model's, 10x14)")
    p.add_argument("--out", default="press.npz")
    p.add_argument("--png", help="also write image, depth and force field side by side")
    p.set_defaults(func=_press)

    p = sub.add_parser("read", help="a frame -> contact: centroid, radius, depth, normal force (JSON, last line)")
    p.add_argument("image", help="the frame: PNG/JPEG (RGB or mono) or .npy (H, W, 3) 0..255")
    p.add_argument("--sensor", default="gelsight_r15", help="gelsight_r15 | gelsight_mini | digit")
    p.add_argument("--reference", help="the sensor's no-contact frame, same size (default: the calibration's own)")
    p.add_argument("--calibration", help="calibration file (default: the sensor's cached default)")
    p.add_argument("--png", help="also write the frame, the recovered depth and the force field side by side")
    p.set_defaults(func=_read)

    p = bench.add_parser("tactile-read", help="frame reader on held-out real presses: errors, robustness, ms/frame")
    p.add_argument("--sensor", default="all", help="gelsight_r15 | gelsight_mini | all")
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--no-peg", action="store_true", help="skip the peg task's own pads (sim against pipeline)")
    p.set_defaults(func=_bench_read)

    p = bench.add_parser("tactile", help="tactile RGB frames/s and taxel updates/s, against taxim's renderer")
    p.add_argument("--sensor", default="gelsight_r15")
    p.add_argument("--num-envs", type=positive_int, default=256)
    p.add_argument("--policy-width", type=positive_int, default=80, help="policy image width (TacSL: 80x60)")
    p.add_argument("--seconds", type=positive_float, default=5.0, help="measuring time per figure")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-taxim", action="store_true", help="skip the taxim baseline")
    p.add_argument("--threads", type=nonneg_int, default=0, help="torch CPU threads (0: torch's default)")
    p.set_defaults(func=_bench)
