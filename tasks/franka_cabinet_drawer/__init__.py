from simreal.registry import register_task
from simreal.tasks.franka_cabinet_drawer.config import franka_cabinet_drawer_cfg

register_task(
    "franka-cabinet-drawer",
    franka_cabinet_drawer_cfg,
    "Franka Panda opens the top drawer of a chest that simreal's twin pipeline built from part meshes.",
)
