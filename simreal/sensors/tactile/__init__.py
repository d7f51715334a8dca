"""Visuotactile sensing (GelSight R1.5, GelSight Mini, DIGIT), from TacSL (Akinola et al.
2024) and Taxim (Si & Yuan 2022): SDF contact geometry, depth and polynomial-table RGB
images, penalty force fields, calibration from real ball presses, press tool, benchmark.

Heavy pieces import lazily; start from :class:`TactileSensorArray` or :func:`press`.
"""

from simreal.sensors.tactile.sensors import SENSORS, SensorCfg, get_sensor

__all__ = ["SENSORS", "SensorCfg", "get_sensor"]
