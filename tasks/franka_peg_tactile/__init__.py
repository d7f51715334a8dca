from simreal.registry import register_task
from simreal.tasks.franka_peg_tactile.config import (
    franka_peg_insert_tactile_cfg,
    franka_peg_insert_tactile_mini_cfg,
    franka_peg_place_tactile_cfg,
)

register_task("franka-peg-place-tactile", franka_peg_place_tactile_cfg,
              "Panda with gel-pad fingers places a held peg upright on a socket (tactile force fields).")
register_task("franka-peg-insert-tactile", franka_peg_insert_tactile_cfg,
              "Panda with gel-pad fingers inserts a held peg into a socket (80x60 tactile images).")
register_task("franka-peg-insert-tactile-mini", franka_peg_insert_tactile_mini_cfg,
              "franka-peg-insert-tactile with GelSight Mini pads (Mini calibration, 80x60 tactile images).")
