"""Project-made twins used by tasks, generated on first use into the cache.

``chest_twin()`` builds a chest of drawers with the procedural generator and
``simreal twin build`` (nothing is committed or downloaded) under
``$SIMREAL_CACHE/twins/`` (default ``~/.cache/simreal/twins``) and returns its MJCF path
and the build report. Concurrent first uses build in a temporary directory and rename.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from simreal.cache import cache_dir

ASSET_VERSION = 1  # bump when the generator or the pipeline changes the twin


def chest_twin(width: float = 0.5, depth: float = 0.4, height: float = 0.5, n_drawers: int = 2) -> tuple[Path, dict]:
    """(MJCF path, report) of a chest of drawers facing -x, base at the origin."""
    from simreal.twin.build import build_twin
    from simreal.twin.procedural import chest, export

    name = f"chest_{width:g}x{depth:g}x{height:g}_{n_drawers}_v{ASSET_VERSION}".replace(".", "p")
    final = cache_dir("twins") / name
    mjcf = final / "chest.xml"
    if not mjcf.is_file():
        obj = chest(width, depth, height, n_drawers)
        rot = np.array([[0.0, 1, 0], [-1, 0, 0], [0, 0, 1]])  # yaw -90 deg: the front (-y) faces -x
        for mesh in obj.parts.values():
            mesh.vertices = mesh.vertices @ rot.T
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=final.parent))
        try:
            export(obj, tmp / "src")
            build_twin(tmp / "src" / "parts", tmp / "twin", name="chest", progress=False)
            try:
                os.replace(tmp / "twin", final)
            except OSError:
                if not mjcf.is_file():  # another process won the race only if its twin is there
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return mjcf, json.loads((final / "report.json").read_text())
