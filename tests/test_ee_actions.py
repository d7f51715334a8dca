"""Tool-point actions (differential IK) and the bound on joint-target windup."""

import math

import pytest
import torch

from simreal.envs.env import ManipulationEnv
from simreal.math3d import orientation_error
from simreal.registry import make_env, task_cfg


def rot_z(angle: float) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def test_orientation_error_points_along_the_axis_with_sine_size():
    base = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # any start orientation
    for angle in (0.1, -0.5, 1.2):
        err = orientation_error(base[None], (rot_z(angle) @ base)[None])[0]
        assert torch.allclose(err, torch.tensor([0.0, 0.0, math.sin(angle)]), atol=1e-6)
    assert torch.allclose(orientation_error(base[None], base[None]), torch.zeros(1, 3))


def test_position_actions_move_the_tool_and_keep_the_hand_top_down():
    env = make_env("franka-lift-ik", num_envs=4, seed=0, obs_groups=["policy"])
    assert env.num_actions == 4  # x, y, z, gripper
    start_pos, start_axis = env.ee_pos.clone(), env.ee_rotmat[:, :, 2].clone()
    a = torch.zeros(4, 4)
    a[:, 0] = 1.0  # +x at 1 cm per step
    for _ in range(15):
        env.step(a)
    moved = env.ee_pos - start_pos
    assert (moved[:, 0] > 0.08).all()  # most of the commanded 15 cm, the rest still lagging
    assert moved[:, 1:].abs().max() < 0.03  # some sag and lag, no drift
    tilt = torch.rad2deg(torch.acos((env.ee_rotmat[:, :, 2] * start_axis).sum(dim=1).clamp(max=1.0)))
    assert tilt.max() < 3.0


def press_then_lift(bound):
    """Press the open hand into the floor for 80 steps, then command up for 20: returns the
    largest target-minus-measured error while pressing and the height gained going up."""
    cfg = task_cfg("franka-lift-ik", num_envs=4, seed=0, obs_groups=["policy"])
    cfg.actions.max_target_error, cfg.actions.workspace = bound, None
    env = ManipulationEnv(cfg)
    down = torch.tensor([[0.0, 0.0, -1.0, 1.0]]).repeat(4, 1)
    for _ in range(80):
        env.step(down)
    windup = float((env.action.target - env.joint_pos).abs().max())
    z = env.ee_pos[:, 2].clone()
    for _ in range(20):
        env.step(-down)
    return windup, env.ee_pos[:, 2] - z


def test_target_error_bound_stops_windup_against_the_floor():
    windup, gained = press_then_lift(0.2)
    assert windup <= 0.2 * 1.1  # set against the pose one step before it was measured
    assert (gained > 0.03).all()  # unwinds in about 12 steps, then rises at 1 cm per step
    windup, gained = press_then_lift(None)
    assert windup > 0.5  # unbounded, the target runs away into the floor
    assert (gained < 0.01).all()  # and 20 up steps have not unwound it


def test_workspace_floor_stops_the_tool_above_the_table_and_nothing_winds_up():
    env = make_env("franka-lift-ik", num_envs=4, seed=0, obs_groups=["policy"])
    floor = env.cfg.actions.workspace[2][0]
    down = torch.tensor([[0.0, 0.0, -1.0, 1.0]]).repeat(4, 1)
    for _ in range(80):
        env.step(down)
    assert (env.ee_pos[:, 2] > floor - 0.006).all() and (env.ee_pos[:, 2] < floor + 0.01).all()
    assert float((env.action.target - env.joint_pos).abs().max()) < 0.05
    z = env.ee_pos[:, 2].clone()
    for _ in range(8):
        env.step(-down)
    assert (env.ee_pos[:, 2] - z > 0.04).all()  # an up command acts at once


def test_workspace_needs_tool_point_actions():
    cfg = task_cfg("franka-lift", num_envs=2, obs_groups=["policy"])
    cfg.actions.workspace = ((0.2, 0.8), (-0.4, 0.4), (0.0, 0.5))
    with pytest.raises(ValueError, match="workspace bounds a tool point"):
        ManipulationEnv(cfg)
