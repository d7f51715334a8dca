"""Observation traces (simreal.deploy.trace): what the policy saw against the task cell's
truth; files that load without pickle; a lag found where it was put; clear errors."""

import numpy as np
import pytest

from simreal.deploy import trace
from simreal.errors import InputError

LAYOUT = [("joint_pos", 0, 2), ("last_action", 2, 3)]


def _pair(lag_s: float):
    """Truth sampled every 2 ms; the policy's view of it ``lag_s`` late, every 20 ms."""
    tc = np.arange(0.0, 4.0, 0.002) + 100.0
    truth = np.stack([np.sin(3 * tc), np.cos(2 * tc), np.zeros_like(tc)], 1)
    tp = np.arange(0.5, 3.5, 0.02) + 100.0
    seen = np.stack([np.sin(3 * (tp - lag_s)), np.cos(2 * (tp - lag_s)), np.full_like(tp, 7.0)], 1)
    return {"t": tp, "obs": seen}, {"t": tc, "obs": truth}


def test_a_trace_round_trips_through_npz_without_pickle(tmp_path):
    tr = trace.Trace({"obs": 3, "command": 2}, max_rows=4, meta={"terms": ["a"]})
    for k in range(6):
        tr.add(float(k), obs=[k, k, k], command=None if k == 5 else [k, -k])
    assert len(tr) == 4  # the oldest rows went first
    path = tmp_path / "policy_trace.npz"
    tr.save(path)
    data = trace.load(path)
    assert data["t"].tolist() == [2.0, 3.0, 4.0, 5.0]
    assert data["obs"][:, 0].tolist() == [2.0, 3.0, 4.0, 5.0]
    assert np.isnan(data["command"][-1]).all() and data["command"][0].tolist() == [2.0, -2.0]
    assert data["terms"].tolist() == ["a"]
    assert not list(tmp_path.glob("*.tmp"))  # written atomically


def test_compare_finds_the_lag_it_was_given_and_skips_last_action():
    policy, cell = _pair(0.030)
    rows = {r["term"]: r for r in trace.compare(policy, cell, LAYOUT)}
    assert set(rows) == {"joint_pos"}
    r = rows["joint_pos"]
    assert r["lag_ms"] == pytest.approx(30.0, abs=2.5)
    assert r["gap_at_lag"] < 0.01 < r["mean_gap"]
    policy, cell = _pair(0.0)
    assert trace.compare(policy, cell, LAYOUT)[0]["mean_gap"] < 0.01


def test_traces_that_do_not_match_or_overlap_are_refused_by_name(tmp_path):
    policy, cell = _pair(0.0)
    with pytest.raises(InputError, match="3 values, the cell's 2"):
        trace.compare(policy, {"t": cell["t"], "obs": cell["obs"][:, :2]}, LAYOUT)
    with pytest.raises(InputError, match="do not overlap"):
        trace.compare({"t": policy["t"] + 1e3, "obs": policy["obs"]}, cell, LAYOUT)
    with pytest.raises(InputError, match="no trace file"):
        trace.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_text("not an archive")
    with pytest.raises(InputError, match="is not a trace"):
        trace.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(InputError, match="needs arrays 't' and 'obs'"):
        trace.load(tmp_path / "other.npz")
    np.savez(tmp_path / "objects.npz", t=np.zeros(2), obs=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(InputError, match="is not a trace"):  # object arrays would need pickle: refused
        trace.load(tmp_path / "objects.npz")


def test_the_plot_draws_each_term(tmp_path):
    policy, cell = _pair(0.02)
    out = trace.plot(policy, cell, LAYOUT, tmp_path / "gap.png")
    assert out.stat().st_size > 5000
    assert "joint_pos" in trace.format_table(trace.compare(policy, cell, LAYOUT))


def test_the_cells_truth_is_what_the_robot_side_builds_from_exact_inputs():
    from simreal.deploy.from_task import deploy_spec_from_task
    from simreal.deploy.kinematics import Kinematics
    from simreal.deploy.observations import ObservationBuilder
    from simreal.deploy.task_cell import TaskCell
    from simreal.sim.scene import EE_SITE, kinematics_xml

    task = "franka-lift-ik"
    cell = TaskCell(task, seed=2)
    cell.step(50)
    spec = deploy_spec_from_task(task)
    kin = Kinematics(kinematics_xml("franka_panda"), EE_SITE, spec.joint_names)
    obs = ObservationBuilder(spec, kin).build(cell.joint_pos, cell.joint_vel, cell.true_poses(),
                                              np.zeros(spec.num_actions), cell.gripper_pos)
    truth = cell.true_observation()
    assert truth.shape == obs.shape
    layout = {n: (a, b) for n, a, b in trace.term_layout(spec)}
    keep = np.ones(len(obs), bool)
    keep[slice(*layout["last_action"])] = False  # the cell never sets the env's action
    np.testing.assert_allclose(obs[keep], truth[keep], atol=1e-5)
