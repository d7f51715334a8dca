"""The deployment path end to end over real DDS: the sim-robot node and the policy node as
separate processes (``python -m simreal.cli ...``), driven from an in-test rclpy node.

Each test uses its own ROS_DOMAIN_ID and bounded waits; processes are always stopped.
"""

import itertools
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from bundle_tools import rehash  # noqa: E402

from simreal.ros_nodes.demo import Probe, run_demo, sample_targets  # noqa: E402
from simreal.ros_nodes.launch import ros_env, spawn, stop  # noqa: E402

BUNDLE = Path(__file__).parent / "data" / "franka_reach_bundle"
PERIOD = 0.02  # the bundle's control period
_ids = itertools.count()

pytestmark = pytest.mark.timeout(180)


def _domain() -> int:
    return 1 + (os.getpid() * 7 + next(_ids)) % 100


class Graph:
    """Processes on a private ROS domain, plus a probe node; everything stopped at exit."""

    def __init__(self, tmp_path):
        self.domain = _domain()
        self.env = ros_env(self.domain)
        self.tmp = tmp_path
        self.procs = {}
        self.probe = Probe(self.domain)
        self.stats = tmp_path / "policy_stats.json"

    def sim(self, *params):
        args = ["sim-robot", "--ros-args"] + [x for p in params for x in ("-p", p)]
        self.procs["sim"] = spawn(args, self.env, self.tmp / "sim.log")
        assert self.probe.wait_for(lambda: self.probe.ee is not None or self.procs["sim"].poll() is not None, 60), \
            self.log("sim")
        assert self.procs["sim"].poll() is None, self.log("sim")

    def policy(self, *params, bundle=BUNDLE, wait_running=True):
        args = ["deploy", str(bundle), "--ros-args", "-p", f"stats_file:={self.stats}", "-p",
                "diagnostics_period_s:=0.25"]
        args += [x for p in params for x in ("-p", p)]
        self.procs["policy"] = spawn(args, self.env, self.tmp / "policy.log")
        if wait_running:
            ok = self.probe.wait_for(lambda: self.probe.policy_status.get("state") == "running"
                                     or self.procs["policy"].poll() is not None, 60)
            assert ok and self.procs["policy"].poll() is None, self.log("policy")

    def log(self, name) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text()[-3000:] if path.exists() else ""

    def status(self) -> dict:
        return json.loads(self.stats.read_text())

    def close(self):
        self.probe.close()
        for p in self.procs.values():
            stop(p)


@pytest.fixture
def graph(tmp_path):
    g = Graph(tmp_path)
    yield g
    g.close()


def test_end_to_end_reach_with_recording_and_replay(tmp_path):
    """The README's last step: policy and sim-robot processes, a sequence of targets, a success rate;
    recorded to MCAP meanwhile and replayed through the simulator."""
    from simreal.deploy.replay import replay

    domain = _domain()
    mcap = tmp_path / "run.mcap"
    rec = spawn(["record", "--out", str(mcap), "--duration", "40"], ros_env(domain), tmp_path / "rec.log")
    try:
        result = run_demo(BUNDLE, targets=3, seconds_per_target=4.0, radius=0.03, seed=1, log_dir=tmp_path,
                          domain_id=domain)
    finally:
        stop(rec)
    print(json.dumps(result))
    assert result["success_rate"] >= 2 / 3, result
    assert result["policy"]["commands"] > 300
    out = replay(mcap)
    print(json.dumps(out))
    assert out["commands"] > 300 and out["joint_states_compared"] > 1000
    assert out["rms_error_rad"] < 0.02, out


def test_shuffled_joint_order_and_trajectory_output(tmp_path):
    """Joints shuffled on the wire (plus the gripper joints), a JointTrajectory controller, and an
    imperfect robot (10 ms command latency, 20 % dropped joint states, 0.5 mrad noise): same reach."""
    sim = ["-p", "shuffle_joints:=true", "-p", "latency_s:=0.01", "-p", "drop_prob:=0.2", "-p", "noise_std:=0.0005"]
    result = run_demo(BUNDLE, targets=2, seconds_per_target=4.0, radius=0.03, seed=2, log_dir=tmp_path,
                      domain_id=_domain(), sim_params=sim, policy_params=["-p", "output:=trajectory"])
    print(json.dumps(result))
    assert result["success_rate"] == 1.0, result


def _commands_after(probe, t):
    return [c for c in probe.commands if c[0] > t]


def test_sim_robot_killed_policy_stops_within_3_periods(graph):
    graph.sim()
    graph.policy("stale_periods:=2.0")
    graph.probe.hold_target(sample_targets(1, 3)[0], 1.0)
    assert len(graph.probe.commands) > 20
    graph.procs["sim"].kill()
    t_kill = time.monotonic()
    graph.probe.spin(1.0)
    late = _commands_after(graph.probe, t_kill + 3 * PERIOD + 0.03)  # 30 ms for delivery on a loaded machine
    assert late == [], f"{len(late)} commands after the robot died"
    assert graph.probe.wait_for(lambda: graph.probe.policy_status.get("state") == "stale_hold", 5)
    assert graph.probe.wait_for(lambda: "joint states stale" in graph.log("policy"), 5), graph.log("policy")
    assert graph.status()["stale_events"] >= 1


def test_nan_joint_states_are_rejected_and_hold(graph):
    from std_srvs.srv import SetBool

    graph.sim()
    graph.policy("stale_periods:=2.0")
    graph.probe.hold_target(sample_targets(1, 4)[0], 1.0)
    assert graph.probe.call(SetBool, "/simreal_sim_robot/inject_nan", SetBool.Request(data=True)).success
    t_nan = time.monotonic()
    graph.probe.spin(1.0)
    assert all(np.all(np.isfinite(c[1])) for c in graph.probe.commands), "a non-finite command was published"
    assert _commands_after(graph.probe, t_nan + 3 * PERIOD + 0.05) == []
    assert graph.probe.wait_for(lambda: graph.probe.policy_status.get("state") == "stale_hold", 5)
    assert graph.status()["rejected_joint_states"] > 10
    # clean data again: the node resumes on its own
    graph.probe.call(SetBool, "/simreal_sim_robot/inject_nan", SetBool.Request(data=False))
    n = len(graph.probe.commands)
    graph.probe.spin(1.0)
    assert len(graph.probe.commands) > n + 10


def test_missing_joint_fails_configure_with_the_joint_named(graph):
    graph.sim("omit_joint:=joint7")
    graph.policy(wait_running=False)
    code = graph.procs["policy"].wait(timeout=60)
    log = graph.log("policy")
    assert code == 2, log
    assert "missing joints: joint7" in log and "check the robot's joint names" in log
    assert graph.probe.commands == []


def test_estop_stops_commands_and_enable_soft_starts(graph):
    from std_srvs.srv import SetBool, Trigger

    graph.sim()
    graph.policy("soft_start_s:=0.5")
    graph.probe.hold_target(sample_targets(1, 5)[0], 0.5)
    resp = graph.probe.call(Trigger, "/simreal_policy/estop", Trigger.Request())
    t_stop = time.monotonic()
    assert resp is not None and resp.success
    sent = int(resp.message.split("after command ")[1].split(":")[0])
    graph.probe.spin(1.0)
    assert graph.status()["commands"] == sent, "the node published after the e-stop returned"
    assert _commands_after(graph.probe, t_stop + 0.05) == []
    assert graph.probe.policy_status.get("state") == "estop"
    resp = graph.probe.call(SetBool, "/simreal_policy/enable", SetBool.Request(data=True))
    assert resp.success and "soft start" in resp.message
    graph.probe.spin(1.0)
    assert len(_commands_after(graph.probe, t_stop + 1.0)) > 10


def test_bundle_failing_parity_is_refused(tmp_path):
    bad = tmp_path / "bad_bundle"
    shutil.copytree(BUNDLE, bad)
    with np.load(bad / "parity.npz") as d:
        obs, act = d["obs"], d["actions"] + 1e-3
    np.savez(bad / "parity.npz", obs=obs, actions=act)
    rehash(bad)
    proc = spawn(["deploy", str(bad)], ros_env(_domain()), tmp_path / "policy.log")
    try:
        code = proc.wait(timeout=60)
    finally:
        stop(proc)
    log = (tmp_path / "policy.log").read_text()
    assert code == 2 and "refused" in log and "parity.npz" in log, log


def test_lifecycle_transitions_from_a_manager(graph):
    """autostart false: configure / activate / deactivate through the standard lifecycle services."""
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState, GetState

    def change(tid):
        r = graph.probe.call(ChangeState, "/simreal_policy/change_state",
                             ChangeState.Request(transition=Transition(id=tid)))
        return r is not None and r.success

    def state():
        return graph.probe.call(GetState, "/simreal_policy/get_state", GetState.Request()).current_state.label

    graph.sim()
    graph.policy("autostart:=false", "soft_start_s:=0.3", wait_running=False)
    assert graph.probe.wait_for(lambda: graph.probe.call(GetState, "/simreal_policy/get_state", GetState.Request(),
                                                         timeout=1.0) is not None, 60), graph.log("policy")
    assert state() == "unconfigured"
    assert change(Transition.TRANSITION_CONFIGURE) and state() == "inactive"
    graph.probe.spin(0.3)
    assert graph.probe.commands == []  # configured but inactive: nothing commanded
    assert change(Transition.TRANSITION_ACTIVATE) and state() == "active"
    graph.probe.hold_target(sample_targets(1, 6)[0], 1.0)
    assert len(graph.probe.commands) > 20
    assert change(Transition.TRANSITION_DEACTIVATE) and state() == "inactive"
    t = time.monotonic()
    graph.probe.spin(0.5)
    assert _commands_after(graph.probe, t + 0.05) == []
