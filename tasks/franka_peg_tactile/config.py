"""franka-peg-place-tactile and franka-peg-insert-tactile (TacSL's tasks, Akinola et al. 2024).

The Panda, with gel pads on its fingers, starts each episode holding a peg (12 mm
cylinder, 50 mm long) pointing down, somewhat above a socket whose position is known to
the policy only to +-5 mm. Where the peg sits in the hand varies (+-3 mm along its axis,
+-4 mm sideways across the pads): proprioception cannot see it, the pads can. Actions
move the tool point (end-effector pose deltas); the gripper stays closed. Success (judged on the last step):
- place: the peg stands upright within 15 degrees, its tip centred over the hole within
  4 mm and within 5 mm of the socket's top (TacSL's placement criterion);
- insert: the mean distance of three peg keypoints (tip, centre, top) to their inserted
  targets is under 1 cm (TacSL's keypoint criterion).
Observation groups: ``policy`` (joints, tool pose, noisy socket position), ``tactile``
(both fingers: force fields for place, 80x60 RGB images for insert; insert also offers the
force fields as ``tactile_forces``, with a per-pad summary: total normal force and contact
centroid), ``critic`` (privileged: peg and socket poses, keypoint errors, per-finger
contact force totals).
"""

from __future__ import annotations

from functools import partial

import torch

from simreal.envs.config import ActionCfg, EnvCfg, EventTerm, ObsGroupCfg, ObsTerm, RewardTerm, TerminationTerm
from simreal.errors import InputError
from simreal.math3d import quat_to_rotmat
from simreal.mdp import events, rewards
from simreal.mdp import observations as obs
from simreal.robots.franka_panda import firm_grip
from simreal.sensors.tactile.observations import tactile_contact_summary, tactile_forces, tactile_rgb
from simreal.sensors.tactile.pads import add_gel_pads, pad_solref
from simreal.sensors.tactile.sdf import CylinderSdf
from simreal.sensors.tactile.sensors import get_sensor
from simreal.sim.scene import SceneCfg
from simreal.tasks.franka_peg_tactile.peg_scene import PegSocketCfg, add_peg_and_socket

PEG = PegSocketCfg()
SITES = ("left_finger/sensor", "right_finger/sensor")
SENSOR = "gelsight_r15"
SHAPES = {"peg": CylinderSdf(PEG.peg_radius, PEG.peg_half_length)}
PAD_FACE_M = 0.0005  # pad surface from the finger frame's origin plane (assets/tactile/gel_pad.xml)
SQUEEZE_M = 0.0003  # initial grip: each pad pressed this far into the peg
GRIP_FROM_TOP_M = 0.012  # pads hold the peg this far below its top
SOCKET_NOISE_M = 0.005  # the policy's socket position: per-episode offset uniform in +-5 mm
UPRIGHT_DEG = 15.0
PLACE_XY_M, PLACE_Z_M, INSERT_KEYPOINT_M = 0.004, 0.005, 0.01


# ------------------------------------------------------------------ task terms
def peg_axis(env) -> torch.Tensor:
    """(N, 3) peg axis (body z) in the world; points from the held end to the tip."""
    return quat_to_rotmat(env.body_quat("peg"))[..., 2]


def peg_keypoints(env) -> torch.Tensor:
    """(N, 3, 3): top, centre, tip of the peg."""
    k = torch.tensor([-PEG.peg_half_length, 0.0, PEG.peg_half_length], device=env.device)
    return env.body_pos("peg").unsqueeze(1) + k.view(1, 3, 1) * peg_axis(env).unsqueeze(1)


def target_keypoints(env, inserted: bool) -> torch.Tensor:
    """(N, 3, 3): where the keypoints are when the peg is upright on (or in) the socket."""
    tip_z = 0.0 if inserted else PEG.socket_height
    k = torch.tensor([2 * PEG.peg_half_length, PEG.peg_half_length, 0.0], device=env.device)
    base = env.buffers["socket"].clone()
    base[:, 2] = tip_z
    out = base.unsqueeze(1).repeat(1, 3, 1)
    out[..., 2] += k
    return out


def keypoint_error(env, inserted: bool) -> torch.Tensor:
    return (peg_keypoints(env) - target_keypoints(env, inserted)).norm(dim=-1).mean(dim=1)


def peg_to_target(env, inserted: bool) -> torch.Tensor:
    """(N, 9) keypoints minus their targets."""
    return (peg_keypoints(env) - target_keypoints(env, inserted)).reshape(env.num_envs, -1)


def keypoint_reward_tanh(env, inserted: bool, std: float) -> torch.Tensor:
    return 1.0 - torch.tanh(keypoint_error(env, inserted) / std)


def placed(env) -> torch.Tensor:
    tilt = torch.rad2deg(torch.acos((-peg_axis(env)[:, 2]).clamp(-1, 1)))
    tip = peg_keypoints(env)[:, 2]
    xy = (tip[:, :2] - env.buffers["socket"][:, :2]).norm(dim=-1)
    return (tilt < UPRIGHT_DEG) & (xy < PLACE_XY_M) & ((tip[:, 2] - PEG.socket_height).abs() < PLACE_Z_M)


def inserted(env) -> torch.Tensor:
    return keypoint_error(env, True) < INSERT_KEYPOINT_M


def success_reward(env, task: str) -> torch.Tensor:
    return (placed(env) if task == "place" else inserted(env)).float()


def peg_dropped(env, max_distance: float = 0.08) -> torch.Tensor:
    return (env.body_pos("peg") - env.ee_pos).norm(dim=-1) > max_distance


def contact_force_totals(env, sensor: str = SENSOR) -> torch.Tensor:
    """(N, 6): per finger, the summed force field [normal, shear x, shear y] (N)."""
    f = tactile_forces(env, sensor, SITES, SHAPES)
    return f.reshape(env.num_envs, len(SITES), -1, 3).sum(dim=2).reshape(env.num_envs, -1)


@obs.perceived_pose("socket")
def socket_pos_noisy(env) -> torch.Tensor:
    """(N, 3) the socket position with the episode's offset (uniform +-5 mm in x, y)."""
    return env.buffers["socket"] + env.buffers["socket_offset"]


# ------------------------------------------------------------------ events
def place_socket(env, env_ids, dx: tuple[float, float], dy: tuple[float, float]) -> None:
    """Socket (mocap) at the tool point's default x, y plus a uniform offset; draw the
    policy's per-episode error of its position."""
    n = env_ids.numel()
    for name in ("socket", "socket_offset"):
        if name not in env.buffers:
            env.buffers[name] = torch.zeros(env.num_envs, 3, device=env.device)
    if "ee_home" not in env.buffers:
        env.backend.forward(env_ids)
        env.buffers["ee_home"] = env.ee_pos.mean(0, keepdim=True).expand(env.num_envs, 3).clone()
    u = torch.rand(n, 4, generator=env.rng, device=env.device)
    pos = env.buffers["ee_home"][env_ids].clone()
    pos[:, 0] += dx[0] + (dx[1] - dx[0]) * u[:, 0]
    pos[:, 1] += dy[0] + (dy[1] - dy[0]) * u[:, 1]
    pos[:, 2] = 0.0
    env.buffers["socket"][env_ids] = pos
    env.buffers["socket_offset"][env_ids] = 0.0
    env.buffers["socket_offset"][env_ids, :2] = (2 * u[:, 2:] - 1) * SOCKET_NOISE_M
    mocap = int(env.model.body("socket").mocapid[0])
    env.backend.mocap_pos[env_ids, mocap] = pos.to(env.backend.mocap_pos.dtype)


def arm_above_socket(env, env_ids, height: tuple[float, float] = (0.10, 0.13), xy: float = 0.01,
                     iters: int = 12) -> None:
    """Move the arm (in qpos, by damped least-squares IK on the tool point, orientation
    held) so that the tool point starts ``height`` above the socket, +-``xy`` off centre."""
    n = env_ids.numel()
    u = torch.rand(n, 3, generator=env.rng, device=env.device)
    goal = env.buffers["socket"][env_ids].clone()
    goal[:, :2] += (2 * u[:, :2] - 1) * xy
    goal[:, 2] = height[0] + (height[1] - height[0]) * u[:, 2]
    q = env.backend.qpos
    ids = env.arm_qpos_ids
    for _ in range(iters):  # a few IK steps at reset, batched over the resetting envs
        env.backend.forward(env_ids)
        J = env.kinematics.jacobian()[env_ids]
        err = torch.zeros(n, 6, device=env.device)
        err[:, :3] = (goal - env.ee_pos[env_ids]).clamp(-0.1, 0.1)
        dq = (J.transpose(1, 2) @ torch.linalg.solve(J @ J.transpose(1, 2) + 1e-4 * torch.eye(6, device=env.device),
                                                     err.unsqueeze(-1))).squeeze(-1)
        rows = q.index_select(0, env_ids)
        arm = torch.clamp(rows.index_select(1, ids).float() + dq, env.kinematics.lower, env.kinematics.upper)
        rows.index_copy_(1, ids, arm.to(q.dtype))
        q.index_copy_(0, env_ids, rows)


def peg_in_hand(env, env_ids, slide_m: tuple[float, float] = (-0.003, 0.003),
                lateral_m: tuple[float, float] = (-0.004, 0.004)) -> None:
    """Close the fingers on the peg, held pointing along the tool axis, slid along its own
    axis by ``slide_m`` and sideways across the pads (the hand's x) by ``lateral_m``: where
    the peg sits in the hand, which proprioception cannot see and the pads can."""
    q = env.backend.qpos
    width = PEG.peg_radius - PAD_FACE_M - SQUEEZE_M
    for jid in env.gripper_qpos_ids.tolist():
        q[env_ids, jid] = width
    env.backend.ctrl[env_ids, env.gripper_ctrl_id] = float(env.robot.gripper_ctrl_closed)
    env.backend.forward(env_ids)
    sites = [env.model.site(s).id for s in SITES]
    mid = 0.5 * (env.backend.site_xpos[env_ids, sites[0]] + env.backend.site_xpos[env_ids, sites[1]]).float()
    hand = env.model.body(env.robot.ee_body).id
    quat = env.backend.xquat[env_ids, hand].float()
    rot = quat_to_rotmat(quat)
    u = torch.rand(env_ids.numel(), 2, generator=env.rng, device=env.device)
    slide = slide_m[0] + (slide_m[1] - slide_m[0]) * u[:, :1]
    lateral = lateral_m[0] + (lateral_m[1] - lateral_m[0]) * u[:, 1:]
    centre = mid + rot[..., 2] * (PEG.peg_half_length - GRIP_FROM_TOP_M + slide) + rot[..., 0] * lateral
    s = env.free_joint_qpos_slice("peg_joint")
    q[env_ids, s.start:s.start + 3] = centre.to(q.dtype)
    q[env_ids, s.start + 3:s.start + 7] = quat.to(q.dtype)


def randomize_pad_compliance(env, env_ids, stiffness_n_per_mm: tuple[float, float] = (1.5, 3.5),
                             damping_n_s_per_m: float = 20.0, ref_mass_kg: float = 0.05) -> None:
    """Per env, both gel pads get one stiffness uniform in the range (TacSL randomized its
    pad stiffness over [150, 350] around 250; the same relative range here)."""
    n = env_ids.numel()
    k = stiffness_n_per_mm[0] + (stiffness_n_per_mm[1] - stiffness_n_per_mm[0]) * torch.rand(
        n, generator=env.rng, device=env.device)
    unit = torch.tensor(pad_solref(1.0, damping_n_s_per_m, ref_mass_kg), device=env.device, dtype=torch.float64)
    solref = torch.stack([unit[0] * k.double(), unit[1].expand(n)], dim=1)  # stiffness scales linearly
    values = env.backend.param("geom_solref")[env_ids]
    for geom in ("left_finger/gel", "right_finger/gel"):
        values[:, env.model.geom(geom).id] = solref
    env.backend.set_param("geom_solref", env_ids, values)


# ------------------------------------------------------------------ config
def franka_peg_tactile_cfg(task: str = "insert", tactile: str | None = None, sensor: str = SENSOR) -> EnvCfg:
    """task: "place" or "insert"; tactile: "forces" or "rgb" (default: forces for place,
    80x60 images for insert); sensor: the gel pads' sensor model (its calibration shades
    the images, its gel size and taxel grid shape the force field)."""
    get_sensor(sensor)  # an unknown name fails here, naming the valid ones
    if task not in ("place", "insert"):
        raise InputError(f"task must be 'place' or 'insert', got {task!r}")
    tactile = tactile or ("forces" if task == "place" else "rgb")
    is_insert = task == "insert"
    forces = ObsTerm(tactile_forces, params={"sensor": sensor, "sites": SITES, "objects": SHAPES}, scale=0.1)
    if tactile == "forces":
        touch = forces
    elif tactile == "rgb":
        touch = ObsTerm(tactile_rgb, params={"sensor": sensor, "sites": SITES, "objects": SHAPES, "width": 80})
    else:
        raise InputError(f"tactile must be 'forces' or 'rgb', got {tactile!r}")
    # per pad: total force and contact centroid (6 numbers), where the part sits in the hand
    summary = ObsTerm(tactile_contact_summary, params={"sensor": sensor, "sites": SITES, "objects": SHAPES})
    extra = {"tactile_summary": ObsGroupCfg(terms={"contact": summary}, noisy=False)}
    if tactile == "rgb":  # the force field offered beside the images (a student reading it trains
        # ~6x faster on a CPU): with the summary for an MLP, alone for a CNN (2 x rows x cols x 3)
        extra["tactile_forces"] = ObsGroupCfg(terms={"fingers": forces, "contact": summary}, noisy=False)
        extra["tactile_fields"] = ObsGroupCfg(terms={"fingers": forces}, noisy=False)
    # training computes only the groups its models read
    policy = ObsGroupCfg(terms={
        "joint_pos": ObsTerm(obs.joint_pos_rel, noise_std=0.005),
        "joint_vel": ObsTerm(obs.joint_vel, noise_std=0.02, scale=0.1),
        "ee_pos": ObsTerm(obs.ee_pos, noise_std=0.001),
        "ee_rot": ObsTerm(obs.ee_rot6, noise_std=0.005),
        "socket_pos": ObsTerm(socket_pos_noisy, noise_std=0.0005),
        "last_action": ObsTerm(obs.last_action),
    }, noisy=True)
    critic = ObsGroupCfg(terms={
        "joint_pos": ObsTerm(obs.joint_pos_rel),
        "joint_vel": ObsTerm(obs.joint_vel, scale=0.1),
        "ee_pos": ObsTerm(obs.ee_pos),
        "ee_rot": ObsTerm(obs.ee_rot6),
        "peg_pos": ObsTerm(obs.body_pos, params={"body": "peg"}),
        "peg_quat": ObsTerm(obs.body_quat, params={"body": "peg"}),
        "socket_pos": ObsTerm(obs.buffer, params={"name": "socket"}),
        "peg_to_target": ObsTerm(peg_to_target, params={"inserted": is_insert}),
        "contact_forces": ObsTerm(contact_force_totals, params={"sensor": sensor}, scale=0.1),
        "last_action": ObsTerm(obs.last_action),
    }, noisy=False)
    return EnvCfg(
        scene=SceneCfg(robot="franka_panda",
                       spec_hooks=[add_gel_pads, firm_grip, partial(add_peg_and_socket, cfg=PEG)]),
        actions=ActionCfg(type="ee_pose_delta", scale=0.005, gripper=False),
        observations={"policy": policy, "tactile": ObsGroupCfg(terms={"fingers": touch}, noisy=False),
                      "critic": critic, **extra},
        rewards={
            "keypoints": RewardTerm(keypoint_reward_tanh, weight=1.0, params={"inserted": is_insert, "std": 0.05}),
            "keypoints_fine": RewardTerm(keypoint_reward_tanh, weight=2.0, params={"inserted": is_insert, "std": 0.01}),
            "success": RewardTerm(success_reward, weight=5.0, params={"task": task}),
            "action_rate": RewardTerm(rewards.action_rate_l2, weight=-0.01),
        },
        terminations={"peg_dropped": TerminationTerm(peg_dropped)},
        events={
            "reset_joints": EventTerm(events.reset_joints_uniform, params={"offset_rad": (-0.05, 0.05)}),
            "socket": EventTerm(place_socket, params={"dx": (-0.03, 0.03), "dy": (-0.03, 0.03)}),
            "arm": EventTerm(arm_above_socket),
            "peg_in_hand": EventTerm(peg_in_hand),
            "pad_compliance": EventTerm(randomize_pad_compliance),
        },
        success=placed if task == "place" else inserted,
        episode_length_s=4.0,
        decimation=10,
    )


franka_peg_place_tactile_cfg = partial(franka_peg_tactile_cfg, "place")
franka_peg_insert_tactile_cfg = partial(franka_peg_tactile_cfg, "insert")
franka_peg_insert_tactile_mini_cfg = partial(franka_peg_tactile_cfg, "insert", sensor="gelsight_mini")
