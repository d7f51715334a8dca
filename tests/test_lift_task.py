"""franka-lift's grasp reward and the IK variant: a privileged scripted grasp lifts the cube."""

import torch

from simreal.mdp.rewards import body_grasped
from simreal.registry import make_env

N = 16
CUBE_W = 0.04


def scripted_action(env, step):
    """Above the cube, down, close, then up to the target height (tool-point deltas)."""
    cube, ee = env.body_pos("cube"), env.ee_pos
    a = torch.zeros(env.num_envs, 4)
    goal = cube.clone()
    a[:, 3] = 1.0 if step < 100 else -1.0
    if step < 60:
        goal[:, 2] += 0.08
    elif step >= 100:
        goal = ee.clone() if step < 120 else torch.cat([ee[:, :2], env.buffers["target"][:, 2:]], dim=1)
    a[:, :3] = ((goal - ee) / 0.01).clamp(-1, 1)
    return a


def test_scripted_grasp_lifts_the_cube_and_only_a_closed_hand_counts_as_holding():
    env = make_env("franka-lift-ik", num_envs=N, seed=0, obs_groups=["policy"])
    assert env.num_actions == 4
    held_open = held_closed = held_cmd_open = -1.0
    for step in range(env.max_episode_length - 1):
        _, _, done, extras = env.step(scripted_action(env, step))
        held = body_grasped(env, "cube", CUBE_W)
        if step == 99:  # fingers around the cube, open
            held_open = float(held.mean())
        if step == 180:  # carrying it
            held_closed = float(held.mean())
            command = env.action.last_action[:, -1].clone()
            env.action.last_action[:, -1] = 1.0  # the same fingers, commanded open: not a grasp
            held_cmd_open = float(body_grasped(env, "cube", CUBE_W).sum())
            env.action.last_action[:, -1] = command
    assert held_open == 0.0 and held_cmd_open == 0.0
    assert held_closed >= 0.75
    assert not done.any()
    _, _, done, extras = env.step(scripted_action(env, step + 1))
    assert done.all()  # time-out: success is judged now
    assert float(extras["episode_success"].float().mean()) >= 0.75  # the script ignores the cube's yaw


def test_closed_hand_over_nothing_is_not_a_grasp():
    env = make_env("franka-lift", num_envs=4, seed=0, obs_groups=["policy"])
    close = torch.zeros(4, env.num_actions)
    close[:, -1] = -1.0
    for _ in range(30):
        env.step(close)
    assert float(body_grasped(env, "cube", CUBE_W).sum()) == 0.0
