"""A bundle is validated as a whole: every case an adversarial deploy.yaml, a swapped file or
a bad node parameter can produce is refused with a message naming the field and value, and
the controller never emits NaN, a command outside the limits or a step beyond the bound."""

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from bundle_tools import rehash

from simreal.deploy.controller import RUNNING, STALE_HOLD, ControllerCfg, ControllerCfgError, DeployController
from simreal.deploy.safety import SafetyConfigError, SafetyFilter
from simreal.export import BundleError, load_bundle

BUNDLE = Path(__file__).parent / "data" / "franka_reach_bundle"


def _copy(tmp_path) -> Path:
    out = tmp_path / "bundle"
    shutil.copytree(BUNDLE, out)
    return out


def _edit(bundle: Path, change) -> None:
    path = bundle / "deploy.yaml"
    d = yaml.safe_load(path.read_text())
    change(d)
    path.write_text(yaml.safe_dump(d, sort_keys=False))


def _set(key_path: str, value):
    """A change setting d[a][b][i]... = value, with key_path like 'action.scale' or 'max_step_per_tick.0'."""
    def change(d):
        keys = [int(k) if k.lstrip("-").isdigit() else k for k in key_path.split(".")]
        node = d
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return change


NAN, INF = float("nan"), float("inf")

# (case, change to deploy.yaml, what the refusal must say)
DEPLOY_YAML_CASES = [
    ("max_step NaN", _set("max_step_per_tick.0", NAN), r"max_step_per_tick\[0\] \(joint1\) is nan"),
    ("max_step negative", _set("max_step_per_tick.2", -0.01), r"max_step_per_tick\[2\] \(joint3\) is -0.01"),
    ("max_step beyond the velocity limit", _set("max_step_per_tick.0", 1.0), r"at most joint_vel_limits\[0\]"),
    ("action.clip negative", _set("action.clip", -1.0), r"action.clip is -1.0"),
    ("action.scale negative", _set("action.scale", -0.05), r"action.scale is -0.05"),
    ("action.scale NaN", _set("action.scale", NAN), r"action.scale is nan"),
    ("action.scale 1e6", _set("action.scale", 1e6), r"action.scale is 1000000.0"),
    ("action.scale a string", _set("action.scale", "1e6"), r"action.scale is '1e6'; it must be a finite number"),
    ("default pose outside the limits", _set("default_joint_pos.3", 0.5), r"default_joint_pos\[3\] \(joint4\) is 0.5"),
    ("default pose NaN", _set("default_joint_pos.0", NAN), r"default_joint_pos\[0\] \(joint1\) is nan"),
    ("period inf", _set("control_period_s", INF), r"control_period_s is inf"),
    ("period 1e6", _set("control_period_s", 1e6), r"control_period_s is 1000000.0"),
    ("period 1e-9", _set("control_period_s", 1e-9), r"control_period_s is 1e-09"),
    ("infinite position limit", _set("joint_pos_limits.0", [-INF, INF]),
     r"joint_pos_limits\[0\]\[0\] \(joint1\) is -inf"),
    ("limits reversed", _set("joint_pos_limits.1", [1.0, -1.0]), r"joint_pos_limits\[1\] \(joint2\) is 1.0..-1.0"),
    ("velocity limit NaN", _set("joint_vel_limits.4", NAN), r"joint_vel_limits\[4\] \(joint5\) is nan"),
    ("velocity limit negative", _set("joint_vel_limits.0", -2.0), r"joint_vel_limits\[0\] \(joint1\) is -2.0"),
    ("duplicate joint names", _set("joint_names.1", "joint1"), r"joint_names lists \['joint1'\] more than once"),
    ("history 0", _set("observations.0.history", 0), r"observation term 'joint_pos': history is 0"),
    ("observation scale NaN", _set("observations.1.scale", NAN), r"observation term 'joint_vel': scale is nan"),
    ("unknown field", _set("action.gain", 2.0), r"missing or has an unknown field"),
    ("missing field", lambda d: d.pop("joint_vel_limits"), r"missing or has an unknown field"),
    ("action is not a mapping", _set("action", [1, 2]), r"action must be a mapping"),
    # valid numbers, but not what policy.onnx was exported with
    ("another action scale", _set("action.scale", 0.1),
     r"deploy.yaml's action is .*'scale': 0.1.* but policy.onnx was exported with"),
    ("another action type", _set("action.type", "joint_position"), r"deploy.yaml's action is .*joint_position'"),
    ("swapped observation terms", lambda d: d["observations"].reverse(), r"deploy.yaml's observations is"),
    ("another observation scale", _set("observations.1.scale", 1.0), r"deploy.yaml's observations is"),
    ("another default pose", _set("default_joint_pos.0", 0.1), r"deploy.yaml's default_joint_pos is"),
    ("another period", _set("control_period_s", 0.04), r"deploy.yaml's control_period_s is 0.04"),
    ("widened position limit", _set("joint_pos_limits.0", [-2.8973, 2.9]), r"widens joint_pos_limits\[0\]"),
    ("widened velocity limit", _set("joint_vel_limits.0", 3.0), r"widens joint_vel_limits\[0\]"),
    ("no onnx hash", lambda d: d["provenance"].pop("onnx_sha256"), r"has no onnx_sha256"),
]


@pytest.mark.parametrize("case,change,message", DEPLOY_YAML_CASES, ids=[c[0] for c in DEPLOY_YAML_CASES])
def test_deploy_yaml_faults_are_refused_by_name(case, change, message, tmp_path):
    bundle = _copy(tmp_path)
    _edit(bundle, change)
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle)


def test_tightened_limits_load(tmp_path):
    """deploy.yaml may narrow what the policy was exported with: a user limiting their arm."""
    bundle = _copy(tmp_path)
    _edit(bundle, _set("joint_pos_limits.0", [-1.0, 1.0]))
    _edit(bundle, _set("joint_vel_limits.0", 1.0))
    _edit(bundle, _set("max_step_per_tick.0", 0.02))
    b = load_bundle(bundle)
    assert b.spec.joint_pos_limits[0] == [-1.0, 1.0] and b.spec.max_step_per_tick[0] == 0.02


def _other_export(tmp_path) -> Path:
    """A bundle from another export: another policy with another action scale."""
    import torch

    from simreal.deploy.from_task import deploy_spec_from_task
    from simreal.export import write_bundle

    spec = deploy_spec_from_task("franka-reach")
    spec.action.scale = 0.02
    torch.manual_seed(5)
    policy = torch.nn.Sequential(torch.nn.Linear(24, 16), torch.nn.Tanh(), torch.nn.Linear(16, 7))
    return write_bundle(tmp_path / "other", policy, spec, torch.randn(16, 24)).path


def test_files_copied_from_another_export_are_refused(tmp_path):
    other = _other_export(tmp_path)
    bundle = _copy(tmp_path)
    for name in ("policy.onnx", "parity.npz"):
        shutil.copy(other / name, bundle / name)
    with pytest.raises(BundleError, match=r"policy.onnx is not the file this deploy.yaml was exported with"):
        load_bundle(bundle)
    rehash(bundle)  # even with the hashes forged, the ONNX's own record of its spec disagrees
    with pytest.raises(BundleError, match=r"deploy.yaml's action is .* but policy.onnx was exported with .*0.02"):
        load_bundle(bundle)


@pytest.mark.parametrize("name,content,message", [
    ("policy.onnx", b"not an onnx file", r"ONNX Runtime cannot load policy.onnx"),
    ("parity.npz", b"PK\x03\x04 broken", r"parity.npz is unreadable"),
    ("deploy.yaml", b"robot: [unclosed", r"deploy.yaml refused: .* is not valid YAML"),
    ("deploy.yaml", b"- a list\n", r"is not a deploy.yaml mapping"),
])
def test_broken_files_are_bundle_errors_naming_the_file(name, content, message, tmp_path):
    bundle = _copy(tmp_path)
    (bundle / name).write_bytes(content)
    if name != "deploy.yaml":
        with pytest.raises(BundleError, match=rf"{name} is not the file this deploy.yaml was exported with"):
            load_bundle(bundle)
        rehash(bundle)
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle)


# ----------------------------------------------------------------- safety filter and controller parameters
@pytest.mark.parametrize("lower,upper,step,message", [
    ([-1, -1], [1, 1], [NAN, 0.1], "max_step must be finite and > 0"),
    ([-1, -1], [1, 1], [-0.1, 0.1], "max_step must be finite and > 0"),
    ([1, -1], [-1, 1], [0.1, 0.1], "lower < upper"),
    ([-INF, -1], [1, 1], [0.1, 0.1], "must be finite"),
    ([-1, -1], [1, 1], [0.1], "one value per joint"),
])
def test_safety_filter_refuses_parameters_that_let_anything_through(lower, upper, step, message):
    with pytest.raises(SafetyConfigError, match=message):
        SafetyFilter(lower, upper, step)
    with pytest.raises(SafetyConfigError, match="smoothing"):
        SafetyFilter([-1], [1], [0.1], smoothing=NAN)


@pytest.mark.parametrize("param,value", [
    ("max_step_scale", NAN), ("max_step_scale", -1.0), ("max_step_scale", 0.0), ("max_step_scale", 1.5),
    ("control_period_s", INF), ("control_period_s", 1e6), ("control_period_s", 1e-9), ("control_period_s", -0.02),
    ("stale_periods", NAN), ("stale_periods", 0.0), ("soft_start_s", -1.0), ("soft_start_s", INF),
    ("resume_s", NAN), ("input_timeout_s", -1.0), ("smoothing", 1.0), ("smoothing", NAN),
    ("joint_state_margin_rad", -0.1),
])
def test_controller_parameters_are_validated(param, value):
    spec = load_bundle(BUNDLE).spec
    with pytest.raises(ControllerCfgError, match=rf"{param} is {value!r}"):
        DeployController(spec, lambda obs: np.zeros(7, np.float32), ControllerCfg(**{param: value}))


# ----------------------------------------------------------------- joint states and the gap
class _Arm:
    """Drives a controller at its period with joint states; records every command."""

    def __init__(self, policy):
        self.spec = load_bundle(BUNDLE).spec
        self.c = DeployController(self.spec, policy, ControllerCfg(soft_start_s=0.2, resume_s=0.1))
        self.t = 100.0
        self.commands = []

    def run(self, seconds, pos=None, feed=True, names=None):
        names = names or self.spec.joint_names
        replies = []
        for _ in range(int(round(seconds / self.c.period_s))):
            self.t += self.c.period_s
            if feed:
                q = dict(zip(self.spec.joint_names, self.spec.default_joint_pos if pos is None else pos))
                replies.append(self.c.update_joint_state(names, [q[n] for n in names], [0.0] * len(names), self.t))
            cmd = self.c.tick(self.t)
            if cmd is not None:
                self.commands.append(cmd)
        return replies

    def assert_safe(self):
        cmds = np.array(self.commands)
        lim = np.array(self.spec.joint_pos_limits)
        assert np.all(np.isfinite(cmds)), "a non-finite command"
        assert np.all(cmds >= lim[:, 0]) and np.all(cmds <= lim[:, 1]), "a command outside the limits"
        steps = np.abs(np.diff(cmds, axis=0))
        bound = np.array(self.spec.max_step_per_tick) * (1 + 1e-9)
        assert np.all(steps <= bound), f"a step of {steps.max():.4g} rad beyond the bound"


def test_after_a_gap_a_wild_sample_is_refused_and_the_arm_ramps_from_the_last_command():
    arm = _Arm(lambda obs: np.full(7, 1.0, np.float32))  # pushes every joint as fast as allowed
    arm.c.set_input("target", [0.5, 0.0, 0.4], arm.t)
    arm.c.activate(arm.t)
    arm.run(0.5)
    assert arm.c.state == RUNNING
    arm.run(0.3, feed=False)
    assert arm.c.state == STALE_HOLD
    last = arm.commands[-1].copy()
    wild = np.full(7, 1e9)
    replies = arm.run(0.04, pos=wild)
    assert all("outside its limits" in r for r in replies) and arm.c.state == STALE_HOLD
    assert np.array_equal(arm.commands[-1], last), "a command went out on implausible joint states"
    # a plausible sample far from the last command (every joint at its lower limit)
    far = np.array(arm.spec.joint_pos_limits)[:, 0]
    before = len(arm.commands)
    arm.run(3.0, pos=far)
    assert arm.c.state == RUNNING and len(arm.commands) > before + 100
    arm.assert_safe()  # the whole run, the gap included: finite, inside the limits, no step beyond the bound
    assert np.all(np.abs(arm.commands[before] - last) <= np.array(arm.spec.max_step_per_tick) * (1 + 1e-9))


def test_implausible_joint_states_are_refused_by_name():
    arm = _Arm(lambda obs: np.zeros(7, np.float32))
    names = list(arm.spec.joint_names)
    q = list(arm.spec.default_joint_pos)
    c, t = arm.c, arm.t
    assert "joint4 at 0.5 rad, outside its limits" in c.update_joint_state(names, q[:3] + [0.5] + q[4:], [0.0] * 7, t)
    assert "more than once" in c.update_joint_state(names + ["joint1"], q + [0.0], [0.0] * 8, t)
    assert "a speed of 100 rad/s" in c.update_joint_state(names, q, [100.0] + [0.0] * 6, t)
    assert "NaN or inf" in c.update_joint_state(names, [math.nan] + q[1:], [0.0] * 7, t)
    assert c.counters["rejected_joint_states"] == 4 and c.watchdog.age("joint_states", t) == math.inf
    assert c.update_joint_state(names, q, [0.0] * 7, t) is None
