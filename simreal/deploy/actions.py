"""Action post-processing on the robot: the same maths as ``simreal.envs.actions``.

joint_position_delta: ``target = clip(target + scale * clip(a, -clip, clip), lower, upper)``
with the target starting at the measured pose; joint_position: ``target = clip(offset +
scale * clip(a), lower, upper)``. float32, as in training.
"""

from __future__ import annotations

import numpy as np

from simreal.deploy.spec import DeploySpec


class ActionProcessor:
    def __init__(self, spec: DeploySpec):
        a = spec.action
        self.type = a.type
        self.scale = np.float32(a.scale)
        self.clip = np.float32(a.clip)
        limits = np.asarray(spec.joint_pos_limits, dtype=np.float64).astype(np.float32)
        self.lower, self.upper = limits[:, 0], limits[:, 1]
        offset = a.offset if a.offset is not None else spec.default_joint_pos
        self.offset = np.asarray(offset, dtype=np.float64).astype(np.float32)
        self.target = np.asarray(spec.default_joint_pos, dtype=np.float64).astype(np.float32)

    def reset(self, measured_joint_pos) -> None:
        """Start accumulating from the measured pose (the env does this at every reset)."""
        self.target = np.asarray(measured_joint_pos, dtype=np.float64).astype(np.float32)

    def sync(self, commanded_joint_pos) -> None:
        """Continue from what was actually commanded (after a safety-filter intervention)."""
        self.target = np.asarray(commanded_joint_pos, dtype=np.float64).astype(np.float32)

    def process(self, action) -> np.ndarray:
        """action: (num_actions,) finite. Returns the joint position target (num_joints,) float32."""
        a = np.clip(np.asarray(action, dtype=np.float32), -self.clip, self.clip)
        if self.type == "joint_position_delta":
            self.target = np.clip(self.target + self.scale * a, self.lower, self.upper)
        else:
            self.target = np.clip(self.offset + self.scale * a, self.lower, self.upper)
        return self.target.copy()
