"""The robot side's pose inputs and gripper, free of ROS: per-input ages, frozen and
out-of-box poses, static frames, pause and new episodes, the gripper width command."""

import numpy as np
import pytest

from simreal.deploy.controller import (
    ESTOP,
    PAUSED,
    RUNNING,
    SOFT_START,
    STALE_HOLD,
    ControllerCfg,
    ControllerCfgError,
    DeployController,
    missing_joints,
)
from simreal.deploy.from_task import deploy_spec_from_task
from simreal.deploy.inputs import StaticFrames, input_topics, parse_mapping
from simreal.errors import InputError

SPEC = deploy_spec_from_task("franka-lift")
PERIOD = SPEC.control_period_s
NAMES = SPEC.measured_joint_names()


def close_policy(obs):
    a = np.zeros(SPEC.num_actions, np.float32)
    a[-1] = -1.0  # close the hand
    return a


def running_controller(**cfg):
    c = DeployController(SPEC, close_policy, ControllerCfg(soft_start_s=0.0, **cfg))
    t = 0.0
    q = np.concatenate([SPEC.default_joint_pos, [0.04, 0.04]])
    c.update_joint_state(NAMES, q, np.zeros(9), t)
    c.set_input("target", [0.5, 0.0, 0.25], t, stamp=1.0)
    c.set_input("cube", [0.5, 0.0, 0.02], t, stamp=1.0)
    c.activate(t)
    for _ in range(3):
        t += PERIOD
        c.update_joint_state(NAMES, q, np.zeros(9), t)
        c.set_input("cube", [0.5, 0.0, 0.02], t, stamp=1.0 + t)
        c.tick(t)
    assert c.state == RUNNING
    return c, t, q


def test_the_finger_joints_are_required_in_joint_states():
    assert missing_joints(SPEC, SPEC.joint_names) == ["finger_joint1", "finger_joint2"]


def test_the_gripper_column_becomes_a_bounded_width_command():
    c, t, q = running_controller()
    assert c.gripper_command is not None and 0.0 <= c.gripper_command < 0.08
    c.estop()
    assert c.tick(t + PERIOD) is None and c.gripper_command is None  # no arm or gripper command after e-stop
    assert c.state == ESTOP


def test_a_silent_perceived_pose_holds_the_arm_within_three_periods_and_resumes():
    c, t, q = running_controller()
    held_at = None
    for k in range(1, 6):  # the cube's topic goes silent; joint states keep coming
        t += PERIOD
        c.update_joint_state(NAMES, q, np.zeros(9), t)
        if c.tick(t) is None and held_at is None:
            held_at = k
    assert c.state == STALE_HOLD and c.stale_inputs == ["cube"] and held_at <= 3
    assert c.status(t)["inputs"]["cube"]["stale_events"] == 1
    t += PERIOD
    assert c.set_input("cube", [0.5, 0.0, 0.02], t, stamp=100.0) is None
    c.update_joint_state(NAMES, q, np.zeros(9), t)
    c.tick(t)
    assert c.state != STALE_HOLD  # fresh again: ramps back, then the policy


def test_a_hand_closed_on_an_object_does_not_loosen_when_the_policy_resumes_after_a_gap():
    c, t, q = running_controller()
    q = q.copy()
    q[-2:] = 0.02  # the fingers stopped on a 4 cm cube; the command went on closing
    for _ in range(6):
        t += PERIOD
        c.update_joint_state(NAMES, q, np.zeros(9), t)
        c.set_input("cube", [0.5, 0.0, 0.02], t, stamp=1.0 + t)
        c.tick(t)
    closed = c.gripper_command
    assert closed == 0.0
    widths = []
    for k in range(40):  # joint states go silent for 0.2 s, then the policy resumes through its ramp
        t += PERIOD
        if not 2 <= k < 12:
            c.update_joint_state(NAMES, q, np.zeros(9), t)
        c.set_input("cube", [0.5, 0.0, 0.02], t, stamp=1.0 + t)
        c.tick(t)
        if c.gripper_command is not None:
            widths.append(c.gripper_command)
    assert c.status(t)["stale_events"] == 1 and c.state == RUNNING
    assert max(widths) == 0.0  # not reset to the measured 4 cm (the command would open by one rate step)


def test_a_frozen_nan_or_far_pose_is_refused_and_does_not_refresh_the_input():
    c, t, q = running_controller()
    stamp = c.input_stamps["cube"]
    assert "frozen" in c.set_input("cube", [0.5, 0.0, 0.02], t, stamp=stamp)
    assert "not 3 finite numbers" in c.set_input("cube", [np.nan, 0.0, 0.02], t, stamp=stamp + 1)
    assert "outside pose_box" in c.set_input("cube", [50.0, 0.0, 0.02], t, stamp=stamp + 2)
    assert "unknown input" in c.set_input("mug", [0.5, 0.0, 0.02], t)
    assert c.input_counters["cube"]["rejected"] == 3
    for _ in range(4):  # only refused samples arrive: the cube goes stale
        t += PERIOD
        c.set_input("cube", [0.5, 0.0, 0.02], t, stamp=stamp)
        c.update_joint_state(NAMES, q, np.zeros(9), t)
        c.tick(t)
    assert c.state == STALE_HOLD


def test_a_goal_set_once_stays_valid():
    c, t, q = running_controller()
    for _ in range(50):  # the target was published once; the cube streams
        t += PERIOD
        c.update_joint_state(NAMES, q, np.zeros(9), t)
        c.set_input("cube", [0.5, 0.0, 0.02], t, stamp=10.0 + t)
        assert c.tick(t) is not None
    assert c.state == RUNNING


def test_pause_and_a_new_episode_start_from_the_measured_pose():
    c, t, q = running_controller()
    assert c.pause() and c.state == PAUSED
    assert c.tick(t + PERIOD) is None
    moved = q.copy()
    moved[0] += 0.3  # the scene was reset by hand (or by the task cell)
    c.update_joint_state(NAMES, moved, np.zeros(9), t + PERIOD)
    assert c.new_episode(t + PERIOD) is None and c.state == RUNNING
    cmd = c.tick(t + 2 * PERIOD)
    assert abs(cmd[0] - moved[0]) <= SPEC.max_step_per_tick[0] + 1e-9  # no jump back to the old command
    c.estop()
    assert "cannot start an episode in state estop" in c.new_episode(t + 3 * PERIOD)


def test_a_flapping_input_pauses_and_resumes_without_sending_the_arm_home():
    c, t, q = running_controller(resume_s=0.2)
    q = q.copy()
    q[0] += 0.2  # the policy had moved the arm away from the default pose
    age = c.input_max_age["cube"]
    t += age + PERIOD  # the cube's pose went stale: hold
    c.update_joint_state(NAMES, q, np.zeros(9), t)
    assert c.tick(t) is None and c.state == STALE_HOLD
    for flap in range(3):  # fresh for one tick (the ramp back starts), stale again
        t += PERIOD
        c.update_joint_state(NAMES, q, np.zeros(9), t)
        c.set_input("cube", [0.5, 0.0, 0.02], t, stamp=5.0 + t)
        assert c.tick(t) is not None and c.state == SOFT_START
        np.testing.assert_allclose(c._ramp_goal, np.clip(q[:7], c.lower, c.upper))  # back to where it is, not home
        t += age + PERIOD
        c.update_joint_state(NAMES, q, np.zeros(9), t)
        assert c.tick(t) is None and c.state == STALE_HOLD
    assert c.pause() and c.state == PAUSED  # the episode ended in a hold: the pause still holds it
    assert c.tick(t + PERIOD) is None  # and fresh data does not restart the policy while paused
    c.update_joint_state(NAMES, q, np.zeros(9), t + PERIOD)
    c.set_input("cube", [0.5, 0.0, 0.02], t + PERIOD, stamp=9.0 + t)
    assert c.new_episode(t + PERIOD) is None and c.state == RUNNING
    fresh = DeployController(SPEC, close_policy, ControllerCfg(soft_start_s=2.0))
    fresh.update_joint_state(NAMES, q, np.zeros(9), 0.0)
    fresh.activate(0.0)
    assert not fresh.pause() and fresh.state == SOFT_START  # the soft start after activate is not paused


@pytest.mark.parametrize("cfg,message", [
    ({"input_max_age_s": {"mug": 0.1}}, "does not read"),
    ({"input_max_age_s": {"cube": -1.0}}, "input_max_age_s"),
    ({"pose_box": (0, 1, 0, 1, 0)}, "pose_box needs 6 numbers"),
    ({"pose_box": (0, 1, 0, 1, 1, 0)}, r"pose_box\[5\]"),
    ({"perceived_max_age_periods": float("nan")}, "perceived_max_age_periods"),
])
def test_bad_input_parameters_are_refused(cfg, message):
    with pytest.raises(ControllerCfgError, match=message):
        DeployController(SPEC, close_policy, ControllerCfg(**cfg))


def test_static_frames_move_poses_into_the_base_frame():
    f = StaticFrames("world", ["camera 1 0 0.5 0.7071068 0 0 0.7071068", ""])  # camera: turned 90 deg about z
    np.testing.assert_allclose(f.to_base("camera", [1.0, 0.0, 0.0]), [1.0, 1.0, 0.5], atol=1e-6)
    np.testing.assert_allclose(f.to_base("world", [1.0, 2.0, 3.0]), [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="frame_id 'map' is unknown; known frames: \\['world', 'camera'\\]"):
        f.to_base("map", [0, 0, 0])
    for bad in ("camera 1 0 0", "camera 1 0 0 2 0 0 0", "world 0 0 0 1 0 0 0", "cam a b c 1 0 0 0"):
        with pytest.raises(InputError, match="parameter frames"):
            StaticFrames("world", [bad])


def test_input_topics_and_name_maps():
    assert input_topics(["cube", "target"], "/target_pose", {}) == {"cube": "/objects/cube/pose",
                                                                    "target": "/target_pose"}
    assert input_topics(["cube"], "/t", {"cube": "/vision/cube"})["cube"] == "/vision/cube"
    with pytest.raises(InputError, match="does not read"):
        input_topics(["cube"], "/t", {"mug": "/m"})
    assert parse_mapping(["joint1=fr3_joint1", ""], "joint_map") == {"joint1": "fr3_joint1"}
    assert parse_mapping(["cube=0.1"], "input_max_age_s", float) == {"cube": 0.1}
    for bad in (["joint1"], ["a=b=c"], ["a=b", "a=c"]):
        with pytest.raises(InputError, match="joint_map"):
            parse_mapping(bad, "joint_map")
    with pytest.raises(InputError, match="is not a float"):
        parse_mapping(["cube=soon"], "input_max_age_s", float)
