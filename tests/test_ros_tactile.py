"""Tactile pads over real DDS: the task cell renders the peg task's two GelSight frames, the
policy node reads them into the summary its bundle's policy reads, and stale, frozen and
malformed image streams hold the arm and are reported per pad."""

import itertools
import os

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Float64MultiArray  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from simreal.ros_nodes.episode_demo import run_episodes  # noqa: E402

TASK = "franka-peg-insert-tactile"
ARM = "/forward_position_controller/commands"
LEFT = "/tactile/left_finger/image_raw"
_ids = itertools.count()

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A tactile student's bundle whose policy holds still (zero actions): its inputs are real."""
    import torch

    from simreal.deploy.from_task import deploy_spec_from_task
    from simreal.export.bundle import write_bundle

    groups = ["policy", "tactile_summary"]
    spec = deploy_spec_from_task(TASK, groups, provenance={"obs_group": groups})
    policy = torch.nn.Linear(spec.obs_dim, spec.num_actions)
    with torch.no_grad():
        policy.weight.zero_()
        policy.bias.zero_()
    out = tmp_path_factory.mktemp("tactile") / "bundle"
    return write_bundle(out, policy, spec, np.zeros((4, spec.obs_dim), np.float32)).path


def _domain() -> int:
    return 1 + (os.getpid() * 13 + next(_ids) + 20) % 100


def _run(tmp_path, bundle, sim=(), policy=(), hook=None, episodes=1, **kw):
    params = lambda ps: [x for p in ps for x in ("-p", p)]  # noqa: E731
    return run_episodes(bundle, episodes=episodes, seed=0, sim_params=params(sim),
                        policy_params=params(["diagnostics_period_s:=0.25", *policy]), log_dir=tmp_path / "logs",
                        domain_id=_domain(), verbose=False, on_episode=hook, **kw)


class Recorder:
    def __init__(self, topics: dict, then=None):
        self.topics, self.then, self.msgs = topics, then, {}

    def __call__(self, probe, i):
        self.msgs = {k: probe.record(t, k) for k, t in self.topics.items()}
        if self.then is not None:
            self.then(probe, self)


def _pad_status(msgs, pad):
    return [(st.message, {kv.key: kv.value for kv in st.values}) for _, m in msgs for st in m.status
            if st.name == f"simreal_policy: input {pad}"]


def _stats(tmp_path) -> dict:
    import json

    return json.loads((tmp_path / "logs" / "policy_stats.json").read_text())


def test_rendered_gel_frames_reach_the_policy_through_the_reader(tmp_path, bundle):
    def recapture(probe, rec):
        probe.spin(1.0)
        rec.answer = probe.call(Trigger, "/simreal_policy/recapture_reference", Trigger.Request())

    rec = Recorder({LEFT: Image, ARM: Float64MultiArray}, then=recapture)
    result = _run(tmp_path, bundle, hook=rec)
    assert result["episodes"] == 1 and result["policy"]["commands"] > 100, result
    frames = [m for _, m in rec.msgs[LEFT]]
    # a 4 s episode of a 30 Hz camera: 120 frames, fewer when a loaded machine renders late
    assert len(frames) > 40 and {(m.width, m.height, m.encoding) for m in frames} == {(80, 60, "rgb8")}
    rate = (len(frames) - 1) / (rec.msgs[LEFT][-1][0] - rec.msgs[LEFT][0][0])
    assert 10 < rate < 40, rate  # the camera's 30 Hz (or less), not the control rate (50 Hz)
    assert rec.answer is not None and rec.answer.success and "next 5 frames" in rec.answer.message
    tactile = _stats(tmp_path)["tactile"]
    for pad in ("left_finger", "right_finger"):
        s = tactile[pad]
        assert s["read"] > 40 and s["rejected"] == 0 and s["size"] == [80, 60], s


def test_a_silent_pad_holds_the_arm_and_it_resumes(tmp_path, bundle):
    rec = Recorder({LEFT: Image, ARM: Float64MultiArray, "/diagnostics": DiagnosticArray})
    result = _run(tmp_path, bundle, hook=rec, sim=["tactile_fault:=silence", "tactile_fault_pad:=left_finger",
                                                   "tactile_fault_after_s:=1.0", "tactile_fault_for_s:=0.6"])
    frames = np.array([t for t, _ in rec.msgs[LEFT]])
    cmds = np.array([t for t, _ in rec.msgs[ARM]])
    k = int(np.argmax(np.diff(frames)))
    silent_from, back_at = frames[k], frames[k + 1]
    assert 0.5 < back_at - silent_from < 0.8
    during = cmds[(cmds > silent_from) & (cmds < back_at)]
    # held once the newest frame is older than tactile_max_age_s (0.1 s), one control period of slack + load
    assert during.size > 0 and during.max() <= silent_from + 0.1 + 0.02 + 0.03, during - silent_from
    assert np.sum(cmds > back_at + 0.3) > 20  # and going again once frames come back
    assert any(msg == "stale: holding the arm" for msg, _ in _pad_status(rec.msgs["/diagnostics"], "left_finger"))
    assert result["policy"]["stale_events"] >= 1
    assert f"input left_finger stale on {LEFT}" in (tmp_path / "logs" / "policy.log").read_text()


@pytest.mark.parametrize("fault, reason", [("freeze", "does not advance"), ("wrong_size", "frame is 40x60"),
                                           ("wrong_encoding", "encoding 'yuv422'")])
def test_a_frozen_resized_or_misencoded_stream_is_refused_and_holds(tmp_path, bundle, fault, reason):
    rec = Recorder({ARM: Float64MultiArray, "/diagnostics": DiagnosticArray})
    _run(tmp_path, bundle, hook=rec, sim=[f"tactile_fault:={fault}", "tactile_fault_pad:=left_finger",
                                          "tactile_fault_after_s:=1.0", "tactile_fault_for_s:=0.6"])
    status = _pad_status(rec.msgs["/diagnostics"], "left_finger")
    assert any(reason in v.get("last_reject_reason", "") and int(v["rejected"]) > 5 for _, v in status), status
    assert any(msg == "stale: holding the arm" for msg, _ in status)
    pad = _stats(tmp_path)["tactile"]["left_finger"]
    assert pad["rejected"] > 5 and reason in pad["reject_reason"]


def test_pads_that_never_send_a_frame_fail_configure_naming_the_topic(tmp_path, bundle):
    # a cell for the blind actor publishes no gel frames
    with pytest.raises(RuntimeError, match="did not start"):
        _run(tmp_path, bundle, sim=["group:=policy"], policy=["configure_timeout_s:=3.0"], startup_timeout=40.0)
    log = (tmp_path / "logs" / "policy.log").read_text()
    assert "no tactile summary" in log and LEFT in log and "no frame" in log


def test_the_shipped_blind_peg_bundle_inserts_over_ros(tmp_path):
    from simreal.data import data_path

    result = _run(tmp_path, data_path("assets", "policies", "franka-peg-insert-tactile-blind"), episodes=2)
    assert result["task"] == TASK and result["episodes"] == 2 and result["success_rate"] >= 0.5, result
    assert result["policy"]["commands"] > 300 and result["policy"]["action_p99_ms"] is not None, result


def test_the_shipped_tactile_peg_bundle_reads_its_pads_over_ros(tmp_path):
    from simreal.data import data_path

    result = _run(tmp_path, data_path("assets", "policies", "franka-peg-insert-tactile"))
    assert result["task"] == TASK and result["episodes"] == 1 and result["policy"]["commands"] > 150, result
    for pad, s in _stats(tmp_path)["tactile"].items():
        assert s["read"] > 60 and s["rejected"] == 0, (pad, s)
