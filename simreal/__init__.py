"""simreal: robot-arm skills from simulation to real hardware."""

import os

# Offscreen rendering needs its OpenGL platform chosen before mujoco is imported.
# EGL works headless (Mesa's software renderer on a CPU-only machine); users can
# still pick "osmesa" or "glfw" by setting MUJOCO_GL themselves.
os.environ.setdefault("MUJOCO_GL", "egl")

__version__ = "0.1.0"
