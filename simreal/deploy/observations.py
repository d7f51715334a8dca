"""Observation assembly on the robot: the same maths as the training env's policy group.

float32 throughout, as the env computes it (``simreal.envs.env.ManipulationEnv._compute_obs``
without noise): ``joint_pos_rel = float32(q) - float32(default)``, then ``* scale``.
A parity test (tests/test_deploy_core.py) checks equality against the env on recorded states.
"""

from __future__ import annotations

import numpy as np

from simreal.deploy.spec import FK_SOURCES, DeploySpec
from simreal.errors import InputError, UnknownNameError


class ObservationBuilder:
    """Builds the policy input ``(obs_dim,)`` float32 from measured joints (canonical order),
    finger joints, pose inputs, tactile pads' summaries and the last action; keeps per-term history. ``kinematics``
    (the bundle's) gives ``ee_pos`` and ``ee_rot6`` terms the tool pose."""

    def __init__(self, spec: DeploySpec, kinematics=None):
        self.spec = spec
        self.kinematics = kinematics
        if kinematics is None and any(t.source in FK_SOURCES for t in spec.observations):
            raise InputError("ee_pos / ee_rot6 observation terms need the arm's kinematics (the bundle's "
                             "kinematics.xml)")
        self.default = np.asarray(spec.default_joint_pos, dtype=np.float64).astype(np.float32)
        self.terms = spec.observations
        self._scales = [np.float32(t.scale) for t in self.terms]
        self._history: list[list[np.ndarray]] = [[] for _ in self.terms]

    def reset(self) -> None:
        """Forget history (the next value fills every slot), as at an episode start."""
        self._history = [[] for _ in self.terms]

    def _value(self, term, joint_pos, joint_vel, inputs, last_action, finger_pos) -> np.ndarray:
        s = term.source
        if s == "joint_pos_rel":
            return np.asarray(joint_pos, dtype=np.float64).astype(np.float32) - self.default
        if s == "joint_pos":
            return np.asarray(joint_pos, dtype=np.float64).astype(np.float32)
        if s == "joint_vel":
            return np.asarray(joint_vel, dtype=np.float64).astype(np.float32)
        if s == "last_action":
            return np.asarray(last_action, dtype=np.float32)
        if s == "gripper_width":  # as the env: float32 of the float64 sum of the finger joints
            return np.asarray([np.sum(np.asarray(finger_pos, dtype=np.float64))], dtype=np.float64).astype(np.float32)
        if s == "ee_pos":
            return self.kinematics.tool_pos(joint_pos).astype(np.float32)
        if s == "ee_rot6":  # as the env: the rotation matrix's first two columns, x then y
            return self.kinematics.tool_rotmat(joint_pos)[:, :2].T.reshape(6).astype(np.float32)
        if s == "pose_position":
            if inputs.get(term.input) is None:
                raise UnknownNameError(f"observation term {term.name!r} needs pose input {term.input!r}, none "
                                       f"received yet")
            return np.asarray(inputs[term.input], dtype=np.float64).astype(np.float32)[:3]
        if s == "tactile_summary":  # per pad [force N, centroid x mm, y mm], the spec's pad order
            pads = self.spec.tactile_pads()
            missing = [p for p in pads if inputs.get(p) is None]
            if missing:
                raise UnknownNameError(f"observation term {term.name!r} needs tactile pads {missing}: none read yet")
            return np.concatenate([np.asarray(inputs[p], dtype=np.float64) for p in pads]).astype(np.float32)
        raise InputError(f"unknown observation source {s!r}")

    def build(self, joint_pos, joint_vel, inputs: dict, last_action, finger_pos=()) -> np.ndarray:
        """joint_pos, joint_vel: (num_joints,) canonical order; inputs: {"target": (3,)};
        last_action: (num_actions,); finger_pos: the finger joints' positions
        (``finger_joint_names`` order). Returns (obs_dim,) float32."""
        parts = []
        for i, term in enumerate(self.terms):
            x = self._value(term, joint_pos, joint_vel, inputs, last_action, finger_pos)
            if term.scale != 1.0:
                x = x * self._scales[i]
            if term.history > 1:
                hist = self._history[i]
                if not hist:
                    hist.extend([x] * term.history)
                else:
                    hist.pop(0)
                    hist.append(x)
                x = np.concatenate(hist)
            parts.append(x)
        return np.concatenate(parts).astype(np.float32, copy=False)
