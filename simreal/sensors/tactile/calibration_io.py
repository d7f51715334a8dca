"""The calibration of a tactile sensor's shading: table, background and provenance."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simreal.cache import save_npz_atomic
from simreal.errors import InputError, MissingFileError

FORMAT_VERSION = 1


@dataclass
class Calibration:
    """table (n_mag, n_dir, 6, 3): per slope bin, quadratic-in-position colour change
    coefficients; background (H, W, 3) float no-contact frame (0..255); theta_max: slope
    angle (rad) of the last magnitude bin; blur_sigma_mm: gel smoothing used in the fit;
    meta: provenance (sensor, data, ball radius, frames used and held out)."""

    table: np.ndarray
    background: np.ndarray
    theta_max: float
    blur_sigma_mm: float
    meta: dict = field(default_factory=dict)

    def save(self, path) -> Path:
        return save_npz_atomic(
            Path(path), table=self.table.astype(np.float32), background=self.background.astype(np.float32),
            theta_max=self.theta_max, blur_sigma_mm=self.blur_sigma_mm,
            meta=json.dumps({**self.meta, "format_version": FORMAT_VERSION}),
        )

    @classmethod
    def load(cls, path) -> "Calibration":
        path = Path(path)
        if not path.is_file():
            raise MissingFileError(
                f"calibration file {path} does not exist; create one with `simreal tactile calibrate`")
        data = np.load(path)
        missing = {"table", "background", "theta_max", "blur_sigma_mm", "meta"} - set(data.files)
        if missing:
            raise InputError(f"{path} is not a simreal tactile calibration (missing {sorted(missing)})")
        return cls(data["table"], data["background"], float(data["theta_max"]), float(data["blur_sigma_mm"]),
                   json.loads(str(data["meta"])))
