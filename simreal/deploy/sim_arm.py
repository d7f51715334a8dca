"""One simulated arm stepped in real time by the sim-robot node (and by ``simreal replay``).

The arm follows joint position targets with its own MJCF position servos (the PD loop
of the robot's actuators, as in training); the gripper, if any, is held open.
"""

from __future__ import annotations

import mujoco
import numpy as np

from simreal.robots import get_robot
from simreal.sim.scene import EE_SITE, MarkerCfg, SceneCfg, build_scene


class SingleArm:
    """``robot``: a registered robot name (``franka_panda``) or ``menagerie:<dir>/<file>.xml``;
    ``physics``: an :class:`~simreal.robots.physics.ArmPhysics` that differs from the model's."""

    def __init__(self, robot: str = "franka_panda", timestep: float = 0.002, initial_joint_pos=None, physics=None):
        self.robot = get_robot(robot)
        self.model = build_scene(SceneCfg(robot=robot, markers=[MarkerCfg("target_marker")], timestep=timestep))
        self.data = mujoco.MjData(self.model)
        m = self.model
        self.qpos_ids = np.array([m.joint(j).qposadr[0] for j in self.robot.joint_names])
        self.dof_ids = np.array([m.joint(j).dofadr[0] for j in self.robot.joint_names])
        self.ctrl_ids = np.array([m.actuator(a).id for a in self.robot.actuator_names])
        self.gripper_qpos_ids = np.array([m.joint(j).qposadr[0] for j in self.robot.gripper_joint_names], dtype=int)
        self.ee_site = m.site(EE_SITE).id
        self.timestep = m.opt.timestep
        if physics is not None:  # an ArmPhysics: this arm's joints and servos differ from the model's
            from simreal.robots.physics import apply_to_model

            apply_to_model(m, physics, self.dof_ids, self.ctrl_ids)
        self.reset(initial_joint_pos)

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self.robot.joint_names

    def reset(self, joint_pos=None) -> None:
        mujoco.mj_resetData(self.model, self.data)
        q = np.asarray(self.robot.default_joint_pos if joint_pos is None else joint_pos, dtype=np.float64)
        self.data.qpos[self.qpos_ids] = q
        for name in self.robot.gripper_joint_names:
            jnt = self.model.joint(name)
            self.data.qpos[jnt.qposadr[0]] = self.model.jnt_range[jnt.id][1]  # open
        if self.robot.gripper_actuator:
            self.data.ctrl[self.model.actuator(self.robot.gripper_actuator).id] = self.robot.gripper_ctrl_open
        self.set_command(q)
        mujoco.mj_forward(self.model, self.data)

    def set_command(self, joint_pos) -> None:
        """Joint position targets (num_joints,), canonical order, rad."""
        self.data.ctrl[self.ctrl_ids] = np.asarray(joint_pos, dtype=np.float64)

    def command(self) -> np.ndarray:
        return self.data.ctrl[self.ctrl_ids].copy()

    def step(self, n: int = 1) -> None:
        mujoco.mj_step(self.model, self.data, nstep=n) if n > 0 else None

    @property
    def time(self) -> float:
        return float(self.data.time)

    @property
    def joint_pos(self) -> np.ndarray:
        return self.data.qpos[self.qpos_ids].copy()

    @property
    def joint_vel(self) -> np.ndarray:
        return self.data.qvel[self.dof_ids].copy()

    @property
    def gripper_pos(self) -> np.ndarray:
        return self.data.qpos[self.gripper_qpos_ids].copy()

    @property
    def joint_effort(self) -> np.ndarray:
        return self.data.actuator_force[self.ctrl_ids].copy()

    @property
    def ee_pos(self) -> np.ndarray:
        """(3,) tool point in the world (= robot base) frame, m."""
        return self.data.site_xpos[self.ee_site].copy()

    @property
    def ee_quat(self) -> np.ndarray:
        """(4,) tool orientation, (w, x, y, z)."""
        q = np.zeros(4)
        mujoco.mju_mat2Quat(q, self.data.site_xmat[self.ee_site])
        return q

    def set_marker(self, pos) -> None:
        self.data.mocap_pos[0] = np.asarray(pos, dtype=np.float64)
