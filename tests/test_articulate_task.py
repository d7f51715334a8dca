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


def _on_the_floor(env) -> list[str]:
    """The twin's bodies that touch the floor at rest (a twin placed partly below it)."""
    import mujoco

    m, d = env.model, mujoco.MjData(env.model)
    d.qpos[:] = env.backend.qpos[0].numpy()
    mujoco.mj_forward(m, d)
    bodies = [(m.body(m.geom_bodyid[c.geom1]).name, m.body(m.geom_bodyid[c.geom2]).name) for c in d.contact[:d.ncon]]
    return [b for pair in bodies if "world" in pair for b in pair if b.startswith("twin/")]


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
    ("metaworld/buttonbox", "button_joint", "away"),  # a button on a box's front: pressed away from the robot
    ("ogbench/button", "button_0_joint", "down"),  # a button on top: pressed down
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
    expected = {"robot": (0, -1), "away": (0, 1), "down": (2, -1)}
    if toward == "side":
        assert abs(move[1]) > 0.9, move
    else:
        axis, sign = expected[toward]
        assert sign * move[axis] > 0.9, move
    assert not _on_the_floor(env), "the twin was placed reaching into the floor"
    w, _, _, z = g.quat  # the yaw turns the side the grasp point faces toward the robot (-x), or it faces up
    yaw = 2 * np.arctan2(z, w)
    rz = np.array([[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]])
    facing = rz @ np.array(g.approach)
    assert facing[2] > 0.95 if toward == "down" else facing[0] < -0.95


PRIMITIVE_TWIN = """<mujoco model="box">
  <worldbody>
    <body name="body">
      <geom type="box" size="0.1 0.1 0.1" pos="0 0 0.1"/>
      <body name="button" pos="-0.1 0.03 0.15">
        <joint name="button_joint" type="slide" axis="1 0 0" range="0 0.004"/>
        <geom type="cylinder" size="0.01 0.005" zaxis="1 0 0" pos="-0.005 0 0"/>
      </body>
    </body>
  </worldbody>
</mujoco>"""


def test_a_button_of_primitives_is_pressed_from_its_outer_face(tmp_path):
    """A cylinder button (r 10 mm, 10 mm long) on a box's -x face, pressed along +x: the approach
    is -x and the grasp point the middle of its outer face, 10 mm out of the box."""
    import json

    (tmp_path / "box.xml").write_text(PRIMITIVE_TWIN)
    (tmp_path / "report.json").write_text(json.dumps({"files": {"mjcf": "box.xml"}, "joints": [
        {"name": "button_joint", "type": "prismatic"}]}))
    g = joint_grasp(tmp_path)
    np.testing.assert_allclose(g.approach, [-1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(g.grasp_local, [-0.01, 0, 0], atol=0.0015)
    env = make_env("franka-articulate", num_envs=1, nthread=1, twin=str(tmp_path))
    move = _grasp_motion(env, "twin/button_joint", 0.003)
    np.testing.assert_allclose(move, [0.003, 0, 0], atol=1e-6)  # pressed straight away from the robot


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
    with pytest.raises(InputError, match=r"env.action must be one of \['ee_position_delta', 'joint_position_delta'\], "
                                         "got 'joint_velocity'"):
        task_cfg("franka-articulate", action="joint_velocity")
    with pytest.raises(InputError, match="valid: .*'twin', 'joint', 'open_fraction', 'action'"):
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
