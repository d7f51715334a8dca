"""Observation terms: ``term(env, **params) -> Tensor (num_envs, dim)``, float32."""

from __future__ import annotations

import torch


def joint_pos_rel(env) -> torch.Tensor:
    """Arm joint positions minus the default pose, rad."""
    return env.joint_pos - env.default_joint_pos


def joint_vel(env) -> torch.Tensor:
    """Arm joint velocities, rad/s."""
    return env.joint_vel


def gripper_width(env) -> torch.Tensor:
    """(num_envs, 1) sum of finger joint positions, m."""
    return env.backend.qpos.index_select(1, env.gripper_qpos_ids).sum(dim=1, keepdim=True).float()


def last_action(env) -> torch.Tensor:
    return env.action.last_action


def ee_pos(env) -> torch.Tensor:
    """Tool point in the robot base (= world) frame, m."""
    return env.ee_pos


def ee_rot6(env) -> torch.Tensor:
    """(N, 6) tool orientation: the first two columns of its rotation matrix (x axis, then y)."""
    return env.ee_rotmat[..., :2].transpose(1, 2).reshape(env.num_envs, 6)


def buffer(env, name: str) -> torch.Tensor:
    """A task buffer such as a target, (num_envs, dim)."""
    return env.buffers[name]


def body_pos(env, body: str) -> torch.Tensor:
    return env.body_pos(body)


def site_pos(env, site: str) -> torch.Tensor:
    """A site's position, world frame, m (e.g. a handle marked on an object)."""
    return env.backend.site_xpos[:, env.model.site(site).id].float()


def perceived_pose(name: str):
    """Marks a task's own term as the position of an object the robot perceives: deployed,
    it reads the ``PoseStamped`` input ``name`` (``/objects/<name>/pose``), and a task cell
    publishes the term's value there (whatever error the term models, e.g. a per-episode
    offset, is then perception's error)."""
    def mark(func):
        func.perceived_pose = name
        return func
    return mark


def body_quat(env, body: str) -> torch.Tensor:
    """Body orientation as a quaternion (w, x, y, z) with w >= 0."""
    q = env.body_quat(body)
    return torch.where(q[:, :1] < 0, -q, q)


def body_lin_vel(env, joint: str) -> torch.Tensor:
    """Linear velocity of a free joint's body, world frame, m/s."""
    adr = int(env.model.joint(joint).dofadr[0])
    return env.backend.qvel[:, adr : adr + 3].float()


def buffer_minus_ee(env, name: str) -> torch.Tensor:
    """Vector from the tool point to a target held in ``env.buffers[name]``."""
    return env.buffers[name] - env.ee_pos


def body_minus_ee(env, body: str) -> torch.Tensor:
    return env.body_pos(body) - env.ee_pos


# Noise of the arm's joint terms in deployable groups. A real Panda's encoders are far more
# precise; these model filtering and latency error between measurement and use.
JOINT_POS_NOISE_RAD = 0.005
JOINT_VEL_NOISE_RAD_S = 0.02
JOINT_VEL_SCALE = 0.1


def arm_joint_terms(noisy: bool) -> dict:
    """The ``joint_pos`` / ``joint_vel`` terms every arm task starts its groups with."""
    from simreal.envs.config import ObsTerm

    return {
        "joint_pos": ObsTerm(joint_pos_rel, noise_std=JOINT_POS_NOISE_RAD if noisy else 0.0),
        "joint_vel": ObsTerm(joint_vel, noise_std=JOINT_VEL_NOISE_RAD_S if noisy else 0.0, scale=JOINT_VEL_SCALE),
    }
