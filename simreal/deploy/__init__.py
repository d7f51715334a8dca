"""ROS-free deployment core: observation builder, action post-processing, safety filter,
watchdog and the state machine the ROS 2 nodes (``simreal.ros_nodes``) wrap.

Needs only numpy (and onnxruntime to run a bundle); no torch, no rclpy.
"""

from simreal.deploy.controller import ControllerCfg, DeployController, MissingJointError
from simreal.deploy.spec import ActionSpec, DeploySpec, ObsTermSpec, SpecError

__all__ = ["ActionSpec", "ControllerCfg", "DeployController", "DeploySpec", "MissingJointError", "ObsTermSpec",
           "SpecError"]
