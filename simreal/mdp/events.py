"""Events: ``event(env, env_ids, **params)``, run at startup or at reset of ``env_ids``.

Reset events write state (qpos, mocap) and per-env model parameters of the envs being
reset; the env recomputes kinematics after all of them ran. Ranges are (low, high).
"""

from __future__ import annotations

import torch


def _uniform(env, n: int, low, high) -> torch.Tensor:
    low = torch.as_tensor(low, dtype=torch.float32, device=env.device)
    high = torch.as_tensor(high, dtype=torch.float32, device=env.device)
    return low + (high - low) * torch.rand((n,) + low.shape, generator=env.rng, device=env.device)


def reset_joints_uniform(env, env_ids, offset_rad: tuple[float, float]) -> None:
    """Arm joints start at the default pose plus a uniform offset, kept within limits."""
    n = env_ids.numel()
    q = env.default_joint_pos + _uniform(env, n, [offset_rad[0]] * env.robot.num_joints,
                                         [offset_rad[1]] * env.robot.num_joints)
    q = torch.clamp(q, env.action.lower, env.action.upper)
    env.backend.qpos[env_ids.unsqueeze(1), env.arm_qpos_ids] = q.to(env.backend.qpos.dtype)


def sample_target_uniform(env, env_ids, name: str, low, high, marker: str | None = None) -> None:
    """``env.buffers[name]`` <- a point uniform in the box [low, high] (m); show it on ``marker``."""
    if name not in env.buffers:
        env.buffers[name] = torch.zeros(env.num_envs, len(low), device=env.device)
    point = _uniform(env, env_ids.numel(), low, high)
    env.buffers[name][env_ids] = point
    if marker is not None:
        _show_marker(env, env_ids, marker, point)


def target_above_body(env, env_ids, name: str, joint: str, height: tuple[float, float],
                      marker: str | None = None) -> None:
    """``env.buffers[name]`` <- the free body's start position with z drawn from ``height`` (m)."""
    if name not in env.buffers:
        env.buffers[name] = torch.zeros(env.num_envs, 3, device=env.device)
    s = env.free_joint_qpos_slice(joint)
    point = env.backend.qpos[env_ids, s.start : s.start + 3].float().clone()
    point[:, 2] = _uniform(env, env_ids.numel(), height[0], height[1])
    env.buffers[name][env_ids] = point
    if marker is not None:
        _show_marker(env, env_ids, marker, point)


def _show_marker(env, env_ids, marker: str, point: torch.Tensor) -> None:
    mocap_id = int(env.model.body(marker).mocapid[0])
    env.backend.mocap_pos[env_ids, mocap_id] = point.to(env.backend.mocap_pos.dtype)


def reset_free_body_uniform(env, env_ids, joint: str, x: tuple, y: tuple, z: float, yaw: tuple = (0.0, 0.0)) -> None:
    """Place a free body at a uniform (x, y) (m), height z, yaw uniform (rad), at rest."""
    n = env_ids.numel()
    xy = _uniform(env, n, [x[0], y[0]], [x[1], y[1]])
    half_yaw = 0.5 * _uniform(env, n, yaw[0], yaw[1])
    pose = torch.zeros(n, 7, device=env.device)
    pose[:, :2] = xy
    pose[:, 2] = z
    pose[:, 3] = torch.cos(half_yaw)
    pose[:, 6] = torch.sin(half_yaw)
    s = env.free_joint_qpos_slice(joint)
    env.backend.qpos[env_ids, s] = pose.to(env.backend.qpos.dtype)


def _scale_param(env, env_ids, field: str, index: list[int], factor: torch.Tensor, columns=None) -> None:
    """Per env, ``field[index]`` <- nominal * factor (n, len(index)); other entries keep
    their current per-env values, so events on one field do not undo each other."""
    nominal = env.backend.nominal_param(field).to(env.device)
    current = env.backend.param(field)
    values = current[env_ids.to(current.device)].to(env.device, torch.float64)
    idx = torch.as_tensor(index, device=env.device)
    factor = factor.double()
    if columns is None:
        values[:, idx] = nominal[idx] * factor
    else:
        for c in columns:  # the same factor for every listed column (e.g. kp and kv)
            values[:, idx, c] = nominal[idx, c] * factor
    env.backend.set_param(field, env_ids, values)


def _factors(env, env_ids, count: int, scale: tuple[float, float]) -> torch.Tensor:
    return _uniform(env, env_ids.numel(), [scale[0]] * count, [scale[1]] * count)


def randomize_body_mass(env, env_ids, body: str, scale: tuple[float, float]) -> None:
    _scale_param(env, env_ids, "body_mass", [env.model.body(body).id], _factors(env, env_ids, 1, scale))


def randomize_geom_friction(env, env_ids, geom: str, scale: tuple[float, float]) -> None:
    """Sliding friction of ``geom`` scaled by a uniform factor."""
    factor = _factors(env, env_ids, 1, scale)
    _scale_param(env, env_ids, "geom_friction", [env.model.geom(geom).id], factor, columns=[0])


def randomize_joint_damping(env, env_ids, scale: tuple[float, float]) -> None:
    ids = env.arm_dof_ids.tolist()
    _scale_param(env, env_ids, "dof_damping", ids, _factors(env, env_ids, len(ids), scale))


def randomize_joint_armature(env, env_ids, scale: tuple[float, float]) -> None:
    ids = env.arm_dof_ids.tolist()
    _scale_param(env, env_ids, "dof_armature", ids, _factors(env, env_ids, len(ids), scale))


def randomize_actuator_gains(env, env_ids, scale: tuple[float, float]) -> None:
    """Scale each arm actuator's stiffness and damping by one factor (position servo:
    gainprm[0] = kp, biasprm[1] = -kp, biasprm[2] = -kv)."""
    ids = env.arm_ctrl_ids.tolist()
    factor = _factors(env, env_ids, len(ids), scale)
    _scale_param(env, env_ids, "actuator_gainprm", ids, factor, columns=[0])
    _scale_param(env, env_ids, "actuator_biasprm", ids, factor, columns=[1, 2])


#: The events that randomize the arm's own physics. A cell with an arm's measured (or
#: hidden) physics fixes these values instead (``simreal sim-robot --task T --physics F``).
ARM_PHYSICS_EVENTS = (randomize_joint_damping, randomize_joint_armature, randomize_actuator_gains)


FIT_MIN_WIDTH = 0.05  # a fit's intervals are optimistic (residuals correlated in time): never narrower than +-5 %
FIT_MAX_WIDTH = 0.9


def fit_widths(physics, nominal: dict) -> dict:
    """{event function: (low, high) scale range} from a fit's 95 % half-widths (``physics.pm95``),
    relative to the fitted values: the widest joint's, at least FIT_MIN_WIDTH. ``nominal``: the
    robot model's own values (simreal.robots.physics.model_values), for keys the fit left out.
    An event whose keys the fit did not identify keeps the task's range (it is not in the result)."""
    pm = physics.pm95 or {}

    def rel(key, value) -> list[float]:
        widths = pm.get(key)
        if widths is None:
            return []
        pairs = zip(widths, value) if isinstance(widths, list) else [(widths, value)]
        return [w / v for w, v in pairs if w is not None and v > 0]

    per_event = {
        randomize_joint_damping: rel("joint_damping", physics.joint_damping or nominal["joint_damping"]),
        randomize_joint_armature: rel("joint_armature", physics.joint_armature or nominal["joint_armature"]),
        randomize_actuator_gains: rel("actuator_kp_scale", physics.actuator_kp_scale)
        + rel("actuator_kv_scale", physics.actuator_kv_scale),
    }
    out = {}
    for func, r in per_event.items():
        if r:
            w = float(min(max(max(r), FIT_MIN_WIDTH), FIT_MAX_WIDTH))
            out[func] = (round(1.0 - w, 6), round(1.0 + w, 6))
    return out


def fix_arm_physics(cfg, physics) -> None:
    """EnvCfg ``cfg``'s arm takes ``physics`` (an ArmPhysics) as its own for every episode: the
    events that randomize the arm's physics are dropped (a task cell, an eval on one arm)."""
    cfg.physics = physics.to_dict()
    cfg.events = {k: e for k, e in cfg.events.items() if e.func not in ARM_PHYSICS_EVENTS}
