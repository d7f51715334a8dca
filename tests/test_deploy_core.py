"""The ROS-free deployment core: observation and action maths equal to the training env's,
the safety filter, the watchdog and the state machine (no rclpy, no processes)."""

import numpy as np
import pytest
import torch

from simreal.deploy.controller import ESTOP, INACTIVE, RUNNING, SOFT_START, STALE_HOLD, ControllerCfg, DeployController
from simreal.deploy.from_task import deploy_spec_from_task
from simreal.deploy.observations import ObservationBuilder
from simreal.deploy.safety import SafetyFilter
from simreal.deploy.spec import DeploySpec, SpecError
from simreal.registry import task_cfg


@pytest.fixture(scope="module")
def spec():
    return deploy_spec_from_task("franka-reach")


@pytest.fixture(scope="module")
def noiseless_env():
    from simreal.envs.env import ManipulationEnv

    cfg = task_cfg("franka-reach", num_envs=8, seed=3)
    for term in cfg.observations["policy"].terms.values():
        term.noise_std, term.bias_std = 0.0, 0.0
    return ManipulationEnv(cfg, task_id="franka-reach")


def test_spec_from_task_matches_the_task(spec, tmp_path):
    cfg = task_cfg("franka-reach")
    assert spec.joint_names == [f"joint{i}" for i in range(1, 8)]
    assert spec.control_period_s == pytest.approx(cfg.scene.timestep * cfg.decimation)
    assert [t.name for t in spec.observations] == list(cfg.observations["policy"].terms)
    assert [t.scale for t in spec.observations] == [1.0, 0.1, 1.0, 1.0]
    assert spec.obs_dim == 24 and spec.num_actions == 7
    assert (spec.action.type, spec.action.scale, spec.action.clip) == ("joint_position_delta", 0.05, 1.0)
    assert spec.max_step_per_tick[0] == pytest.approx(2.175 * 0.02)
    loaded = DeploySpec.load(spec.save(tmp_path / "deploy.yaml"))
    assert loaded == spec


def test_spec_errors_say_what_is_wrong(spec):
    d = spec.to_dict()
    d["default_joint_pos"] = d["default_joint_pos"][:6]
    with pytest.raises(SpecError, match="default_joint_pos has 6 entries but there are 7"):
        DeploySpec.from_dict(d)
    d = spec.to_dict()
    d["observations"][0]["source"] = "joint_torque"
    with pytest.raises(SpecError, match="unknown source 'joint_torque'"):
        DeploySpec.from_dict(d)


def test_terms_the_robot_cannot_measure_are_refused_by_name():
    from simreal.registry import task_cfg

    cfg = task_cfg("franka-peg-insert-tactile")
    tactile = [g for g in cfg.observations if g.startswith("tactile")]
    with pytest.raises(SpecError, match="has no deployable source"):
        deploy_spec_from_task("franka-peg-insert-tactile", group=["policy", *tactile[:1]])
    with pytest.raises(SpecError, match="no observation group 'nope'"):
        deploy_spec_from_task("franka-reach", group=["policy", "nope"])


def test_observations_equal_the_envs_on_recorded_states(spec, noiseless_env):
    env = noiseless_env
    builder = ObservationBuilder(spec)
    g = torch.Generator().manual_seed(0)
    for _ in range(12):
        obs, *_ = env.step(torch.randn(env.num_envs, env.num_actions, generator=g) * 1.5)
        qpos = env.backend.qpos[:, env.arm_qpos_ids].numpy()  # float64, as a JointState carries it
        qvel = env.backend.qvel[:, env.arm_dof_ids].numpy()
        for i in range(env.num_envs):
            ours = builder.build(qpos[i], qvel[i], {"target": env.buffers["target"][i].numpy()},
                                 env.action.last_action[i].numpy())
            np.testing.assert_array_equal(ours, obs["policy"][i].numpy())


def test_history_stacks_oldest_first(spec):
    s = DeploySpec.from_dict(spec.to_dict())
    s.observations[0].history = 3
    b = ObservationBuilder(s)
    vel, tgt, act = np.zeros(7), {"target": np.zeros(3)}, np.zeros(7)
    q0 = np.array(s.default_joint_pos)
    first = b.build(q0 + 0.1, vel, tgt, act)[:21]
    np.testing.assert_allclose(first, np.tile(np.full(7, 0.1, np.float32), 3), atol=1e-6)
    second = b.build(q0 + 0.2, vel, tgt, act)[:21]
    np.testing.assert_allclose(second[:7], 0.1, atol=1e-6)
    np.testing.assert_allclose(second[14:21], 0.2, atol=1e-6)
    assert b.build(q0, vel, tgt, act).shape == (s.obs_dim,)


def test_safety_filter():
    f = SafetyFilter(lower=[-1, -1], upper=[1, 1], max_step=[0.1, 0.1])
    assert f.filter([np.nan, 0.0]) == (None, ["nonfinite"])  # nothing safe to hold yet: publish nothing
    f.reset([0.0, 0.0])
    cmd, hits = f.filter([0.05, -0.5])
    np.testing.assert_allclose(cmd, [0.05, -0.1])
    assert hits == ["step"]
    cmd, hits = f.filter([np.inf, 0.0])
    np.testing.assert_allclose(cmd, [0.05, -0.1])  # held
    f.reset([0.95, 0.0])
    cmd, hits = f.filter([1.04, 0.0])
    assert cmd[0] == 1.0 and hits == ["limits"]
    assert f.counts == {"nonfinite": 2, "step": 1, "limits": 1}
    s = SafetyFilter([-1], [1], [1.0], smoothing=0.5)
    s.reset([0.0])
    np.testing.assert_allclose(s.filter([0.4])[0], [0.2])


class _Clock:
    def __init__(self):
        self.t = 100.0


def _controller(spec, policy=None, **cfg):
    policy = policy or (lambda obs: np.full(7, 0.3, np.float32))
    return DeployController(spec, policy, ControllerCfg(**{"soft_start_s": 0.2, **cfg}))


def _run(c, clock, seconds, names=None, pos=None, feed=True):
    """Advance ``seconds`` in control periods, feeding joint states; returns the commands."""
    names = names or c.spec.joint_names
    out = []
    for _ in range(int(round(seconds / c.period_s))):
        clock.t += c.period_s
        if feed:
            q = dict(zip(c.spec.joint_names, pos if pos is not None else c.spec.default_joint_pos))
            assert c.update_joint_state(names, [q[n] for n in names], [0.0] * len(names), clock.t) is None
        out.append(c.tick(clock.t))
    return out


def test_controller_soft_start_then_policy(spec):
    clock = _Clock()
    c = _controller(spec)
    start = np.array(spec.default_joint_pos) + 0.3
    c.update_joint_state(spec.joint_names, start, np.zeros(7), clock.t)
    assert c.tick(clock.t) is None and c.state == INACTIVE
    c.activate(clock.t)
    cmds = _run(c, clock, 0.4, pos=start)
    assert c.state == RUNNING
    steps = np.abs(np.diff(np.array(cmds), axis=0))
    assert (steps <= np.array(spec.max_step_per_tick) + 1e-12).all()
    np.testing.assert_allclose(cmds[-1], spec.default_joint_pos, atol=1e-9)
    c.set_input("target", [0.5, 0.0, 0.4], clock.t)
    first = _run(c, clock, 0.02, pos=start)[0]
    # the policy's target starts at the measured pose: start + scale * 0.3, then the step bound from the last command
    expect = np.clip(np.float32(start) + np.float32(0.05) * np.float32(0.3), None, None)
    bounded = np.clip(expect - cmds[-1], -np.array(spec.max_step_per_tick), np.array(spec.max_step_per_tick))
    np.testing.assert_allclose(first, cmds[-1] + bounded, atol=1e-6)


def test_controller_holds_without_target_and_never_emits_nan(spec):
    clock = _Clock()
    c = _controller(spec, policy=lambda obs: np.full(7, np.nan, np.float32))
    c.update_joint_state(spec.joint_names, spec.default_joint_pos, np.zeros(7), clock.t)
    c.activate(clock.t)
    cmds = _run(c, clock, 0.3)
    held = cmds[-1]
    c.set_input("target", [0.5, 0.0, 0.4], clock.t)
    cmds = _run(c, clock, 0.2)
    assert all(np.all(np.isfinite(x)) for x in cmds)
    np.testing.assert_array_equal(cmds[-1], held)
    assert c.counters["nonfinite_actions"] == 10


def test_controller_joint_order_on_the_wire_does_not_matter(spec):
    rng = np.random.default_rng(0)
    shuffled = list(np.array(spec.joint_names + ["finger_joint1"])[rng.permutation(8)])
    runs = []
    for names in (spec.joint_names, shuffled):
        clock = _Clock()
        c = _controller(spec, policy=lambda obs: np.tanh(obs[:7] * 10 + obs[14:17].sum()).astype(np.float32))
        pos = dict(zip(spec.joint_names, np.array(spec.default_joint_pos) + np.linspace(-0.2, 0.2, 7)))
        pos["finger_joint1"] = 0.04
        c.update_joint_state(names, [pos[n] for n in names], [0.0] * len(names), clock.t)
        c.activate(clock.t)
        c.set_input("target", [0.5, 0.1, 0.4], clock.t)
        out = []
        for _ in range(30):
            clock.t += c.period_s
            c.update_joint_state(names, [pos[n] for n in names], [0.1] * len(names), clock.t)
            out.append(c.tick(clock.t))
        runs.append(np.array(out))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_controller_missing_joint_message(spec):
    c = _controller(spec)
    names = spec.joint_names[:6] + ["finger_joint1"]
    reason = c.update_joint_state(names, np.zeros(7), np.zeros(7), 0.0)
    assert "missing joints: joint7" in reason and "finger_joint1" in reason


def test_controller_watchdog_nan_and_estop(spec):
    clock = _Clock()
    c = _controller(spec, stale_periods=2.0)
    c.update_joint_state(spec.joint_names, spec.default_joint_pos, np.zeros(7), clock.t)
    c.activate(clock.t)
    c.set_input("target", [0.5, 0.0, 0.4], clock.t)
    _run(c, clock, 0.4)
    assert c.state == RUNNING
    # joint states stop: at most 2 more commands, then nothing
    out = _run(c, clock, 0.2, feed=False)
    assert sum(x is not None for x in out) <= 2 and out[-1] is None and c.state == STALE_HOLD
    # NaN joint states are rejected and count as no data
    bad = np.array(spec.default_joint_pos)
    bad[3] = np.nan
    assert "NaN" in c.update_joint_state(spec.joint_names, bad, np.zeros(7), clock.t)
    assert c.tick(clock.t + 0.001) is None
    # fresh data: a short ramp back to the held command, then the policy again
    out = _run(c, clock, 0.4)
    assert all(x is not None for x in out) and c.state == RUNNING
    c.estop()
    assert _run(c, clock, 0.2) == [None] * 10 and c.state == ESTOP
    c.enable(clock.t)
    assert c.state == SOFT_START and _run(c, clock, 0.02)[0] is not None


def test_streamed_inputs_can_go_stale_too(spec):
    clock = _Clock()
    c = _controller(spec, input_timeout_s=0.1)
    c.update_joint_state(spec.joint_names, spec.default_joint_pos, np.zeros(7), clock.t)
    c.activate(clock.t)
    c.set_input("target", [0.5, 0.0, 0.4], clock.t)
    assert all(x is not None for x in _run(c, clock, 0.08))
    assert _run(c, clock, 0.1)[-1] is None and c.state == STALE_HOLD  # target stopped, joints still fresh
    c.set_input("target", [0.5, 0.0, 0.4], clock.t)
    assert _run(c, clock, 0.02)[0] is not None
