"""Twin pipeline end to end: build -> files that load in MuJoCo -> joints that move as they should."""

import json

import mujoco
import numpy as np
import pytest
import trimesh

from simreal.twin.build import build_twin
from simreal.twin.check import check_dir
from simreal.twin.metric import evaluate
from simreal.twin.procedural import GAP, WALL, _drawer, export, generate, hollow


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMREAL_CACHE", str(tmp_path / "cache"))


def _build(tmp_path, kind, seed, **kw):
    case = export(generate(kind, seed), tmp_path / kind)
    report = build_twin(case / "parts", case / "twin", name=kind, progress=False, **kw)
    return case, report


@pytest.mark.parametrize("kind,seed", [("laptop", 3), ("box", 5), ("faucet", 2)])
def test_build_recovers_joints_and_files_load(tmp_path, kind, seed):
    case, report = _build(tmp_path, kind, seed)
    twin = case / "twin"
    for rel in (f"{kind}.urdf", f"{kind}.xml", "report.json"):
        assert (twin / rel).is_file()
    assert len(list((twin / "meshes" / "visual").glob("*.obj"))) == len(report["parts"])
    urdf_text = (twin / f"{kind}.urdf").read_text()
    assert "package://" not in urdf_text and 'filename="meshes/' in urdf_text
    # both files load in MuJoCo without edits, with the same joints
    m_mjcf = mujoco.MjModel.from_xml_path(str(twin / f"{kind}.xml"))
    m_urdf = mujoco.MjModel.from_xml_path(str(twin / f"{kind}.urdf"))
    assert m_mjcf.njnt == m_urdf.njnt == len([j for j in report["joints"] if j["type"] != "fixed"])
    # visual geoms never collide; every body has positive mass and a valid inertia
    visual = m_mjcf.geom_group == 2
    assert np.all(m_mjcf.geom_contype[visual] == 0) and np.all(m_mjcf.geom_conaffinity[visual] == 0)
    assert np.all(m_mjcf.body_mass[1:] > 0) and np.all(m_mjcf.body_inertia[1:] > 0)
    for b in range(1, m_mjcf.nbody):  # every body collides through its convex pieces (meshes or boxes)
        assert np.sum((m_mjcf.geom_bodyid == b) & (m_mjcf.geom_group == 3) & (m_mjcf.geom_contype > 0)) >= 1
    # the metric against the generator's ground truth
    result = evaluate(twin, case / "gt.urdf")
    assert result["joint_success"] == 1.0, result
    saved = json.loads((twin / "report.json").read_text())
    for j in saved["joints"]:
        assert {"type", "parent", "child", "axis", "origin", "limits", "confidence", "checks"} <= set(j)
        assert j["checks"]["rest_clear_of_other_parts"]  # <= 1 mm against every part it collides with


def test_check_drives_every_joint_to_its_limits(tmp_path):
    case, report = _build(tmp_path, "oven", 4)
    results = check_dir(case / "twin")
    assert len(results) == len(report["joints"]) and all(r["passed"] for r in results), results
    door = next(r for r in results if r["name"] == "door_joint")
    lo, hi = door["targets"]
    assert hi > 1.2  # the door opens past 70 degrees
    assert abs(door["reached"][1] - hi) < 0.1 * (hi - lo)


def _drawer_object(tmp_path):
    W, D, H = 0.5, 0.4, 0.25
    body = hollow([-W / 2, -D / 2, 0], [W / 2, D / 2, H], "-y")
    drawer, _ = _drawer("drawer", None, [-W / 2 + WALL, WALL], [W / 2 - WALL, H - WALL], -D / 2,
                        D - WALL - 2 * GAP - 0.005)
    parts = tmp_path / "parts"
    parts.mkdir()
    body.export(parts / "body.stl")
    drawer.export(parts / "drawer.stl")
    return parts


def test_drawer_slides_out_in_simulation(tmp_path):
    report = build_twin(_drawer_object(tmp_path), tmp_path / "twin", name="chest", progress=False)
    (joint,) = report["joints"]
    assert joint["type"] == "prismatic" and joint["child"] == "drawer"
    np.testing.assert_allclose(np.abs(joint["axis"]), [0, 1, 0], atol=1e-6)
    assert 0.2 < joint["limits"][1] < 0.4
    model = mujoco.MjModel.from_xml_path(str(tmp_path / "twin" / "chest.xml"))
    data = mujoco.MjData(model)
    body = model.body("drawer").id
    mujoco.mj_forward(model, data)
    y0 = float(data.xpos[body][1])
    pull = np.asarray(joint["axis"]) * 20.0  # along the opening direction, world frame
    for _ in range(1500):  # 3 s of a 20 N pull
        data.xfrc_applied[body, :3] = pull
        mujoco.mj_step(model, data)
    q = float(data.qpos[model.joint("drawer_joint").qposadr[0]])
    assert q == pytest.approx(joint["limits"][1], abs=0.02)  # stopped at its limit
    assert abs(data.xpos[body][1] - y0) == pytest.approx(q, abs=1e-3)  # and it moved along y
    assert np.isfinite(data.qpos).all()


def test_view_renders_rest_and_limits(tmp_path):
    """Through the CLI in a fresh process (rendering picks its GL backend at import)."""
    import subprocess
    import sys

    from PIL import Image

    case, _ = _build(tmp_path, "laptop", 1)
    out = tmp_path / "laptop.png"
    proc = subprocess.run([sys.executable, "-m", "simreal.cli", "twin", "view", str(case / "twin"), "--out", str(out),
                           "--width", "160", "--height", "120"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    img = Image.open(out)
    assert img.size[0] >= 320  # rest + open at least
    lo, hi = img.convert("L").getextrema()
    assert hi - lo > 50


def test_hints_force_a_joint_type(tmp_path):
    case = export(generate("laptop", 1), tmp_path / "laptop")
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"parts": {"screen": {"type": "fixed"}}}))
    report = build_twin(case / "parts", tmp_path / "twin", hints=hints, progress=False)
    assert report["joints"][0]["type"] == "fixed"
    hints.write_text(json.dumps({"parts": {"lid": {"type": "door"}}}))
    with pytest.raises(ValueError, match="not in the input"):
        build_twin(case / "parts", tmp_path / "twin2", hints=hints, progress=False)


def test_all_kinds_generate_watertight_parts_with_ground_truth():
    for kind in ("cabinet", "box", "laptop", "microwave", "oven", "faucet"):
        obj = generate(kind, 11)
        assert "body" in obj.parts and len(obj.parts) == len(obj.joints) + 1
        for name, mesh in obj.parts.items():
            assert mesh.is_watertight and mesh.volume > 0, (kind, name)
        for j in obj.joints:
            assert np.isclose(np.linalg.norm(j.axis), 1.0)


def test_generator_without_manifold3d_gives_the_same_joints(tmp_path, monkeypatch):
    """Without manifold3d the parts are closed boards side by side; the twin is the same."""
    import simreal.twin.procedural as procedural

    monkeypatch.setattr(procedural, "HAVE_MANIFOLD", False)
    for kind, seed in (("cabinet", 7), ("microwave", 2)):
        obj = generate(kind, seed)
        assert all(m.is_watertight for m in obj.parts.values())
        case = export(obj, tmp_path / kind)
        build_twin(case / "parts", case / "twin", name=kind, progress=False)
        assert evaluate(case / "twin", case / "gt.urdf")["joint_success"] == 1.0


def test_open_laptop_hinges_on_the_line_it_touches(tmp_path):
    """A screen given open (100 degrees) touches the base only along the hinge."""
    from simreal.twin.metric import load_joints, score_joint

    obj = generate("laptop", 3, yaw=2.0)
    hinge = obj.joints[0]
    obj.parts["screen"].apply_transform(trimesh.transformations.rotation_matrix(1.75, hinge.axis, hinge.origin))
    case = export(obj, tmp_path / "open")
    report = build_twin(case / "parts", case / "twin", progress=False)
    (joint,) = report["joints"]
    assert joint["type"] == "revolute" and joint["limits"][0] < -1.3  # it can close from where it is
    gt = load_joints(case / "gt.urdf")[0]
    gt["limits"] = [-1.75, 0.65 * np.pi - 1.75]  # the generator's range, seen from the open pose
    assert score_joint(load_joints(case / "twin")[0], gt, report["diag_m"])["correct"]


def test_bottom_drawer_of_a_cabinet_without_a_bottom_board_slides_out(tmp_path):
    """The floor the cabinet stands on walls the drawer in from below (LIBERO's cabinets have
    no bottom board under their lowest drawer)."""
    from simreal.twin.procedural import box

    W, D, H = 0.4, 0.35, 0.3
    body = trimesh.util.concatenate([box([-W / 2, -D / 2, 0], [-W / 2 + WALL, D / 2, H]),
                                     box([W / 2 - WALL, -D / 2, 0], [W / 2, D / 2, H]),
                                     box([-W / 2, D / 2 - WALL, 0], [W / 2, D / 2, H]),
                                     box([-W / 2, -D / 2, H - WALL], [W / 2, D / 2, H])])
    drawer = hollow([-W / 2 + WALL + GAP, -D / 2, 0.0], [W / 2 - WALL - GAP, D / 2 - WALL - GAP, 0.12], "+z",
                    wall=0.012)
    parts = tmp_path / "parts"
    parts.mkdir()
    for name, mesh in (("body", body), ("drawer", drawer)):
        (parts / f"{name}.obj").write_text(trimesh.exchange.obj.export_obj(mesh, include_normals=False))
    report = build_twin(parts, tmp_path / "twin", progress=False)
    (joint,) = report["joints"]
    assert joint["type"] == "prismatic" and abs(joint["axis"][1]) > 0.99 and joint["limits"][1] > 0.1, joint
