"""franka-articulate: any twin's joint as a task. The grasp point and placement come from the
twin's geometry (simreal.twin.grasp), on simreal's own chest and on twins of hand-made models
from installed packages; success is the joint's travel; a bundle carries the twin to the cell."""

import numpy as np
import pytest

from simreal.errors import InputError, MissingFileError
from simreal.registry import make_env, task_cfg
from simreal.twin.build import build_twin
from simreal.twin.grasp import joint_grasp
from simreal.twin.procedural import export
from simreal.twin.real_set import OBJECTS, available, reduce

BY_NAME = {o.name: o for o in OBJECTS}
HAVE = {o.name for o in available()[0]}


def _twin(tmp_path, monkeypatch, name):
    if name not in HAVE:
        pytest.skip(f"{name}: its package is not installed")
    monkeypatch.setenv("SIMREAL_CACHE", str(tmp_path / "cache"))
    case = export(reduce(BY_NAME[name], tmp_path), tmp_path / "case")
    build_twin(case / "parts", case / "twin", name="obj", progress=False)
    return case / "twin"


def _grasp_motion(env, joint: str, delta: float) -> np.ndarray:
    """How the grasp point moves, robot frame, when ``joint`` opens by ``delta`` from rest."""
    from simreal.mdp.observations import site_pos

    before = site_pos(env, "grasp")[0].clone()
    adr = int(env.model.joint(joint).qposadr[0])
    env.backend.qpos[0, adr] = delta
    env.backend.forward()
    return (site_pos(env, "grasp")[0] - before).numpy()


def test_the_default_chest_drawer_faces_the_robot_and_opens_to_success():
    env = make_env("franka-articulate", num_envs=2, nthread=1)
    from simreal.mdp.observations import site_pos
    from simreal.twin.grasp import GRASP_AT

    np.testing.assert_allclose(site_pos(env, "grasp")[0, :2].numpy(), GRASP_AT[:2], atol=1e-4)
    assert not env.cfg.success(env).any()
    move = _grasp_motion(env, "twin/drawer_1_joint", 0.14)  # half the drawer's 0.258 m travel is 0.129
    np.testing.assert_allclose(move, [-0.14, 0.0, 0.0], atol=1e-5)  # straight toward the robot
    assert env.cfg.success(env).tolist() == [True, False]


@pytest.mark.parametrize("name, joint, toward", [
    ("kitchen/microwave", "microdoorroot_joint", "robot"),  # a door: its far edge swings out toward the robot
    ("kitchen/hingecabinet", "hingeleftdoor_joint", "robot"),
    ("metaworld/drawer", "drawer_link_joint", "robot"),  # a drawer: pulled straight out
    ("kitchen/slidecabinet", "slidelink_joint", "side"),  # a sliding door: faced, and slid sideways
])
def test_real_twins_are_placed_with_their_grasp_point_in_reach(tmp_path, monkeypatch, name, joint, toward):
    twin = _twin(tmp_path, monkeypatch, name)
    g = joint_grasp(twin, joint)
    env = make_env("franka-articulate", num_envs=1, nthread=1, twin=str(twin), joint=joint)
    from simreal.mdp.observations import site_pos

    at = site_pos(env, "grasp")[0].numpy()
    assert abs(at[0] - 0.6) < 1e-3 and abs(at[1]) < 1e-3 and 0.15 - 1e-3 <= at[2] <= 0.6 + 1e-3
    step = 0.02 if g.kind == "prismatic" else 0.05
    move = _grasp_motion(env, f"twin/{joint}", g.open_sign * step)
    move /= np.linalg.norm(move)
    if toward == "robot":
        assert move[0] < -0.9, move  # opening brings the grasp point toward the robot (-x)
    else:
        assert abs(move[1]) > 0.9, move
    w, _, _, z = g.quat  # the yaw turns the side the grasp point faces toward the robot (-x)
    yaw = 2 * np.arctan2(z, w)
    rz = np.array([[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]])
    assert (rz @ np.array(g.approach))[0] < -0.95


def test_bad_twins_and_joints_are_named(tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"):
        task_cfg("franka-articulate", twin=str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFileError, match="no report.json"):
        task_cfg("franka-articulate", twin=str(tmp_path / "empty"))
    from simreal.twin.assets import chest_twin

    chest = chest_twin()[0].parent
    with pytest.raises(InputError, match=r"no movable joint 'lid'; its joints: \['drawer_1_joint', 'drawer_0_joint'\]"):
        task_cfg("franka-articulate", twin=str(chest), joint="lid")
    with pytest.raises(InputError, match="open_fraction must be a number in"):
        task_cfg("franka-articulate", open_fraction=1.5)
    with pytest.raises(InputError, match="valid: .*'twin', 'joint', 'open_fraction'"):
        task_cfg("franka-articulate", twine=str(chest))


def test_a_bundle_carries_the_twin_to_the_task_cell(tmp_path):
    """Trained (a few iterations) on the chest's lower drawer: the exported bundle names the twin
    and joint, and the task cell built from the bundle's provenance has that drawer's grasp point."""
    from simreal.cli import main
    from simreal.deploy.task_cell import TaskCell
    from simreal.export.bundle import load_bundle
    from simreal.twin.assets import chest_twin

    chest = chest_twin()[0].parent
    run = tmp_path / "run"
    assert main(["train", "franka-articulate", "--num-envs", "16", "--steps", "768", "--run-dir", str(run),
                 "--set", f"env.twin={chest}", "--set", "env.joint=drawer_0_joint", "--set", "actor.hidden=[16]",
                 "--set", "critic.hidden=[16]", "--set", "ppo.num_steps=24", "--set", "env.episode_length_s=0.5"]) == 0
    assert main(["export", str(run), "--out", str(tmp_path / "bundle")]) == 0
    params = load_bundle(tmp_path / "bundle").spec.provenance["task_params"]
    assert params == {"twin": str(chest), "joint": "drawer_0_joint"}
    cell = TaskCell("franka-articulate", task_params=params)
    grasp = cell.true_poses()["grasp"]
    drawer_0 = joint_grasp(chest, "drawer_0_joint")
    assert drawer_0.joint == "drawer_0_joint" and abs(grasp[2] - 0.15) < 0.005  # the lower drawer, raised to 0.15 m
    assert not cell.success()
