from functools import partial

from simreal.registry import register_task
from simreal.tasks.franka_lift.config import franka_lift_cfg

register_task("franka-lift", franka_lift_cfg,
              "Franka Panda grasps a 4 cm cube from the floor and lifts it to a target height.")
register_task("franka-lift-ik", partial(franka_lift_cfg, "ee_position_delta"),
              "franka-lift with tool-point position deltas (differential IK, hand kept top-down) "
              "instead of joint deltas.")
