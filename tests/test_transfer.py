"""``simreal bench transfer``: policies, per-arm bundles, the summary against the 0.9 target,
resuming from a partial ``--out``, and bad input named before any process starts."""

import json
import shutil
from pathlib import Path

import pytest

from simreal.deploy.transfer import bench_transfer, markdown, parse_policies
from simreal.errors import InputError, MissingFileError

BUNDLE = Path(__file__).parent / "data" / "franka_reach_bundle"


@pytest.fixture
def arms(tmp_path):
    paths = []
    for i in range(2):
        p = tmp_path / f"arm{i}.yaml"
        p.write_text("actuator_kp_scale: 0.8\n")
        paths.append(str(p))
    return paths


def test_a_finished_table_is_read_back_not_rerun_and_summarised(tmp_path, arms):
    for i in range(2):  # one bundle per arm, as a per-arm sysid policy has
        shutil.copytree(BUNDLE, tmp_path / f"fit-arm{i}")
    policies = parse_policies([f"fixed={BUNDLE}", f"fit={tmp_path}/fit-{{arm}}"])
    cells = {"fixed|nominal": 1.0, "fixed|arm0": 0.95, "fixed|arm1": 0.5, "fit|arm0": 1.0, "fit|arm1": 0.9}
    out = tmp_path / "table.json"
    saved = {k: {"success_rate": v, **_same(policies, k, arms)} for k, v in cells.items()}
    out.write_text(json.dumps({"cells": saved}))
    result = bench_transfer(policies, arms, episodes=10, out=out, png=tmp_path / "t.png")  # nothing left to run
    fixed, fit = result["summary"]["fixed"], result["summary"]["fit"]
    assert fixed["hidden_mean"] == pytest.approx(0.725) and fixed["worst_ratio"] == 0.5
    assert fixed["keeps_target_on_every_arm"] is False
    assert "nominal" not in fit["success"] and "worst_ratio" not in fit  # no bundle for the model's arm
    assert (tmp_path / "t.png").stat().st_size > 1000
    table = markdown(result).splitlines()
    assert table[0] == "| policy | nominal | arm0 | arm1 | hidden mean | worst / nominal |"
    assert table[2] == "| fixed | 1.00 | 0.95 | 0.50 | 0.72 | 0.50 |"
    assert json.loads(out.read_text())["summary"]["fit"]["hidden_min"] == 0.9


def _same(policies, key, arms, episodes=10, seed=0):
    """What a cell records of how it was run (bundle and arm by content, episodes, seed)."""
    from simreal.deploy.transfer import _bundle_for, _sha

    name, arm = key.split("|")
    bundle = _bundle_for(policies[name], arm)
    arm_file = {Path(a).stem: Path(a) for a in arms}.get(arm)
    return {"episodes": episodes, "seed": seed, "bundle": str(bundle.resolve()), "bundle_sha256": _sha(bundle),
            "arm_sha256": _sha(arm_file) if arm_file else None}


def test_only_cells_run_the_same_way_are_reused(tmp_path, arms, monkeypatch):
    """A cell of other episodes, or of an arm file changed since, runs again; a matching one does not."""
    import simreal.ros_nodes.episode_demo as demo

    ran = []

    def run_episodes(bundle, episodes, seed, physics, verbose):  # stands in for the ROS 2 processes
        ran.append(Path(physics).stem if physics else "nominal")
        return {"success_rate": 0.7, "wall_s": 1.0, "policy": {}}

    monkeypatch.setattr(demo, "run_episodes", run_episodes)
    policies = parse_policies([f"fixed={BUNDLE}"])
    out = tmp_path / "table.json"
    keys = ("fixed|nominal", "fixed|arm0", "fixed|arm1")
    saved = {k: {"success_rate": 1.0, **_same(policies, k, arms)} for k in keys}
    saved["fixed|nominal"]["episodes"] = 2
    out.write_text(json.dumps({"cells": saved}))
    Path(arms[1]).write_text("actuator_kp_scale: 0.7\n")
    result = bench_transfer(policies, arms, episodes=10, out=out)
    assert sorted(ran) == ["arm1", "nominal"]
    assert result["summary"]["fixed"]["success"] == {"nominal": 0.7, "arm0": 1.0, "arm1": 0.7}
    out.write_text("[1, 2]")
    with pytest.raises(InputError, match="not an earlier bench transfer's result"):
        bench_transfer(policies, arms, out=out)


def test_bad_input_is_named_before_anything_runs(tmp_path, arms):
    for bad, message in ((["fixed"], "NAME=BUNDLE"), (["a=x", "a =y"], "twice"), ([], "at least one")):
        with pytest.raises(InputError, match=message):
            parse_policies(bad)
    with pytest.raises(MissingFileError, match=r"bundle .*fit-arm0 \(for arm arm0\) does not exist"):
        bench_transfer({"fit": f"{tmp_path}/fit-{{arm}}"}, arms)
    with pytest.raises(MissingFileError, match="arm physics file .*nope.yaml does not exist"):
        bench_transfer({"fixed": str(BUNDLE)}, [str(tmp_path / "nope.yaml")])
    (tmp_path / "bad.yaml").write_text("actuator_kp_scale: -1\n")
    with pytest.raises(InputError, match="actuator_kp_scale must be finite and non-negative"):
        bench_transfer({"fixed": str(BUNDLE)}, [str(tmp_path / "bad.yaml")])
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "arm0.yaml").write_text("actuator_kp_scale: 0.8\n")
    with pytest.raises(InputError, match="share a name"):
        bench_transfer({"fixed": str(BUNDLE)}, [arms[0], str(tmp_path / "b" / "arm0.yaml")])


def test_drawn_arms_are_bench_sysids_arms_written_as_physics_files_and_never_overwritten(tmp_path):
    from simreal.deploy.transfer import draw_arms
    from simreal.robots.physics import load_physics

    paths = draw_arms(3, tmp_path / "arms", seed=0)
    assert [p.name for p in paths] == ["arm0.yaml", "arm1.yaml", "arm2.yaml"]
    arms = [load_physics(p, 7) for p in paths]
    # seed 0's arms of docs/BENCHMARKS.md's transfer table: 19.4, 18.7 and 27.8 ms of command latency
    assert [round(a.command_latency_s * 1e3, 1) for a in arms] == [19.4, 18.7, 27.8]
    assert all(0.7 <= a.actuator_kp_scale <= 1.3 and max(a.joint_frictionloss) <= 1.0 for a in arms)
    assert draw_arms(3, tmp_path / "arms", seed=0) == paths  # the same arms again: nothing to refuse
    with pytest.raises(InputError, match="arm0.yaml exists and holds another arm"):
        draw_arms(1, tmp_path / "arms", seed=1)
    assert load_physics(paths[0], 7) == arms[0]  # and the file is as it was
    with pytest.raises(InputError, match="at least 1"):
        draw_arms(0, tmp_path / "other")
