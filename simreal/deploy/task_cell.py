"""A whole task scene stepped in real time for ``simreal sim-robot --task``: the arm, the
hand and the task's objects, one episode at a time, free of ROS.

The cell is the task's own environment (one env, MuJoCo on the CPU), so the scene, the
servos, the reset events (randomized poses, masses, gains) and the success test are
training's. Commands bypass the action term: joint position targets go to the arm's
position servos and a width goes to the hand's servo, as a ros2_control forward
controller would. The poses a policy perceives come out through the task's noise model
(a per-episode offset of ``bias_std`` and per-sample jitter of ``noise_std``, the values
deploy.yaml shows); goals (``obs.buffer`` terms, e.g. a lift target) come out exact.
When the actor reads tactile summaries, the cell also renders its pads' camera frames with
the calibrated shader (what a robot's GelSight streams), for the robot side to read.
"""

from __future__ import annotations

import mujoco
import numpy as np

from simreal.errors import InputError


class PoseSource:
    """One pose input of the task: its name, whether it is perceived, its noise, and how to
    read the true position from the env."""

    def __init__(self, name: str, perceived: bool, noise_std: float, bias_std: float, read):
        self.name, self.perceived = name, perceived
        self.noise_std, self.bias_std = float(noise_std), float(bias_std)
        self.read = read
        self.bias = np.zeros(3)


class TaskCell:
    """``task_id``: a registered task (``franka-lift-ik``). ``group``: the actor's observation
    group(s), which say what the policy perceives. ``task_params``: the task's own parameters
    (``register_task(params=...)``), as the bundle's provenance carries them. Same attributes as
    :class:`~simreal.deploy.sim_arm.SingleArm`, plus poses, gripper width, reset and success."""

    def __init__(self, task_id: str, seed: int = 0, group: str | list[str] = "policy", physics=None,
                 task_params: dict | None = None):
        import torch

        from simreal.deploy.from_task import pose_sources_of
        from simreal.envs import ManipulationEnv
        from simreal.mdp.events import fix_arm_physics
        from simreal.registry import task_cfg

        cfg = task_cfg(task_id, **(task_params or {}))  # e.g. franka-articulate's twin and joint
        cfg.num_envs, cfg.backend, cfg.device, cfg.nthread, cfg.seed = 1, "mujoco", "cpu", 1, int(seed)
        if physics is not None:  # the arm's nominal physics, fixed: no per-episode draw of them
            fix_arm_physics(cfg, physics)
        self.task_id = task_id
        self.env = ManipulationEnv(cfg, task_id)
        self.robot = self.env.robot
        self.episode_length_s = float(cfg.episode_length_s)
        self.timestep = float(self.env.model.opt.timestep)
        self.rng = np.random.default_rng(seed)
        unknown = [g for g in ([group] if isinstance(group, str) else group) if g not in cfg.observations]
        if unknown:
            raise InputError(f"task {task_id} has no observation group {unknown}; groups: {list(cfg.observations)}")
        self.sources = [PoseSource(name, perceived, noise, bias, read)
                        for name, perceived, noise, bias, read in pose_sources_of(cfg, group)]
        self.tactile = tactile_of(cfg, group)  # (sensor, sites, objects, pads) or None
        self.groups = [group] if isinstance(group, str) else list(group)
        b = self.env.backend
        self._qpos, self._qvel, self._ctrl = b.qpos[0].numpy(), b.qvel[0].numpy(), b.ctrl[0].numpy()
        self._site_xpos, self._site_xmat = b.site_xpos[0].numpy(), b.site_xmat[0].numpy()
        env = self.env
        self.qpos_ids, self.dof_ids = env.arm_qpos_ids.numpy(), env.arm_dof_ids.numpy()
        self.ctrl_ids, self.finger_ids = env.arm_ctrl_ids.numpy(), env.gripper_qpos_ids.numpy()
        self.gripper_ctrl_id = env.gripper_ctrl_id
        m = env.model
        ranges = [m.jnt_range[m.joint(j).id] for j in self.robot.gripper_joint_names]
        self.closed_width = float(sum(r[0] for r in ranges))
        self.open_width = float(sum(r[1] for r in ranges))
        self._torch = torch
        self.episodes = -1
        self.reset()  # episode 0: before the first ~/reset

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self.robot.joint_names

    # ------------------------------------------------------------- episodes
    def reset(self) -> None:
        """A new randomized episode (the task's reset events), gripper open, time zero."""
        self.env.reset()
        self.time = 0.0
        for s in self.sources:
            s.bias = s.bias_std * self.rng.standard_normal(3) if s.perceived else np.zeros(3)
        self.episodes += 1

    def success(self) -> bool:
        """The task's own success test on the current state."""
        return bool(self.env.cfg.success(self.env)[0])

    # ------------------------------------------------------------- commands
    def set_command(self, joint_pos) -> None:
        """Arm joint position targets (num_joints,), canonical order, rad."""
        self._ctrl[self.ctrl_ids] = np.asarray(joint_pos, dtype=np.float64)

    def command(self) -> np.ndarray:
        return self._ctrl[self.ctrl_ids].copy()

    def set_gripper_width(self, width: float) -> None:
        """The hand's width target, m, bounded to its range; mapped linearly onto its servo's
        control range (Menagerie's Panda: 0..255 for 0..0.08 m)."""
        if self.gripper_ctrl_id is None:
            raise InputError(f"robot {self.robot.name!r} has no gripper")
        span = self.open_width - self.closed_width
        a = min(max((float(width) - self.closed_width) / span, 0.0), 1.0)
        r = self.robot
        self._ctrl[self.gripper_ctrl_id] = r.gripper_ctrl_closed + a * (r.gripper_ctrl_open - r.gripper_ctrl_closed)

    def step(self, n: int = 1) -> None:
        if n > 0:
            self.env.backend.step(n)
            self.time += n * self.timestep

    # ------------------------------------------------------------- state
    @property
    def joint_pos(self) -> np.ndarray:
        return self._qpos[self.qpos_ids].copy()

    @property
    def joint_vel(self) -> np.ndarray:
        return self._qvel[self.dof_ids].copy()

    @property
    def gripper_pos(self) -> np.ndarray:
        return self._qpos[self.finger_ids].copy()

    @property
    def joint_effort(self) -> None:
        return None  # the batch backend keeps no actuator forces

    @property
    def ee_pos(self) -> np.ndarray:
        return self._site_xpos[self.env.ee_site_id].copy()

    @property
    def ee_quat(self) -> np.ndarray:
        q = np.zeros(4)
        mujoco.mju_mat2Quat(q, self._site_xmat[self.env.ee_site_id].astype(np.float64))
        return q

    def poses(self) -> dict[str, np.ndarray]:
        """Each pose input's position as the policy would see it, base frame, m: perceived
        ones with this episode's offset and fresh jitter, goals exact."""
        out = {}
        for s in self.sources:
            p = np.asarray(s.read(self.env)[0], dtype=np.float64) + s.bias
            if s.perceived and s.noise_std > 0:
                p = p + s.noise_std * self.rng.standard_normal(3)
            out[s.name] = p
        return out

    def tactile_frames(self, width: int, noise_std: float = 0.0) -> dict[str, np.ndarray]:
        """Each pad's frame, (H, W, 3) uint8 RGB, rendered at ``width`` pixels from the current
        state with Gaussian pixel noise of ``noise_std`` levels; {} without tactile pads."""
        if self.tactile is None:
            return {}
        from simreal.sensors.tactile.observations import tactile_rgb

        sensor, sites, objects, pads = self.tactile
        rgb = tactile_rgb(self.env, sensor, sites, objects, width=width).reshape(len(pads), -1, width, 3).numpy()
        rgb = rgb * 255.0
        if noise_std > 0:
            rgb = rgb + noise_std * self.rng.standard_normal(rgb.shape)
        frames = rgb.round().clip(0, 255).astype(np.uint8)
        return dict(zip(pads, frames))

    def true_observation(self) -> np.ndarray:
        """The actor's observation as training's env computes it from the current state, without
        noise or offsets (its ``last_action`` term reads the env's, which the cell never sets)."""
        parts = [term.func(self.env, **term.params).float() * term.scale
                 for g in self.groups for term in self.env.cfg.observations[g].terms.values()]
        return self._torch.cat(parts, dim=1)[0].numpy()

    def true_poses(self) -> dict[str, np.ndarray]:
        return {s.name: np.asarray(s.read(self.env)[0], dtype=np.float64) for s in self.sources}


def tactile_of(cfg, group) -> tuple | None:
    """(sensor, sites, objects, pad names) of the tactile summary the ``group`` actor reads."""
    from simreal.deploy.from_task import pad_name
    from simreal.sensors.tactile.observations import tactile_contact_summary

    for g in [group] if isinstance(group, str) else list(group):
        for term in cfg.observations[g].terms.values():
            if term.func is tactile_contact_summary:
                sites = tuple(term.params["sites"])
                return term.params["sensor"], sites, term.params["objects"], [pad_name(s) for s in sites]
    return None
