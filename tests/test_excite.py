"""``simreal excite``: the multisine's bounds by construction and on the wire, and over real
DDS against the sim robot, a recording with commands and joint states; stale joint states
stop it with the recording kept."""

import os
import subprocess
import sys

import numpy as np
import pytest

from simreal.deploy.excitation import Excitation, ExcitationCfg
from simreal.errors import InputError
from simreal.robots import get_robot

ROBOT = get_robot("franka_panda")
PERIOD = 0.01


def _trace(cfg: ExcitationCfg, start) -> np.ndarray:
    ex = Excitation(ROBOT, cfg, control_period_s=PERIOD)
    return np.array([ex.command(k * PERIOD, start) for k in range(int(ex.total_s / PERIOD) + 2)]), ex


def test_the_multisine_stays_inside_its_amplitude_speed_and_limits_and_ends_at_the_default_pose():
    default = np.array(ROBOT.default_joint_pos)
    lim = np.array(ROBOT.joint_pos_limits)
    vlim = np.array(ROBOT.joint_vel_limits)
    cfg = ExcitationCfg(duration_s=12.0)
    q, ex = _trace(cfg, default)
    sine = q[int(cfg.move_s / PERIOD):]
    assert np.all(np.abs(sine - default) <= cfg.amplitude_rad + 1e-9)
    assert np.all(q >= lim[:, 0] + cfg.margin_rad - 1e-9) and np.all(q <= lim[:, 1] - cfg.margin_rad + 1e-9)
    assert np.all(np.abs(np.diff(q, axis=0)) <= cfg.speed_fraction * vlim * PERIOD + 1e-12)
    t = np.arange(0, cfg.period_s, 1e-3)
    ideal = np.array([ex.multisine(x) for x in t])  # the bound holds by construction, not by the step clamp
    assert np.all(np.abs(np.diff(ideal, axis=0)) / 1e-3 <= cfg.speed_fraction * vlim)
    assert np.allclose(q[-1], default) and np.allclose(q[0], default)
    moved = np.ptp(sine, axis=0)
    assert np.all(moved > 0.05), moved  # every joint is excited...
    freqs = [set(np.round(f, 6)) for f in ex.freqs]
    assert all(not (a & b) for i, a in enumerate(freqs) for b in freqs[i + 1:])  # ...at frequencies of its own
    assert min(min(f) for f in freqs) == pytest.approx(1 / cfg.period_s) and max(max(f) for f in freqs) <= 3.0


def test_it_starts_from_any_measured_pose_without_a_jump():
    lim = np.array(ROBOT.joint_pos_limits)
    start = lim[:, 0] + 0.02  # near every lower limit, inside the margin
    q, _ = _trace(ExcitationCfg(duration_s=6.0), start)
    steps = np.abs(np.diff(np.vstack([start, q]), axis=0))
    assert np.all(steps <= 0.3 * np.array(ROBOT.joint_vel_limits) * PERIOD + 1e-12)
    assert np.allclose(q[-1], ROBOT.default_joint_pos, atol=1e-6)


@pytest.mark.parametrize("kw, message", [
    ({"duration_s": 3.0}, "leaves no time between"),
    ({"speed_fraction": 0.9}, "speed_fraction must be in (0, 0.5]"),
    ({"amplitude_rad": float("nan")}, "amplitude_rad must be finite"),
    ({"amplitude_rad": 2.0}, "amplitude_rad must be in (0, 0.5]"),
    ({"max_freq_hz": 0.05}, "below the base frequency"),
    ({"max_freq_hz": 0.5}, "cannot give each of the 7 joints its own"),
])
def test_bad_excitation_settings_are_refused(kw, message):
    with pytest.raises(InputError) as err:
        Excitation(ROBOT, ExcitationCfg(**kw))
    assert message in str(err.value)


def test_excite_refuses_bad_options_before_anything_moves(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "simreal.cli", "excite", "--out", str(tmp_path / "r.mcap"),
                           "--speed", "2"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "speed_fraction must be in (0, 0.5]" in proc.stderr, proc.stderr
    assert not (tmp_path / "r.mcap").exists()


@pytest.mark.timeout(180)
def test_excite_records_commands_and_joint_states_and_stops_on_stale_states(tmp_path):
    pytest.importorskip("rclpy")
    from simreal.deploy.replay import COMMANDS, JOINT_STATES, read_recording, replay
    from simreal.ros_nodes.launch import ros_env, spawn, stop

    def excite(domain, out, seconds, kill_after=None):
        env = ros_env(domain)
        sim = spawn(["sim-robot"], env, tmp_path / f"sim{domain}.log")
        try:
            proc = subprocess.Popen([sys.executable, "-m", "simreal.cli", "excite", "--out", str(out), "--duration",
                                     str(seconds)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
            if kill_after is not None:
                import time

                time.sleep(kill_after)
                stop(sim)
            out_, err_ = proc.communicate(timeout=120)
            return proc.returncode, out_, err_
        finally:
            stop(sim)

    base = 1 + (os.getpid() * 17) % 90
    out = tmp_path / "rec.mcap"
    code, stdout, stderr = excite(base, out, 5.0)
    assert code == 0, stdout + stderr
    rec = read_recording(out)
    commands = np.array([m.data for _, m in rec[COMMANDS]])
    # 8 s of commands at 100 Hz; joint states throughout them, several per command (500 Hz nominal: a
    # loaded machine's simulated arm publishes fewer, and the count is not what is under test)
    t_cmd = np.array([t for t, _ in rec[COMMANDS]])
    t_js = np.array([t for t, _ in rec[JOINT_STATES]])
    assert len(commands) > 700 and len(t_js) > 2 * len(commands)
    assert t_js[0] <= t_cmd[0] and t_js[-1] >= t_cmd[-1] - 50_000_000
    assert np.ptp(commands, axis=0).min() > 0.02  # every joint was moved
    result = replay(out)  # the same model replays it closely: the recording is consistent
    assert result["commands"] == len(commands) and result["rms_error_rad"] < 0.01, result

    cut = tmp_path / "cut.mcap"
    code, stdout, stderr = excite(base + 1, cut, 30.0, kill_after=12.0)
    assert code == 1 and "joint states stale" in stderr and "recording kept" in stderr, stdout + stderr
    assert len(read_recording(cut)[COMMANDS]) > 200  # what was recorded before the stop is readable


def test_a_glitched_or_nan_pose_is_refused_and_no_command_leaves_the_joint_limits():
    ex = Excitation(ROBOT, ExcitationCfg(duration_s=6.0), control_period_s=PERIOD)
    lim = np.array(ROBOT.joint_pos_limits)
    default = np.array(ROBOT.default_joint_pos)
    assert ex.refuse(default) is None
    assert "beyond its limits" in ex.refuse(np.where(np.arange(7) == 2, 1e9, default))
    assert "not finite" in ex.refuse(np.where(np.arange(7) == 0, np.nan, default))
    start = lim[:, 1] + 0.05  # a reading just past every upper limit (within the slack a sensor may show)
    q = np.array([ex.command(k * PERIOD, start) for k in range(int(ex.total_s / PERIOD))])
    assert np.all(np.isfinite(q)) and np.all(q >= lim[:, 0]) and np.all(q <= lim[:, 1])
    assert np.all(np.abs(np.diff(q, axis=0)) <= 0.3 * np.array(ROBOT.joint_vel_limits) * PERIOD + 1e-12)
