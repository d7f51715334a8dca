"""The one on-disk cache, under ~/.cache/simreal (or $SIMREAL_CACHE): SDF grids and calibrations (tactile),
convex decompositions (coacd/) and generated twins (twins/)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np


def cache_dir(*parts: str) -> Path:
    """``$SIMREAL_CACHE/<parts>`` (default ``~/.cache/simreal``), created if missing."""
    root = Path(os.environ.get("SIMREAL_CACHE") or "~/.cache/simreal").expanduser()
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def array_hash(*items) -> str:
    """A short sha256 over arrays (dtype, shape, bytes) and plain values."""
    h = hashlib.sha256()
    for item in items:
        if isinstance(item, np.ndarray):
            a = np.ascontiguousarray(item)
            h.update(f"{a.dtype}{a.shape}".encode())
            h.update(a.tobytes())
        else:
            h.update(repr(item).encode())
    return h.hexdigest()[:20]


def save_npz_atomic(path: Path, **arrays) -> Path:
    """Write an .npz so that concurrent readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(fd)
    try:
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
