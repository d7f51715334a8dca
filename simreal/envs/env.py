"""The batched manipulation environment: one backend, many envs, torch in and out.

Satisfies rsl_rl's ``VecEnv`` contract (duck-typed, so rsl_rl stays optional):
``get_observations() -> TensorDict`` of observation groups, ``step(actions) ->
(obs, rewards, dones, extras)`` with ``extras["time_outs"]`` and ``extras["episode"]``.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from tensordict import TensorDict

from simreal.actions import action_type
from simreal.envs.config import EnvCfg
from simreal.errors import InputError, UnknownNameError
from simreal.robots import get_robot
from simreal.sim import make_backend
from simreal.sim.scene import EE_SITE, build_scene


class ManipulationEnv:
    """``cfg.num_envs`` copies of a task, auto-reset per env.

    Attributes used by terms: ``backend`` (state tensors), ``robot`` (RobotCfg),
    ``buffers`` (task state such as targets, (num_envs, ...)), ``rng`` (torch.Generator),
    ``episode_length_buf``, ``action`` (last actions and joint targets), ``step_dt``,
    ``sensors`` (stateful sensor models, e.g. tactile arrays with their slip history:
    created by the terms that read them through :meth:`sensor`, reset with their envs).
    """

    def __init__(self, cfg: EnvCfg, task_id: str = ""):
        self.cfg = cfg
        self.task_id = task_id
        self.robot = get_robot(cfg.scene.robot)
        self.model = build_scene(cfg.scene)
        if cfg.physics_widths not in ("fit", "task"):
            raise InputError(f"env.physics_widths must be 'fit' (from the fit's uncertainty) or 'task' (the task's "
                             f"own ranges), got {cfg.physics_widths!r}")
        if cfg.physics is not None:
            self._set_physics(cfg.physics)
        self.backend = make_backend(self.model, cfg.num_envs, cfg.backend, cfg.device, cfg.nthread)
        self.num_envs = cfg.num_envs
        self.device = self.backend.device
        self.rng = torch.Generator(device=self.device)
        self.rng.manual_seed(cfg.seed)
        self.step_dt = self.model.opt.timestep * cfg.decimation
        self.max_episode_length = math.ceil(cfg.episode_length_s / self.step_dt)
        self.episode_length_buf = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        self._index_model()
        self.buffers: dict[str, torch.Tensor] = {}
        self.sensors: dict = {}
        self._kinematics = None
        self.action = action_type(cfg.actions.type).term(self, cfg.actions)
        self.num_actions = self.action.num_actions
        self._obs_bias: dict[tuple[str, str], torch.Tensor] = {}  # per-episode offsets, (num_envs, dim)
        self._reward_sums = {name: torch.zeros(self.num_envs, device=self.device) for name in cfg.rewards}
        #: running totals since construction
        self.counters = {"nan_actions": 0, "diverged": 0, "episodes": 0}
        self.adr = None
        if cfg.adr is not None:
            from simreal.mdp.adr import ADR

            self.adr = ADR(self, cfg.adr)
        all_ids = torch.arange(self.num_envs, device=self.device)
        for event in cfg.events.values():
            if event.mode == "startup":
                event.func(self, all_ids, **event.params)
        self._reset_envs(all_ids)
        self.obs_groups = self._select_groups(cfg)
        for g, group in self.obs_groups.items():
            for t, term in group.terms.items():
                if group.noisy and term.bias_std > 0:
                    dim = term.func(self, **term.params).shape[1]
                    self._obs_bias[(g, t)] = torch.zeros(self.num_envs, dim, device=self.device)
        self._resample_obs_bias(all_ids)
        self.obs = self._compute_obs()

    @property
    def kinematics(self):
        """The arm's tool-point kinematics (:class:`~simreal.envs.kinematics.ArmKinematics`), made on first use."""
        if self._kinematics is None:
            from simreal.envs.kinematics import ArmKinematics

            self._kinematics = ArmKinematics(self)
        return self._kinematics

    def sensor(self, key, make):
        """The sensor model stored under ``key``, made by ``make()`` on first use. It must have
        ``reset(env_ids)``, which the env calls whenever those envs reset."""
        if key not in self.sensors:
            self.sensors[key] = make()
        return self.sensors[key]

    # ----------------------------------------------------------------- state views
    def _set_physics(self, raw: dict) -> None:
        """The arm's joints and servos take ``raw`` (checked as a --physics file) as nominal; with
        the fit's uncertainty in it, the arm-physics events' ranges come from that (``physics_widths``)."""
        from simreal.mdp.events import fit_widths
        from simreal.robots.physics import apply_to_model, model_values, physics_from_dict

        physics = physics_from_dict(raw, self.robot.num_joints, where="env.physics")
        m = self.model
        dofs = [m.joint(j).dofadr[0] for j in self.robot.joint_names]
        ctrls = [m.actuator(a).id for a in self.robot.actuator_names]
        if self.cfg.physics_widths == "fit" and physics.pm95:
            widths = fit_widths(physics, model_values(m, dofs, ctrls))
            self.cfg.events = {name: dataclasses.replace(ev, params={**ev.params, "scale": widths[ev.func]})
                               if ev.func in widths and "scale" in ev.params else ev
                               for name, ev in self.cfg.events.items()}
        apply_to_model(m, physics, dofs, ctrls)

    def _index_model(self) -> None:
        m, dev = self.model, self.device

        def joint(name):
            try:
                return m.joint(name)
            except KeyError:
                names = [m.joint(i).name for i in range(m.njnt)]
                raise UnknownNameError(f"robot {self.robot.name!r} expects joint {name!r}; "
                                       f"the model has {names}") from None

        self.arm_qpos_ids = torch.tensor([int(joint(j).qposadr[0]) for j in self.robot.joint_names], device=dev)
        self.arm_dof_ids = torch.tensor([int(joint(j).dofadr[0]) for j in self.robot.joint_names], device=dev)
        self.arm_ctrl_ids = torch.tensor([m.actuator(a).id for a in self.robot.actuator_names], device=dev)
        self.gripper_ctrl_id = m.actuator(self.robot.gripper_actuator).id if self.robot.gripper_actuator else None
        self.gripper_qpos_ids = torch.tensor(
            [int(joint(j).qposadr[0]) for j in self.robot.gripper_joint_names], dtype=torch.long, device=dev
        )
        self.ee_site_id = m.site(EE_SITE).id
        qpos0 = torch.tensor(m.qpos0, dtype=torch.float64)
        qpos0[self.arm_qpos_ids.cpu()] = torch.tensor(self.robot.default_joint_pos, dtype=torch.float64)
        for name in self.robot.gripper_joint_names:
            jnt = joint(name)
            qpos0[int(jnt.qposadr[0])] = float(m.jnt_range[jnt.id][1])  # open
        self.default_qpos = qpos0.to(dev)
        self.default_joint_pos = self.default_qpos[self.arm_qpos_ids].float()

    @property
    def joint_pos(self) -> torch.Tensor:
        """(num_envs, num_joints) arm joint positions, canonical order, rad."""
        # index_select: advanced indexing of these strided views is ~100x slower in torch's threaded path
        return self.backend.qpos.index_select(1, self.arm_qpos_ids).float()

    @property
    def joint_vel(self) -> torch.Tensor:
        return self.backend.qvel.index_select(1, self.arm_dof_ids).float()

    @property
    def ee_pos(self) -> torch.Tensor:
        """(num_envs, 3) tool point in the world frame."""
        return self.backend.site_xpos[:, self.ee_site_id].float()

    @property
    def ee_rotmat(self) -> torch.Tensor:
        """(num_envs, 3, 3) tool frame orientation (columns: its axes in the world frame)."""
        return self.backend.site_xmat[:, self.ee_site_id].float().reshape(-1, 3, 3)

    def body_pos(self, name: str) -> torch.Tensor:
        return self.backend.xpos[:, self.model.body(name).id].float()

    def body_quat(self, name: str) -> torch.Tensor:
        return self.backend.xquat[:, self.model.body(name).id].float()

    def free_joint_qpos_slice(self, joint_name: str) -> slice:
        adr = int(self.model.joint(joint_name).qposadr[0])
        return slice(adr, adr + 7)

    # ----------------------------------------------------------------- the loop
    def get_observations(self) -> TensorDict:
        return self.obs

    def reset(self) -> TensorDict:
        """Reset every env and return the first observations."""
        self._reset_envs(torch.arange(self.num_envs, device=self.device))
        self.obs = self._compute_obs()
        return self.obs

    def step(self, actions: torch.Tensor):
        """actions: (num_envs, num_actions). Returns (obs, rewards (N,), dones (N,), extras)."""
        if tuple(actions.shape) != (self.num_envs, self.num_actions):
            raise InputError(
                f"actions must have shape (num_envs, num_actions) = {(self.num_envs, self.num_actions)}, "
                f"got {tuple(actions.shape)}"
            )
        actions = actions.to(self.device, torch.float32)
        bad_action = ~torch.isfinite(actions).all(dim=1)
        actions = torch.where(bad_action.unsqueeze(1), 0.0, actions)  # never reaches the simulator
        self.action.apply(actions)
        self.backend.step(self.cfg.decimation)
        self.episode_length_buf += 1

        diverged = self._diverged()
        broken = bad_action | diverged
        terminated = broken.clone()
        time_outs = self.episode_length_buf >= self.max_episode_length
        for term in self.cfg.terminations.values():
            hit = term.func(self, **term.params)
            if term.time_out:
                time_outs |= hit
            else:
                terminated |= hit
        time_outs &= ~terminated
        rewards = torch.zeros(self.num_envs, device=self.device)
        for name, term in self.cfg.rewards.items():
            value = term.weight * term.func(self, **term.params)
            value = torch.where(broken, 0.0, value)  # a diverged state gives no reward, never NaN
            self._reward_sums[name] += value
            rewards += value
        dones = terminated | time_outs

        extras = {"time_outs": time_outs}
        reset_ids = dones.nonzero().squeeze(1)
        if reset_ids.numel() > 0:
            success = self.cfg.success(self) & ~broken
            extras["episode"] = self._episode_stats(reset_ids, success)
            extras["episode_success"] = success & dones
            if self.adr is not None:
                self.adr.record(reset_ids, success)
                extras["episode"].update(self.adr.stats())
            self._reset_envs(reset_ids)
        n_bad, n_div = int(bad_action.sum()), int(diverged.sum())
        if n_bad or n_div:
            self.counters["nan_actions"] += n_bad
            self.counters["diverged"] += n_div
        extras["nan_actions"] = n_bad
        extras["diverged"] = n_div
        self.obs = self._compute_obs()
        return self.obs, rewards, dones, extras

    def _diverged(self) -> torch.Tensor:
        qpos, qvel = self.backend.qpos, self.backend.qvel
        finite = torch.isfinite(qpos).all(dim=1) & torch.isfinite(qvel).all(dim=1)
        return ~finite | (qvel.abs().amax(dim=1) > self.cfg.max_joint_speed) | self.backend.take_unstable()

    def _episode_stats(self, env_ids: torch.Tensor, success: torch.Tensor) -> dict:
        stats = {f"rew_{name}": sums[env_ids].mean() for name, sums in self._reward_sums.items()}
        stats["success"] = success[env_ids].float().mean()
        stats["length_s"] = self.episode_length_buf[env_ids].float().mean() * self.step_dt
        self.counters["episodes"] += int(env_ids.numel())
        return stats

    def _reset_envs(self, env_ids: torch.Tensor) -> None:
        n = env_ids.numel()
        self.backend.reset(env_ids, qpos=self.default_qpos.expand(n, -1))
        if self.adr is not None:
            self.adr.apply_reset_events(env_ids)
        else:
            for event in self.cfg.events.values():
                if event.mode == "reset":
                    event.func(self, env_ids, **event.params)
        self.backend.forward(env_ids)
        self.action.reset(env_ids)
        for sensor in self.sensors.values():
            sensor.reset(env_ids)
        self._resample_obs_bias(env_ids)
        self.episode_length_buf[env_ids] = 0
        for sums in self._reward_sums.values():
            sums[env_ids] = 0.0

    def _resample_obs_bias(self, env_ids: torch.Tensor) -> None:
        for (g, t), bias in self._obs_bias.items():
            std = self.cfg.observations[g].terms[t].bias_std
            bias[env_ids] = std * torch.randn(env_ids.numel(), bias.shape[1], generator=self.rng, device=self.device)

    @staticmethod
    def _select_groups(cfg: EnvCfg) -> dict:
        if cfg.obs_groups is None:
            return dict(cfg.observations)
        unknown = [g for g in cfg.obs_groups if g not in cfg.observations]
        if unknown:
            raise UnknownNameError(f"observation groups {unknown} are not in this task; "
                                   f"it has {list(cfg.observations)}")
        return {g: grp for g, grp in cfg.observations.items() if g in cfg.obs_groups}

    def _compute_obs(self) -> TensorDict:
        groups = {}
        for g, group in self.obs_groups.items():
            parts = []
            for t, term in group.terms.items():
                x = term.func(self, **term.params).float()
                if group.noisy:
                    if (g, t) in self._obs_bias:
                        x = x + self._obs_bias[(g, t)]
                    if term.noise_std > 0:
                        x = x + term.noise_std * torch.randn(x.shape, generator=self.rng, device=self.device)
                parts.append(x * term.scale if term.scale != 1.0 else x)
            groups[g] = torch.cat(parts, dim=1)
        return TensorDict(groups, batch_size=[self.num_envs], device=self.device)

    def observation_dims(self) -> dict[str, int]:
        return {g: int(v.shape[1]) for g, v in self.obs.items()}

    def close(self) -> None:
        """Nothing to release today; present so code written for Gymnasium-style envs works."""
