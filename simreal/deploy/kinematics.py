"""The arm's kinematics on the robot side: forward kinematics of the tool point and its
Jacobian at the measured joint positions, from the kinematics-only MJCF a bundle carries
(``simreal.sim.scene.kinematics_xml`` writes it at export), on one ``MjData``.

The same tree as the training scene, so the tool pose and the Jacobian equal the
simulator's (float32 tolerance: the env computes its Jacobian in float32, here in float64).
"""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np

from simreal.errors import InputError


class Kinematics:
    def __init__(self, xml: str, site: str, joint_names):
        try:
            self.model = mujoco.MjModel.from_xml_string(xml)
        except Exception as err:  # MuJoCo's own ValueError, with the line it stopped at
            raise InputError(f"the kinematics MJCF does not compile: {str(err).splitlines()[0][:300]}") from None
        m = self.model
        try:
            self.site = m.site(site).id
            jids = [m.joint(j).id for j in joint_names]
        except KeyError as err:
            raise InputError(f"the kinematics MJCF lacks {err}; it must carry the arm joints {list(joint_names)} "
                             f"and the tool site {site!r}") from None
        if any(int(m.jnt_type[j]) != mujoco.mjtJoint.mjJNT_HINGE for j in jids):
            raise InputError("the kinematics MJCF's arm joints must all be hinges")
        self.qpos_ids = np.array([int(m.jnt_qposadr[j]) for j in jids])
        self.dof_ids = np.array([int(m.jnt_dofadr[j]) for j in jids])
        self.data = mujoco.MjData(m)
        self._jacp = np.zeros((3, m.nv))
        self._jacr = np.zeros((3, m.nv))
        self._q = None

    @classmethod
    def load(cls, path: str | Path, site: str, joint_names) -> "Kinematics":
        return cls(Path(path).read_text(), site, joint_names)

    def update(self, joint_pos) -> None:
        """Set the arm to ``joint_pos`` (canonical order, rad) and recompute the tool pose."""
        q = np.asarray(joint_pos, dtype=np.float64)
        if self._q is not None and np.array_equal(q, self._q):
            return
        self.data.qpos[self.qpos_ids] = q
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_comPos(self.model, self.data)
        self._q = q.copy()

    def tool_pos(self, joint_pos) -> np.ndarray:
        """(3,) the tool point in the robot base frame, m."""
        self.update(joint_pos)
        return self.data.site_xpos[self.site].copy()

    def tool_rotmat(self, joint_pos) -> np.ndarray:
        """(3, 3) the tool frame (columns: its axes in the base frame)."""
        self.update(joint_pos)
        return self.data.site_xmat[self.site].reshape(3, 3).copy()

    def jacobian(self, joint_pos) -> np.ndarray:
        """(6, num_joints) the tool point's Jacobian: linear rows, then angular, base frame."""
        self.update(joint_pos)
        mujoco.mj_jacSite(self.model, self.data, self._jacp, self._jacr, self.site)
        return np.concatenate([self._jacp[:, self.dof_ids], self._jacr[:, self.dof_ids]])
