from simreal.registry import register_task
from simreal.tasks.franka_articulate.config import franka_articulate_cfg

register_task(
    "franka-articulate",
    franka_articulate_cfg,
    "Franka Panda opens a chosen joint of any twin (--set env.twin=DIR --set env.joint=NAME; default: "
    "simreal's own chest of drawers).",
    params=("twin", "joint", "open_fraction", "action"),
    paths=("twin",),
)
