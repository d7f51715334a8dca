"""``simreal sysid``: an arm's physics fitted from a recording (written as ``simreal excite``
writes it, from a simulated arm whose physics are known), the fit fed back as ``--physics``,
and recordings that cannot identify anything refused with the reason."""

import json
import subprocess
import sys

import numpy as np
import pytest

from simreal.deploy.excitation import Excitation, ExcitationCfg
from simreal.errors import InputError
from simreal.robots import get_robot
from simreal.robots.physics import ArmPhysics, load_physics
from simreal.sysid.bench import compare
from simreal.sysid.fit import load_recording, simulate_recording

ROBOT = get_robot("franka_panda")
HIDDEN = ArmPhysics(joint_armature=(0.16, 0.05, 0.22, 0.1, 0.06, 0.08, 0.03),
                    joint_frictionloss=(0.7, 0.5, 0.9, 0.8, 0.0, 0.85, 0.03),
                    joint_damping=(1.3, 0.6, 0.3, 0.3, 2.0, 2.5, 1.2),
                    actuator_kp_scale=0.8, actuator_kv_scale=1.2, command_latency_s=0.014)
ARM = ROBOT.joint_names + ROBOT.gripper_joint_names


def write_mcap(path, t_cmd, cmd, t_q, q, names=ARM, stamps=True):
    """An MCAP file with the two topics ``simreal excite`` records, in its layout."""
    from mcap_ros2.writer import Writer

    from simreal.ros_nodes.msgdefs import schema_text

    with open(path, "wb") as f:
        w = Writer(f)
        js = w.register_msgdef("sensor_msgs/msg/JointState", schema_text("sensor_msgs/msg/JointState"))
        fa = w.register_msgdef("std_msgs/msg/Float64MultiArray", schema_text("std_msgs/msg/Float64MultiArray"))
        events = [(t, 0, c) for t, c in zip(t_cmd, cmd)] + [(t, 1, x) for t, x in zip(t_q, q)]
        for t, kind, values in sorted(events, key=lambda e: (e[0], e[1])):
            ns = int(round((1000.0 + t) * 1e9))
            if kind == 0:
                msg = {"layout": {"dim": [], "data_offset": 0}, "data": [float(v) for v in values]}
                w.write_message("/forward_position_controller/commands", fa, msg, log_time=ns, publish_time=ns)
            else:
                full = list(values) + [0.04] * (len(names) - len(values))
                stamp = {"sec": ns // 10**9, "nanosec": ns % 10**9} if stamps else {"sec": 0, "nanosec": 0}
                msg = {"header": {"stamp": stamp, "frame_id": ""}, "name": list(names), "position": full,
                       "velocity": [], "effort": []}
                w.write_message("/joint_states", js, msg, log_time=ns, publish_time=ns)
        w.finish()
    return path


@pytest.fixture(scope="module")
def recording():
    return simulate_recording(HIDDEN, Excitation(ROBOT, ExcitationCfg(duration_s=8.0), control_period_s=0.01))


def test_sysid_recovers_a_hidden_arm_and_its_fit_feeds_back_as_physics(tmp_path, recording):
    rec = recording
    path = write_mcap(tmp_path / "rec.mcap", rec.t_cmd, rec.cmd, rec.t_q, rec.q)
    proc = subprocess.run([sys.executable, "-m", "simreal.cli", "sysid", str(path), "--out",
                           str(tmp_path / "fit.yaml")], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["rms_after_rad"] < 0.05 * out["rms_before_rad"], out
    assert out["fit"]["actuator_kp_scale"]["pm95"] is not None and (tmp_path / "fit.png").stat().st_size > 20_000
    fitted = load_physics(tmp_path / "fit.yaml", ROBOT.num_joints)  # the --physics format
    assert fitted.pm95["actuator_kp_scale"] == out["fit"]["actuator_kp_scale"]["pm95"]  # widths for train --physics
    errors = compare(HIDDEN, fitted, [True] * ROBOT.num_joints)
    assert errors["within_targets"], errors  # latency 2 ms, gains 15 %, armature 25 %, friction 25 % or 0.05 N m


def test_recordings_that_cannot_identify_anything_are_refused(tmp_path, recording):
    rec = recording
    cases = {
        "no position commands": write_mcap(tmp_path / "a.mcap", [], [], rec.t_q, rec.q),
        "joint states with every arm joint": write_mcap(tmp_path / "b.mcap", rec.t_cmd, rec.cmd, [], []),
        "at least 5.0 s are needed": write_mcap(tmp_path / "c.mcap", rec.t_cmd[:200], rec.cmd[:200],
                                                rec.t_q[:1000], rec.q[:1000]),
        "do not move the arm": write_mcap(tmp_path / "d.mcap", rec.t_cmd, np.tile(rec.cmd[0], (len(rec.cmd), 1)),
                                          rec.t_q, rec.q),
        "lack joints ['joint1'": write_mcap(tmp_path / "e.mcap", rec.t_cmd, rec.cmd, rec.t_q, rec.q,
                                            names=["fr3_" + n for n in ARM]),
    }
    for message, path in cases.items():
        with pytest.raises(InputError) as err:
            load_recording(path, ROBOT)
        assert message in str(err.value) and str(path) in str(err.value), (message, str(err.value))
    renamed = load_recording(cases["lack joints ['joint1'"], ROBOT, joint_map={j: "fr3_" + j for j in ARM})
    assert len(renamed.t_cmd) == len(rec.t_cmd)  # with --joint-map the FR3 names are read
