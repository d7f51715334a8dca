"""simreal: robot-arm skills from simulation to real hardware."""

__version__ = "0.1.0"
