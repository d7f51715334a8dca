"""``simreal twin check`` / ``view`` helpers: find a twin's files and run the MuJoCo checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from simreal.errors import MissingFileError
from simreal.twin.errors import TwinInputError


def twin_files(twin_dir) -> tuple[Path, dict]:
    """(MJCF path, report) of a twin directory written by ``simreal twin build``."""
    d = Path(twin_dir)
    if not d.is_dir():
        raise MissingFileError(f"{d} is not a directory; give the --out directory of `simreal twin build`")
    report_path = d / "report.json"
    if report_path.is_file():
        report = json.loads(report_path.read_text())
        mjcf = d / report["files"]["mjcf"]
    else:
        xmls = sorted(d.glob("*.xml"))
        if not xmls:
            raise TwinInputError(f"{d} holds no report.json and no MJCF; "
                                 f"run `simreal twin build INPUT --out {d}` first")
        mjcf, report = xmls[0], {}
    if not mjcf.is_file():
        raise MissingFileError(f"{mjcf} is missing; rebuild the twin")
    return mjcf, report


def check_dir(twin_dir) -> list[dict]:
    """Drive every joint of the twin to both limits under PD control (MuJoCo)."""
    from simreal.sim.scene import ModelError, compile_mjcf
    from simreal.twin.articulation import check_twin

    mjcf, _ = twin_files(twin_dir)
    try:
        compile_mjcf(mjcf)
    except ModelError as err:
        raise TwinInputError(str(err)) from err
    return check_twin(mjcf)


def view_dir(twin_dir, out_png, width: int = 320, height: int = 240) -> Path:
    """Render the twin at rest and each movable joint at its upper and lower limits, tiled."""
    from PIL import Image

    from simreal.sim.render import tile
    from simreal.twin.articulation import joint_limits, render_twin

    mjcf, _ = twin_files(twin_dir)
    limits = joint_limits(mjcf)
    configs = [{}]
    for name, lim in limits.items():
        lo, hi = lim if lim is not None else (-np.pi / 2, np.pi / 2)
        configs += [{name: hi}] if abs(lo) < 1e-6 else [{name: lo}, {name: hi}]
    configs.append({name: (lim[1] if lim else np.pi / 2) for name, lim in limits.items()})  # everything open
    images = render_twin(mjcf, configs, width, height)
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(tile(images)).save(out)
    return out
