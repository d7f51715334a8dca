"""Tactile geometry: SDFs, depth maps and force fields against hand-computed contact."""

import math
import warnings

import numpy as np
import pytest
import torch

from simreal.sensors.tactile.depth import depth_image
from simreal.sensors.tactile.forces import force_field
from simreal.sensors.tactile.geometry import ContactGeometry, gel_grid, sensor_to_object
from simreal.sensors.tactile.sdf import BoxSdf, SphereSdf


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SIMREAL_CACHE", str(tmp_path_factory.getbasetemp() / "simreal_cache"))


def sphere_press(radius_m, depth_m, x_m=0.0, batch=1):
    centre = torch.tensor([x_m, 0.0, radius_m - depth_m])
    rot = torch.eye(3).expand(batch, 1, 3, 3)
    return ContactGeometry([SphereSdf(radius_m)], rot, (-centre).expand(batch, 1, 3))


@pytest.mark.parametrize("R_mm,d_mm", [(2.0, 0.5), (3.0, 0.2), (1.5, 1.0)])
def test_sphere_patch_radius_in_depth_map(R_mm, d_mm):
    px_mm, W, H = 0.0295, 400, 300
    geom = sphere_press(R_mm * 1e-3, d_mm * 1e-3)
    depth = depth_image(geom, W, H, W * px_mm * 1e-3, H * px_mm * 1e-3, 4e-3)[0]
    a_true = math.sqrt(2 * R_mm * d_mm - d_mm ** 2)
    a_img = math.sqrt(float((depth > 0).sum()) / math.pi) * px_mm
    assert abs(a_img - a_true) < px_mm  # within one pixel
    assert float(depth.max()) == pytest.approx(d_mm, abs=1e-3)
    # the depth profile is the sphere's underside: at rho, sqrt(R^2 - rho^2) - (R - d)
    rho = 0.5 * a_true
    j = int(round(W / 2 - 0.5 + rho / px_mm))
    x = (j + 0.5 - W / 2) * px_mm
    expect = math.sqrt(R_mm ** 2 - x ** 2) - (R_mm - d_mm)
    assert float(depth[H // 2, j]) == pytest.approx(expect, abs=2e-3)


def test_sphere_patch_radius_in_force_field():
    R, d = 2e-3, 0.6e-3
    rows, cols, w, h = 60, 80, 16e-3, 12e-3
    geom = sphere_press(R, d)
    taxels = gel_grid(cols, rows, w, h)
    f = force_field(geom, taxels, torch.zeros(1, 3), k_n=1000.0, k_t=0.0, mu=1.0)[0]
    touched = taxels[f[:, 0] > 0]
    pitch = w / cols
    a_true = math.sqrt(2 * R * d - d * d)
    a_field = float(touched[:, :2].norm(dim=-1).max())
    assert a_true - pitch < a_field <= a_true
    # every taxel inside the analytic circle carries force, none outside
    r = taxels[:, :2].norm(dim=-1)
    assert bool((f[r < a_true - 1e-6, 0] > 0).all()) and bool((f[r > a_true + 1e-6, 0] == 0).all())


def test_normal_force_grows_with_depth_and_shear_flips_with_slide():
    taxels = gel_grid(20, 16, 10e-3, 8e-3)
    totals = []
    for d in (0.1e-3, 0.3e-3, 0.6e-3, 1.0e-3):
        f = force_field(sphere_press(2e-3, d), taxels, torch.zeros(1, 3), k_n=1000.0, k_t=50.0, mu=0.8)
        totals.append(float(f[0, :, 0].sum()))
    assert all(b > a for a, b in zip(totals, totals[1:]))
    geom = sphere_press(2e-3, 0.5e-3)
    shear = []
    for direction in (+1.0, -1.0):  # object slides along +x / -x: the gel slips the other way
        slip = torch.tensor([[-direction * 0.01, 0.0, 0.0]])
        f = force_field(geom, taxels, slip, k_n=1000.0, k_t=50.0, mu=0.8)[0]
        assert bool((f[:, 1:].norm(dim=-1) <= 0.8 * f[:, 0] + 1e-9).all())  # friction cap
        shear.append(float(f[:, 1].sum()))
    assert shear[0] > 0 > shear[1] and shear[0] == pytest.approx(-shear[1], rel=1e-5)


def test_depth_beyond_gel_is_clamped_with_warning():
    geom = sphere_press(3e-3, 2.5e-3)
    with pytest.warns(UserWarning, match="deeper than the gel thickness"):
        depth = depth_image(geom, 120, 90, 6e-3, 4.5e-3, 1.0e-3)
    assert float(depth.max()) == pytest.approx(1.0, abs=1e-5)
    sunk = sphere_press(1e-3, 3e-3)  # wholly below the surface, through the gel's base
    with pytest.warns(UserWarning, match="deeper than the gel thickness"):
        depth = depth_image(sunk, 120, 90, 6e-3, 4.5e-3, 1.5e-3)
    assert float(depth.max()) == pytest.approx(1.5, abs=1e-5)


def test_posed_batch_matches_sensor_frame_press():
    """The same contact seen by sensors at different world poses gives the same depth."""
    B = 3
    torch.manual_seed(0)
    q = torch.nn.functional.normalize(torch.randn(B, 4), dim=-1)
    w, x, y, z = q.unbind(-1)
    rot = torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
        2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
        2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1).reshape(B, 3, 3)
    pos = torch.randn(B, 3) * 0.1
    local = torch.tensor([0.5e-3, -0.3e-3, 1.6e-3])  # box centre in the sensor frame
    obj_pos = pos + (rot @ local)
    obj_rot = rot  # box axes aligned with the sensor's
    A, b = sensor_to_object(pos, rot, obj_pos, obj_rot)
    geom = ContactGeometry([BoxSdf((1e-3, 1e-3, 2e-3))], A.unsqueeze(1), b.unsqueeze(1))
    depth = depth_image(geom, 80, 60, 8e-3, 6e-3, 2e-3)
    assert float(depth.max()) == pytest.approx(0.4, abs=1e-3)
    assert torch.allclose(depth[0], depth[1], atol=1e-4) and torch.allclose(depth[0], depth[2], atol=1e-4)
    # a 2 x 2 mm flat punch: 2 mm / 0.1 mm per px = 20 x 20 pixels
    assert int((depth[0] > 0).sum()) == 400


def test_mesh_sdf_matches_sphere_and_is_cached():
    import trimesh

    from simreal.cache import cache_dir
    from simreal.sensors.tactile.mesh_sdf import mesh_sdf

    mesh = trimesh.creation.icosphere(subdivisions=3, radius=2e-3)
    before = set(cache_dir("sdf").iterdir())
    sdf = mesh_sdf(mesh, resolution=32)
    added = set(cache_dir("sdf").iterdir()) - before
    assert len(added) == 1
    p = (torch.rand(2000, 3) - 0.5) * 4.4e-3
    err = (sdf.distance(p) - SphereSdf(2e-3).distance(p)).abs().max()
    assert float(err) < 5e-5
    again = mesh_sdf(mesh, resolution=32)  # from the cache
    assert torch.equal(again.grid, sdf.grid)
    # the mesh indenter's patch matches the analytic one within a pixel
    R, d, px = 2e-3, 0.5e-3, 0.05e-3
    geom = ContactGeometry([sdf], torch.eye(3).view(1, 1, 3, 3), torch.tensor([[[0.0, 0.0, -(R - d)]]]))
    depth = depth_image(geom, 200, 150, 200 * px, 150 * px, 4e-3)[0]
    a_true = math.sqrt(2 * R * d - d * d)
    assert abs(math.sqrt(float((depth > 0).sum()) / math.pi) * px - a_true) < px


def test_open_mesh_is_repaired_or_rejected():
    import trimesh

    from simreal.sensors.tactile.mesh_sdf import MeshError, load_watertight_mesh

    box = trimesh.creation.box(extents=(1, 1, 1))
    holed = trimesh.Trimesh(box.vertices, box.faces[:-1], process=False)
    with pytest.warns(UserWarning, match="holes were filled"):
        fixed = load_watertight_mesh(holed)
    assert fixed.is_watertight
    sheet = trimesh.Trimesh(np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [2, 2, 1]], float),
                            np.array([[0, 1, 2], [1, 3, 2], [3, 4, 2]]), process=False)
    with pytest.raises(MeshError, match="not watertight"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load_watertight_mesh(sheet)
