"""Manipulation over real DDS: the task cell (``simreal sim-robot --task``) and the policy
node as separate processes, the shipped franka-lift-ik bundle, and the faults a real cell
has: a silent, NaN or far-off object pose, a missing finger joint, a command that would
leave the workspace box, and an e-stop in the middle of a grasp."""

import itertools
import os
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from geometry_msgs.msg import PoseStamped  # noqa: E402
from std_msgs.msg import Float64MultiArray  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from simreal.data import data_path  # noqa: E402
from simreal.ros_nodes.episode_demo import SETTLE_S, run_episodes  # noqa: E402

BUNDLE = data_path("assets", "policies", "franka-lift-ik")
PERIOD = 0.02
ARM, GRIPPER = "/forward_position_controller/commands", "/gripper_controller/commands"
_ids = itertools.count()

pytestmark = pytest.mark.timeout(240)


def _domain() -> int:
    return 1 + (os.getpid() * 11 + next(_ids) + 50) % 100


class Recorder:
    """A hook for run_episodes: records topics from the first episode's start, then runs ``then``."""

    def __init__(self, topics: dict, then=None):
        self.topics, self.then, self.msgs, self.starts = topics, then, {}, []

    def __call__(self, probe, i):
        import time

        self.starts.append(time.monotonic())
        if i == 0:
            self.msgs = {k: probe.record(t, k) for k, t in self.topics.items()}
        if self.then is not None:
            self.then(probe, self)


def _run(tmp_path, bundle=BUNDLE, episodes=1, sim=(), policy=(), hook=None, **kw):
    params = lambda ps: [x for p in ps for x in ("-p", p)]  # noqa: E731
    return run_episodes(bundle, episodes=episodes, seed=kw.pop("seed", 0), sim_params=params(sim),
                        policy_params=params(["diagnostics_period_s:=0.25", *policy]), log_dir=tmp_path / "logs",
                        domain_id=_domain(), verbose=False, on_episode=hook, **kw)


def _times(msgs):
    return np.array([t for t, _ in msgs])


def _first_episode(msgs, rec) -> np.ndarray:
    """Which of ``msgs`` the policy sent in the first episode. The hook's start time comes after
    ``~/new_episode`` has answered, and the policy's first commands of the new episode (the gripper's
    from the width the reset left) can arrive before it; the arm's silence while paused (pause, reset,
    settle: at least SETTLE_S) marks the boundary, the first arm command after it opens episode 2."""
    arm = _times(rec.msgs[ARM])
    near = np.flatnonzero(arm < rec.starts[1] + 1.0)
    quiet = np.flatnonzero(np.diff(arm[near]) >= SETTLE_S)
    assert len(quiet), "no pause between the episodes on the arm's command topic"
    return _times(msgs) < arm[near[quiet[-1] + 1]] - PERIOD / 2


def test_the_shipped_lift_bundle_grasps_and_lifts_over_ros(tmp_path):
    rec = Recorder({GRIPPER: Float64MultiArray, ARM: Float64MultiArray})
    result = _run(tmp_path, episodes=2, hook=rec, trace=True)
    assert result["episodes"] == 2 and result["success_rate"] >= 0.5, result
    # what the policy saw against the cell's truth: joint states within a few ms of it, the cube's
    # perceived position within its noise model, every term but last_action compared, and a plot
    gap = {r["term"]: r for r in result["observation_gap"]}
    assert set(gap) == {"joint_pos", "joint_vel", "gripper_width", "cube_pos", "target"}, gap
    assert gap["joint_pos"]["gap_at_lag"] < 2e-3 and gap["joint_pos"]["lag_ms"] <= 20, gap
    assert gap["target"]["mean_gap"] < 1e-5, gap  # the goal is given exactly
    assert gap["cube_pos"]["mean_gap"] < 0.03, gap
    assert (tmp_path / "logs" / "observation_gap.png").stat().st_size > 10000
    pol = result["policy"]
    # perceived poses may be at most 2.5 periods (50 ms) old: on a loaded 2-core machine a late one is
    # possible now and then (one in 50 commands at most); a pose input that does not flow fails the success test
    # two 5 s episodes at 50 Hz are 500 commands; a loaded machine misses some ticks, so the count only
    # says both episodes ran under the policy
    assert pol["commands"] > 300 and pol["stale_events"] <= pol["commands"] // 50, pol
    assert pol["action_p99_ms"] is not None  # the IK ran on the robot side, timed
    first = _first_episode(rec.msgs[GRIPPER], rec)
    widths = np.array([m.data[0] for _, m in rec.msgs[GRIPPER]])[first]
    assert len(widths) > 150 and widths.min() >= 0.0 and widths.max() <= 0.08  # of 250 ticks
    assert widths.min() < 0.03 < 0.07 < widths.max()  # it closed on the cube and had opened
    assert np.abs(np.diff(widths)).max() <= 1.0 * PERIOD + 1e-9  # rate-limited at max_speed 1 m/s
    arm = np.array([m.data for _, m in rec.msgs[ARM]])
    assert np.all(np.isfinite(arm))


def test_the_shipped_drawer_bundle_runs_joint_deltas_and_its_gripper_over_ros(tmp_path):
    from simreal.export.bundle import load_bundle

    spec = load_bundle(data_path("assets", "policies", "franka-cabinet-drawer")).spec
    rec = Recorder({GRIPPER: Float64MultiArray, ARM: Float64MultiArray})
    result = _run(tmp_path, bundle=data_path("assets", "policies", "franka-cabinet-drawer"), episodes=2, hook=rec)
    assert result["task"] == "franka-cabinet-drawer" and [r["episode"] for r in result["results"]] == [1, 2], result
    assert result["policy"]["commands"] > 400 and result["policy"]["action_p99_ms"] is not None, result
    arm = np.array([m.data for _, m in rec.msgs[ARM]])
    lo, hi = np.array(spec.joint_pos_limits).T
    assert np.all(np.isfinite(arm)) and np.all(arm >= lo - 1e-9) and np.all(arm <= hi + 1e-9)
    first = _first_episode(rec.msgs[ARM], rec)  # the reset between episodes moves the cell's arm itself
    steps = np.abs(np.diff(arm[first], axis=0))
    assert len(steps) > 200 and np.all(steps <= np.array(spec.max_step_per_tick) + 1e-9)  # the step bound holds
    widths = np.array([m.data[0] for _, m in rec.msgs[GRIPPER]])
    assert len(widths) > 200 and widths.min() >= 0.0 and widths.max() <= 0.08


def _input_status(msgs, name):
    out = []
    for t, m in msgs:
        for st in m.status:
            if st.name == f"simreal_policy: input {name}":
                out.append((t, st.message, {kv.key: kv.value for kv in st.values}))
    return out


def test_a_silent_object_pose_holds_the_arm_within_three_periods_and_resumes(tmp_path):
    rec = Recorder({"/objects/cube/pose": PoseStamped, ARM: Float64MultiArray, "/diagnostics": DiagnosticArray})
    result = _run(tmp_path, sim=["pose_fault:=silence", "pose_fault_input:=cube", "pose_fault_after_s:=1.5",
                                 "pose_fault_for_s:=0.6"], hook=rec)
    poses, cmds = _times(rec.msgs["/objects/cube/pose"]), _times(rec.msgs[ARM])
    gaps = np.diff(poses)
    k = int(np.argmax(gaps))
    silent_from, back_at = poses[k], poses[k + 1]
    assert 0.5 < gaps[k] < 0.8, gaps[k]
    during = cmds[(cmds > silent_from) & (cmds < back_at)]
    assert during.size > 0 and during.max() <= silent_from + 3 * PERIOD + 0.01, during - silent_from  # held
    assert np.sum(cmds > back_at + 0.3) > 20  # and resumed once the pose came back
    status = _input_status(rec.msgs["/diagnostics"], "cube")
    assert any(msg == "stale: holding the arm" for _, msg, _ in status), status
    assert result["policy"]["stale_events"] >= 1
    assert "input cube stale on /objects/cube/pose" in (tmp_path / "logs" / "policy.log").read_text()


@pytest.mark.parametrize("fault, reason", [("nonfinite", "is not 3 finite numbers"), ("away", "outside pose_box"),
                                           ("freeze", "does not advance")])
def test_a_nan_far_off_or_frozen_object_pose_is_refused_and_reported(tmp_path, fault, reason):
    rec = Recorder({ARM: Float64MultiArray, "/diagnostics": DiagnosticArray})
    _run(tmp_path, sim=[f"pose_fault:={fault}", "pose_fault_input:=cube", "pose_fault_after_s:=1.0",
                        "pose_fault_for_s:=0.5"], hook=rec)
    status = _input_status(rec.msgs["/diagnostics"], "cube")
    assert any(int(v["rejected"]) > 10 and reason in v["last_reject_reason"] for _, _, v in status), status
    assert any(msg == "stale: holding the arm" for _, msg, _ in status)  # refused samples are not fresh data
    arm = np.array([m.data for _, m in rec.msgs[ARM]])
    assert np.all(np.isfinite(arm))


def test_a_missing_finger_joint_fails_configure_naming_it(tmp_path):
    with pytest.raises(RuntimeError, match="finger_joint2"):
        _run(tmp_path, sim=["omit_joint:=finger_joint2"], startup_timeout=40.0)
    log = (tmp_path / "logs" / "policy.log").read_text()
    assert "finger_joint2" in log and "configure failed" in log


def _constant_bundle(tmp_path, action) -> Path:
    """The shipped bundle's spec with a policy that always outputs ``action``."""
    import torch

    from simreal.deploy.spec import DeploySpec
    from simreal.export.bundle import write_bundle

    spec = DeploySpec.load(BUNDLE / "deploy.yaml")
    policy = torch.nn.Linear(spec.obs_dim, spec.num_actions)
    with torch.no_grad():
        policy.weight.zero_()
        policy.bias.copy_(torch.tensor(action))
    return write_bundle(tmp_path / "constant", policy, spec, np.zeros((4, spec.obs_dim), np.float32)).path


def test_a_tool_command_beyond_the_workspace_box_is_clamped_on_the_robot_side(tmp_path):
    bundle = _constant_bundle(tmp_path, [0.0, 0.0, 1.0, 1.0])  # up at full scale, hand open, forever
    rec = Recorder({"/sim_robot/ee_pose": PoseStamped})
    _run(tmp_path, bundle=bundle, hook=rec, task="franka-lift-ik")
    z = np.array([m.pose.position.z for _, m in rec.msgs["/sim_robot/ee_pose"]])
    from simreal.deploy.spec import DeploySpec

    top = DeploySpec.load(BUNDLE / "deploy.yaml").action.workspace[2][1]
    assert z.max() > top - 0.02, z.max()  # it went up to the box's ceiling...
    assert z.max() < top + 0.01, z.max()  # ...and no further


def test_an_estop_mid_grasp_stops_every_arm_and_gripper_command(tmp_path):
    import time

    def estop(probe, rec):
        probe.spin(1.2)  # the hand is closing on the cube by now
        rec.before = len(rec.msgs[GRIPPER])
        r = probe.call(Trigger, "/simreal_policy/estop", Trigger.Request())
        assert r is not None and r.success
        rec.t_estop = time.monotonic()
        probe.spin(1.5)

    rec = Recorder({GRIPPER: Float64MultiArray, ARM: Float64MultiArray}, then=estop)
    _run(tmp_path, hook=rec)
    assert rec.before > 30  # the gripper was being commanded
    for topic in (ARM, GRIPPER):
        after = _times(rec.msgs[topic]) - rec.t_estop
        # one in flight at most, delivered within 30 ms on a loaded machine; a live stream would send 75 more
        assert after.max() <= PERIOD + 0.03 and np.sum(after > 0) <= 2, (topic, after[after > 0])
