"""Visuotactile sensor models: GelSight R1.5, GelSight Mini and DIGIT.

Each model states its image resolution, the gel area that image covers, the gel's
thickness, the distance from the camera to the gel, and the taxel grid and penalty
constants of its force field. Sources are given per constant; values marked
"estimate" are not in a public datasheet and only shape the simulation (they are
randomizable, not physical claims).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from simreal.errors import UnknownNameError


@dataclass(frozen=True)
class SensorCfg:
    name: str
    width_px: int  # native image width (columns)
    height_px: int  # native image height (rows)
    mm_per_px: float  # gel surface size of one pixel at the native resolution
    gel_thickness_mm: float  # penetration deeper than this is clamped
    camera_distance_mm: float  # camera to gel surface; the shading model is orthographic and does not use it
    # Default calibration: a real ball-press data set shipped with the PyPI package `taxim`
    # (folder under taxim/calib/), or None when no public frames exist for the sensor.
    calib_source: str | None = None
    calib_ball_radius_mm: float = 2.0  # Taxim's calibration ball: 4.00 mm diameter (Si & Yuan 2022, Sec. III-B)
    calib_mm_per_px: float = 0.0295  # pixel size of the frames in that data set (Taxim, Si & Yuan 2022)
    blur_sigma_mm: float = 0.03  # gel smoothing of the indenter shape: best of 0.03-0.4 mm on held-out Taxim frames
    taxel_rows: int = 10  # force field grid (rows along the image height); TacSL samples a coarse grid
    taxel_cols: int = 14
    k_n: float = 2.0e3  # N/m per taxel: normal penalty stiffness (TacSL's penalty model; value an estimate)
    k_t: float = 50.0  # N/(m/s) per taxel: tangential slip coefficient (TacSL penalty model; estimate)
    mu: float = 1.0  # gel-object friction cap |f_t| <= mu |f_n| (silicone on rigid parts, estimate)
    # Compliant contact of the elastomer pad in MuJoCo (simreal.sensors.tactile.pads): TacSL
    # calibrated its stiffness at about 200-300 (its simulator's units) and randomized it over
    # [150, 350]; here N/mm, the same relative range, chosen to hold a 30 g peg at a 2 ms step.
    pad_stiffness_n_per_mm: float = 2.5
    pad_stiffness_range_n_per_mm: tuple[float, float] = (1.5, 3.5)
    pad_damping_n_s_per_m: float = 20.0  # estimate

    @property
    def gel_width_mm(self) -> float:
        return self.width_px * self.mm_per_px

    @property
    def gel_height_mm(self) -> float:
        return self.height_px * self.mm_per_px

    def mm_per_px_at(self, width_px: int) -> float:
        """Pixel size when the whole gel is rendered ``width_px`` pixels wide."""
        return self.gel_width_mm / width_px


SENSORS: dict[str, SensorCfg] = {
    # GelSight R1.5 (the sensor of TacSL's real experiments and of Taxim's calibration data):
    # 640x480 frames at 0.0295 mm/px (Taxim, Si & Yuan 2022, sensor parameters), so the
    # imaged gel is 18.9 x 14.2 mm. Gel thickness and camera distance: estimates for the
    # R1.5 housing (about 4 mm elastomer; camera some 30 mm behind the gel).
    "gelsight_r15": SensorCfg(
        name="gelsight_r15", width_px=640, height_px=480, mm_per_px=0.0295,
        gel_thickness_mm=4.0, camera_distance_mm=30.0, calib_source="gelsight",
    ),
    # GelSight Mini datasheet (GelSight Inc., 2022): sensing area 18.6 x 14.3 mm, 320x240
    # default output -> 0.058 mm/px; the elastomer gel is about 4 mm (estimate), camera
    # about 20 mm behind it (estimate). Taxim ships real Mini frames at 640x480 (0.0295 mm/px
    # per the package's params.json) pressed with the same 4 mm ball (assumed).
    "gelsight_mini": SensorCfg(
        name="gelsight_mini", width_px=320, height_px=240, mm_per_px=0.058,
        gel_thickness_mm=4.0, camera_distance_mm=20.0, calib_source="gelsight_mini",
    ),
    # DIGIT (Lambeta et al. 2020, RA-L): QVGA 320x240 at 60 fps over a ~19 x 16 mm sensing
    # surface -> 0.059 mm/px; gel about 2 mm (estimate), camera about 18 mm behind (estimate).
    # No public ball-press frames ship with a PyPI package: calibrate from your own.
    "digit": SensorCfg(
        name="digit", width_px=320, height_px=240, mm_per_px=0.059,
        gel_thickness_mm=2.0, camera_distance_mm=18.0, calib_source=None,
    ),
}


def get_sensor(name: str, **overrides) -> SensorCfg:
    """The sensor model ``name`` with fields overridden (e.g. ``taxel_rows=20``)."""
    if name not in SENSORS:
        raise UnknownNameError(f"unknown tactile sensor {name!r}; valid sensors: {sorted(SENSORS)}")
    return replace(SENSORS[name], **overrides) if overrides else SENSORS[name]
