"""The task cell without ROS: a task's own scene, servos, reset events, perception noise and
success test, driven by raw joint and width commands as a robot's controllers would be."""

import numpy as np
import pytest

from simreal.deploy.task_cell import TaskCell


@pytest.fixture(scope="module")
def cell():
    return TaskCell("franka-lift-ik", seed=3)


def test_the_cell_publishes_what_the_policy_perceives(cell):
    names = {s.name: s for s in cell.sources}
    assert set(names) == {"cube", "target"}
    assert names["cube"].perceived and not names["target"].perceived
    assert (names["cube"].noise_std, names["cube"].bias_std) == (0.002, 0.003)  # the task's noise model


def test_perceived_poses_carry_an_episode_offset_and_jitter_and_goals_are_exact(cell):
    cell.reset()
    true = cell.true_poses()
    samples = np.array([cell.poses()["cube"] for _ in range(2000)])
    offset = samples.mean(axis=0) - true["cube"]
    assert np.allclose(offset, {s.name: s for s in cell.sources}["cube"].bias, atol=3e-4)
    assert np.allclose(samples.std(axis=0), 0.002, rtol=0.1)
    assert np.array_equal(cell.poses()["target"], true["target"])
    offsets = []
    for _ in range(40):
        cell.reset()
        offsets.append(np.mean([cell.poses()["cube"] for _ in range(50)], axis=0) - cell.true_poses()["cube"])
    assert 0.0015 < np.std(offsets) < 0.0045  # a fresh offset of bias_std = 3 mm per episode


def test_reset_draws_a_new_episode_from_the_tasks_events(cell):
    cell.reset()
    a = cell.true_poses()["cube"], cell.joint_pos
    cell.reset()
    b = cell.true_poses()["cube"], cell.joint_pos
    assert not np.allclose(a[0], b[0]) and not np.allclose(a[1], b[1])
    assert cell.time == 0.0 and not cell.success()
    assert np.isclose(cell.gripper_pos.sum(), 0.08, atol=1e-3)  # the hand starts open


def test_the_arm_and_hand_follow_commands_through_trainings_servos(cell):
    cell.reset()
    goal = cell.joint_pos + np.array([0.2, -0.1, 0.0, 0.1, 0.0, 0.1, 0.0])
    cell.set_command(goal)
    cell.set_gripper_width(0.0)
    cell.step(500)  # 1 s
    assert np.abs(cell.joint_pos - goal).max() < 0.02
    assert cell.gripper_pos.sum() < 0.005
    cell.set_gripper_width(0.05)
    cell.step(500)
    assert abs(cell.gripper_pos.sum() - 0.05) < 0.003
    cell.set_gripper_width(5.0)  # beyond the range: bounded to fully open
    cell.step(500)
    assert abs(cell.gripper_pos.sum() - 0.08) < 0.003


def test_the_success_test_is_the_tasks(cell):
    cell.reset()
    env = cell.env
    qs = env.free_joint_qpos_slice("cube_joint")
    env.backend.qpos[0, qs.start + 2] = float(env.buffers["target"][0, 2])  # the cube at the target height
    env.backend.forward()
    assert cell.success()
