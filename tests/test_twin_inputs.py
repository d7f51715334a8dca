"""Twin inputs: file layouts, units, scans, cleaning, collision cache, inertia, and bad input."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import trimesh

from simreal.cache import cache_dir
from simreal.twin.build import build_twin
from simreal.twin.cleaning import clean_parts
from simreal.twin.collision import coacd_pieces
from simreal.twin.errors import TwinInputError
from simreal.twin.inertia import make_plausible, mass_properties
from simreal.twin.inputs import load_parts
from simreal.twin.procedural import generate


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMREAL_CACHE", str(tmp_path / "cache"))


def _laptop_parts(tmp_path, scale=1.0, ext="obj"):
    obj = generate("laptop", 2, yaw=0.0)
    d = tmp_path / "parts"
    d.mkdir(exist_ok=True)
    for name, mesh in obj.parts.items():
        m = mesh.copy()
        m.apply_scale(scale)
        m.export(d / f"{name}.{ext}")
    return d, obj


def simreal(*args):
    return subprocess.run([sys.executable, "-m", "simreal.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ})


def test_glb_with_named_parts_and_single_mesh_split(tmp_path):
    obj = generate("box", 1, yaw=0.0)
    scene = trimesh.Scene()
    for name, mesh in obj.parts.items():
        scene.add_geometry(mesh, node_name=name, geom_name=name)
    glb = tmp_path / "box.glb"
    glb.write_bytes(scene.export(file_type="glb"))
    parts, notes = load_parts(glb, up="z")
    assert set(parts) == {"body", "lid"}
    # the same object as one mesh: split into connected components
    single = tmp_path / "box.obj"
    single.write_text(trimesh.exchange.obj.export_obj(trimesh.util.concatenate(list(obj.parts.values()))))
    parts, notes = load_parts(single)
    assert len(parts) == 2 and any("connected components" in n for n in notes)


def test_gltf_is_turned_z_up(tmp_path):
    box = trimesh.creation.box(extents=[0.1, 0.5, 0.2])  # tall along y: y-up convention
    other = trimesh.creation.box(extents=[0.1, 0.1, 0.1],
                                 transform=trimesh.transformations.translation_matrix([0, 0.3, 0]))
    scene = trimesh.Scene()
    scene.add_geometry(box, node_name="a")
    scene.add_geometry(other, node_name="b")
    path = tmp_path / "y.glb"
    path.write_bytes(scene.export(file_type="glb"))
    parts, notes = load_parts(path)
    assert np.argmax(parts["a"].extents) == 2 and any("z-up" in n for n in notes)


def test_units_are_inferred_and_applied(tmp_path):
    d, obj = _laptop_parts(tmp_path, scale=1000.0)  # millimetres
    parts, notes = load_parts(d)
    np.testing.assert_allclose(parts["screen"].extents, obj.parts["screen"].extents, rtol=1e-6)
    assert any("inferred as mm" in n for n in notes)
    parts, _ = load_parts(d, units="mm")
    np.testing.assert_allclose(parts["body"].extents, obj.parts["body"].extents, rtol=1e-6)


def test_absurd_scale_is_a_clear_error(tmp_path):
    d, _ = _laptop_parts(tmp_path, scale=1000.0)
    with pytest.raises(TwinInputError, match="pass the right --units"):
        load_parts(d, units="m")  # a 400 m laptop


def test_single_part_is_a_clear_error(tmp_path):
    trimesh.creation.box(extents=[0.2, 0.2, 0.2]).export(tmp_path / "cube.stl")
    with pytest.raises(TwinInputError, match="single rigid part"):
        load_parts(tmp_path / "cube.stl")
    proc = simreal("twin", "build", str(tmp_path / "cube.stl"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "single rigid part" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_input_and_empty_dir_via_cli(tmp_path):
    proc = simreal("twin", "build", str(tmp_path / "nothing"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "empty").mkdir()
    proc = simreal("twin", "build", str(tmp_path / "empty"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "holds no part meshes" in proc.stderr
    proc = simreal("twin", "check", str(tmp_path / "empty"))
    assert proc.returncode == 2 and "twin build" in proc.stderr and "Traceback" not in proc.stderr


def test_degenerate_and_open_parts_are_repaired_or_dropped(tmp_path):
    d, _ = _laptop_parts(tmp_path)
    flat = trimesh.Trimesh([[0, 0, 0], [1e-3, 0, 0], [2e-3, 0, 0]], [[0, 1, 2]])  # zero-area triangle
    flat.export(d / "sliver.stl")
    sheet = trimesh.creation.box(extents=[0.05, 0.05, 0.05],
                                 transform=trimesh.transformations.translation_matrix([0, 0, 0.06]))
    sheet.update_faces(np.arange(len(sheet.faces)) > 1)  # a box with one side open: not watertight
    sheet.export(d / "open_box.stl")
    parts, notes = clean_parts(load_parts(d)[0])
    names = {p.name for p in parts}
    assert "sliver" not in names and any("no surface area" in n for n in notes)
    report = build_twin(d, tmp_path / "twin", progress=False)
    assert (report["parts"]["open_box"]["collision"].startswith("convex hull")
            or report["parts"]["open_box"]["watertight"])


def test_floating_part_is_attached_fixed_with_a_warning(tmp_path):
    d, _ = _laptop_parts(tmp_path)
    trimesh.creation.box(extents=[0.03] * 3, transform=trimesh.transformations.translation_matrix([0, 0, 0.5])).export(
        d / "balloon.stl")
    report = build_twin(d, tmp_path / "twin", progress=False)
    balloon = next(j for j in report["joints"] if j["child"] == "balloon")
    assert balloon["type"] == "fixed" and balloon["low_confidence"]
    assert any("floats" in n and "balloon" in n for n in report["notes"])
    screen = next(j for j in report["joints"] if j["child"] == "screen")
    assert screen["type"] == "revolute"  # the rest is still articulated


def test_part_no_proposal_fits_becomes_fixed_low_confidence(tmp_path):
    pytest.importorskip("manifold3d")
    # a die rattling inside a closed box: every motion collides within a few mm
    d = tmp_path / "parts"
    d.mkdir()
    shell = trimesh.boolean.difference([trimesh.creation.box(extents=[0.2, 0.2, 0.2]),
                                        trimesh.creation.box(extents=[0.16, 0.16, 0.16])], engine="manifold")
    shell.export(d / "shell.stl")
    trimesh.creation.box(extents=[0.155, 0.155, 0.155]).export(d / "die.stl")
    report = build_twin(d, tmp_path / "twin", progress=False)
    (joint,) = report["joints"]
    assert joint["type"] == "fixed" and joint["low_confidence"] and joint["checks"].get("no_proposal_fits")


def test_point_cloud_scan_becomes_a_surface(tmp_path):
    rng = np.random.default_rng(0)
    box = trimesh.creation.box(extents=[0.3, 0.2, 0.1])
    pts, _ = trimesh.sample.sample_surface(box, 3000, seed=0)
    lid_pts = pts + [0, 0, 0.15]
    d = tmp_path / "scan"
    d.mkdir()
    trimesh.PointCloud(pts + rng.normal(0, 1e-4, pts.shape)).export(d / "body.ply")
    trimesh.PointCloud(lid_pts).export(d / "top.ply")
    parts, notes = load_parts(d)
    assert set(parts) == {"body", "top"} and any("point cloud" in n for n in notes)
    np.testing.assert_allclose(parts["body"].extents, [0.3, 0.2, 0.1], atol=0.02)


def test_coacd_is_cached_by_mesh_hash(tmp_path):
    pytest.importorskip("manifold3d")
    ring = trimesh.boolean.difference([trimesh.creation.box(extents=[0.2, 0.2, 0.05]),
                                       trimesh.creation.box(extents=[0.1, 0.1, 0.1])], engine="manifold")
    ring.apply_transform(trimesh.transformations.rotation_matrix(0.3, [0, 0, 1]))
    first = coacd_pieces(ring)
    files = list(cache_dir("coacd").glob("*.npz"))
    assert len(first) >= 2 and len(files) == 1
    again = coacd_pieces(ring)
    assert len(again) == len(first) and all(np.allclose(a.vertices, b.vertices) for a, b in zip(first, again))
    assert sum(p.volume() for p in first) == pytest.approx(ring.volume, rel=0.3)


def test_inertia_matches_a_solid_box_and_is_plausible():
    from simreal.twin.collision import part_pieces

    extents = np.array([0.4, 0.2, 0.1])
    mesh = trimesh.creation.box(extents=extents)
    parts, _ = clean_parts({"a": mesh, "b": mesh.copy()})
    mass, com, inertia, method = mass_properties(parts[0], part_pieces(parts[0])[0], density=1000.0)
    assert mass == pytest.approx(1000 * np.prod(extents), rel=1e-6) and method.startswith("solid")
    expected = mass / 12 * np.array([extents[1] ** 2 + extents[2] ** 2, extents[0] ** 2 + extents[2] ** 2,
                                     extents[0] ** 2 + extents[1] ** 2])
    np.testing.assert_allclose(np.diag(inertia), expected, rtol=1e-6)
    bad = make_plausible(np.diag([1.0, 1e-12, 5.0]), 1.0)  # singular and violating A + B >= C
    vals = np.linalg.eigvalsh(bad)
    assert vals.min() > 0 and vals[0] + vals[1] >= vals[2]


def test_report_json_is_written_and_hints_file_errors(tmp_path):
    d, _ = _laptop_parts(tmp_path)
    bad = tmp_path / "hints.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        build_twin(d, tmp_path / "twin", hints=bad, progress=False)
    bad.write_text(json.dumps({"parts": {"screen": {"type": "teleport"}}}))
    with pytest.raises(ValueError, match="hint type"):
        build_twin(d, tmp_path / "twin", hints=bad, progress=False)
