"""The policy node refuses what would reach the arm wrongly, over real DDS and real processes:
bad parameters and bad bundles fail configure with the reason printed, and after a gap in
/joint_states a wild sample neither resets the step bound nor makes a command jump."""

import json
import shutil
import time

import numpy as np
import pytest
import yaml

rclpy = pytest.importorskip("rclpy")

from test_ros_deploy import BUNDLE, Graph, _domain  # noqa: E402

from simreal.ros_nodes.launch import ros_env, spawn, stop  # noqa: E402

pytestmark = pytest.mark.timeout(180)


def _run_to_exit(bundle, params, tmp_path) -> tuple[int, str]:
    args = ["deploy", str(bundle), "--ros-args"] + [x for p in params for x in ("-p", p)]
    proc = spawn(args, ros_env(_domain()), tmp_path / "policy.log")
    try:
        code = proc.wait(timeout=60)
    finally:
        stop(proc)
    return code, (tmp_path / "policy.log").read_text()


@pytest.mark.parametrize("param,message", [
    ("max_step_scale:=.nan", "controller parameter max_step_scale is nan"),
    ("max_step_scale:=-1.0", "controller parameter max_step_scale is -1.0"),
    ("control_period_s:=1000000.0", "controller parameter control_period_s is 1000000.0"),
    ("control_period_s:=.inf", "controller parameter control_period_s is inf"),
    ("max_step_scale:=-1", "max_step_scale"),  # an integer where a double is declared
])
def test_bad_parameters_fail_with_the_parameter_named(param, message, tmp_path):
    code, log = _run_to_exit(BUNDLE, [param, "configure_timeout_s:=2.0"], tmp_path)
    assert code == 2 and message in log and "Traceback" not in log, log


def test_a_bad_bundle_fails_configure_with_the_reason(tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(BUNDLE, bad)
    d = yaml.safe_load((bad / "deploy.yaml").read_text())
    d["max_step_per_tick"][0] = float("nan")
    (bad / "deploy.yaml").write_text(yaml.safe_dump(d))
    code, log = _run_to_exit(bad, [], tmp_path)
    assert code == 2, log
    assert "configure failed: cannot load bundle" in log and "max_step_per_tick[0] (joint1) is nan" in log, log


class _FakeArm:
    """The probe node publishing /joint_states itself (any values a test wants), over DDS."""

    def __init__(self, probe, names):
        from sensor_msgs.msg import JointState

        self.probe, self.names, self.JointState = probe, list(names), JointState
        self.pub = probe.node.create_publisher(JointState, "/joint_states", 10)

    def publish_for(self, seconds, pos, target=(0.5, 0.0, 0.4)):
        end = time.monotonic() + seconds
        k = 0
        while time.monotonic() < end:
            msg = self.JointState(name=self.names, position=[float(x) for x in pos], velocity=[0.0] * len(pos))
            self.pub.publish(msg)
            if k % 10 == 0:
                self.probe.publish_target(target)
            k += 1
            self.probe.spin(0.01)


def test_after_a_gap_a_wild_joint_state_does_not_make_a_command_jump(tmp_path):
    spec = yaml.safe_load((BUNDLE / "deploy.yaml").read_text())
    limits = np.array(spec["joint_pos_limits"])
    bound = np.array(spec["max_step_per_tick"])
    g = Graph(tmp_path)
    try:
        arm = _FakeArm(g.probe, spec["joint_names"])
        args = ["deploy", str(BUNDLE), "--ros-args", "-p", f"stats_file:={g.stats}", "-p", "soft_start_s:=0.4",
                "-p", "diagnostics_period_s:=0.25"]
        g.procs["policy"] = spawn(args, g.env, tmp_path / "policy.log")
        default = np.array(spec["default_joint_pos"])
        end = time.monotonic() + 60
        while g.probe.policy_status.get("state") != "running" and time.monotonic() < end:
            assert g.procs["policy"].poll() is None, g.log("policy")
            arm.publish_for(0.2, default)
        arm.publish_for(1.0, default)
        assert g.probe.policy_status.get("state") == "running" and len(g.probe.commands) > 20, g.log("policy")
        g.probe.spin(0.5)  # the gap: no joint states
        assert json.loads(g.stats.read_text())["state"] == "stale_hold" or \
            g.probe.wait_for(lambda: g.probe.policy_status.get("state") == "stale_hold", 2)
        n_gap = len(g.probe.commands)
        arm.publish_for(0.3, np.full(7, 1e9))  # wild samples: refused, still holding
        assert len(g.probe.commands) == n_gap, "commands went out on a 1e9 rad joint state"
        arm.publish_for(3.0, limits[:, 0])  # plausible but far from the last command
        assert len(g.probe.commands) > n_gap + 50, g.log("policy")
        status = json.loads(g.stats.read_text())
        assert status["rejected_joint_states"] >= 10
        cmds = np.array([c for _, c in g.probe.commands])
        assert np.all(np.isfinite(cmds))
        assert np.all(cmds >= limits[:, 0] - 1e-12) and np.all(cmds <= limits[:, 1] + 1e-12)
        steps = np.abs(np.diff(cmds, axis=0))
        assert np.all(steps <= bound * (1 + 1e-6)), f"a step of {steps.max():.4g} rad beyond the bound"
    finally:
        g.close()
