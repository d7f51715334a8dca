from simreal.registry import register_task
from simreal.tasks.franka_lift.config import franka_lift_cfg

register_task("franka-lift", franka_lift_cfg, "Franka Panda grasps a 4 cm cube from the floor and lifts it to a target height.")
