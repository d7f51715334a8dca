from simreal.registry import register_task
from simreal.tasks.franka_reach.config import franka_reach_cfg

register_task("franka-reach", franka_reach_cfg,
              "Franka Panda moves its tool point to a random target position (joint-position-delta actions).")
