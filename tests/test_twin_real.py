"""Hand-made articulated models read from installed packages (simreal.twin.real_set): the
reduction to part meshes + ground truth, the twins built from them, and the benchmark."""

import json

import pytest

from simreal.cli import main
from simreal.twin.build import build_twin
from simreal.twin.check import check_dir
from simreal.twin.metric import evaluate
from simreal.twin.procedural import export
from simreal.twin.real_set import OBJECTS, available, reduce

BY_NAME = {o.name: o for o in OBJECTS}
HAVE = {o.name for o in available()[0]}


def _need(name):
    if name not in HAVE:
        pytest.skip(f"{name}: its package is not installed (pip install -e '.[twin-real]')")
    return BY_NAME[name]


def test_reduction_keeps_the_object_only_and_folds_driven_joints(tmp_path):
    oven = reduce(_need("kitchen/oven"), tmp_path)
    # the burner flames and the hood light follow their knobs and switch through equality
    # constraints: folded into the base
    assert sorted(oven.parts) == ["body", "knob_1", "knob_2", "knob_3", "knob_4", "lightswitchroot"]
    moving = {(f"knob_{i}", "revolute", "body") for i in range(1, 5)} | {("lightswitchroot", "revolute", "body")}
    assert {(j.child, j.type, j.parent) for j in oven.joints} == moving
    door = reduce(_need("adroit/door"), tmp_path)
    # the Adroit hand in the same file is not part of the object; the latch rides on the door
    assert sorted(door.parts) == ["body", "door", "latch"]
    assert {j.child: j.parent for j in door.joints} == {"door": "body", "latch": "door"}
    assert door.parts["door"].bounds[1][2] - door.parts["door"].bounds[0][2] > 0.3  # a door, not a knob


@pytest.mark.parametrize("name,expected", [
    ("kitchen/hingecabinet", {"hingeleftdoor": "revolute", "hingerightdoor": "revolute"}),
    ("kitchen/slidecabinet", {"slidelink": "prismatic"}),
    ("kitchen/microwave", {"microdoorroot": "revolute"}),
    ("metaworld/drawer", {"drawer_link": "prismatic"}),
    ("metaworld/lever", {"lever_link1": "revolute"}),
    # round parts set into a face push in (a knob would sit on it): a button on a box's front, one on top
    ("metaworld/buttonbox", {"button": "prismatic"}),
    ("ogbench/button", {"button_0": "prismatic"}),
    ("metaworld/hammerblock", {"nail_link": "prismatic"}),
    # a framed sash (a pane in a frame a few cm deep, a handle) slides in its own plane
    ("metaworld/window_horiz", {"windowb_a": "prismatic"}),
    # a thick fridge door pinned in the hinge bracket just under its end, not at its back corner
    ("libero/short_fridge", {"door": "revolute"}),
    # a door set inside a box frame, hinged in the frame beside the edge away from its handle
    ("metaworld/doorlockB", {"door_link": "revolute"}),
    # a knob modelled 1.2 cm clear of the stove beside it (small for its 9 cm) hangs from the stove where it
    # comes nearest, and, round about the vertical, turns about that axis, not about the way to the stove
    ("libero/flat_stove", {"button": "revolute"}),
    # knobs on the hood's panel turn about its normal; the light switch, a stick set into the panel
    # at a slant, tilts about the vertical axis across its length (a toggle), not about the normal
    ("kitchen/oven", {"knob_1": "revolute", "knob_2": "revolute", "knob_3": "revolute", "knob_4": "revolute",
                      "lightswitchroot": "revolute"}),
])
def test_real_model_joints_are_recovered(tmp_path, monkeypatch, name, expected):
    monkeypatch.setenv("SIMREAL_CACHE", str(tmp_path / "cache"))
    case = export(reduce(_need(name), tmp_path), tmp_path / "case")
    report = build_twin(case / "parts", case / "twin", name="obj", progress=False)
    assert {j["child"]: j["type"] for j in report["joints"]} == expected
    result = evaluate(case / "twin", case / "gt.urdf")
    assert result["joint_success"] == 1.0, result["joints"]
    checks = check_dir(case / "twin")
    assert len(checks) == len(expected) and all(c["passed"] for c in checks), checks


def test_bench_real_set_scores_per_category(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SIMREAL_CACHE", str(tmp_path / "cache"))
    drawers = [o for o in available()[0] if o.category == "drawer"]
    if not drawers:
        pytest.skip("no drawer model installed (pip install -e '.[twin-real]')")
    assert main(["bench", "twin", "--set", "real", "--kinds", "drawer", "--keep", str(tmp_path / "w")]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["set"] == "real" and result["n_objects"] == len(drawers)
    assert result["per_category"]["drawer"]["joints"] == sum(len(reduce(o, tmp_path).joints) for o in drawers)
    assert [o["object"] for o in result["objects"]] == [o.name.replace("/", "_") for o in drawers]
    assert main(["bench", "twin", "--set", "real", "--kinds", "teapot"]) == 2
    assert "the installed real set's categories are" in capsys.readouterr().err


def test_a_handle_through_a_door_hangs_from_the_door(tmp_path, monkeypatch):
    """The Adroit door's latch passes through the door and grazes the frame: it is the door's
    child (the largest contact), and the door, with the latch's side as its handle, hinges in
    the frame post on the far side."""
    monkeypatch.setenv("SIMREAL_CACHE", str(tmp_path / "cache"))
    case = export(reduce(_need("adroit/door"), tmp_path), tmp_path / "case")
    report = build_twin(case / "parts", case / "twin", name="door", progress=False)
    joints = {j["child"]: j for j in report["joints"]}
    assert joints["latch"]["parent"] == "door"
    door = evaluate(case / "twin", case / "gt.urdf")["joints"][0]
    assert door["child"] == "door" and door["axis_ok"] and door["origin_ok"], door


def test_a_model_with_a_repeated_asset_name_and_unknown_elements_is_repaired_in_a_copy(tmp_path):
    """LIBERO's stoves define one texture name twice and its fridge carries a <region>
    element: MuJoCo refuses both; the copy keeps the first definition, drops the element and
    still finds the files next to the original."""
    import mujoco
    import trimesh

    from simreal.twin.real_set import _repaired

    src = tmp_path / "src"
    (src / "parts").mkdir(parents=True)
    trimesh.creation.box(extents=[0.1, 0.1, 0.1]).export(src / "parts" / "cube.stl")
    (src / "model.xml").write_text("""<mujoco><compiler meshdir="parts"/>
  <asset><mesh name="cube" file="cube.stl"/><mesh name="cube" file="cube.stl"/></asset>
  <worldbody><body name="b"><joint type="hinge"/><geom type="mesh" mesh="cube"/><region name="r"/></body></worldbody>
</mujoco>""")
    with pytest.raises(ValueError):
        mujoco.MjModel.from_xml_path(str(src / "model.xml"))
    fixed = _repaired(src / "model.xml", tmp_path / "work" / "model.xml")
    model = mujoco.MjModel.from_xml_path(str(fixed))
    assert model.nmesh == 1 and model.njnt == 1
