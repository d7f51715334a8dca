"""Real (hand-authored, non-procedural) articulated models turned into part meshes.

Source: the Franka Kitchen furniture of Gymnasium-Robotics (``pip install
gymnasium-robotics``; models from Google's relay-policy-learning, Apache-2.0): a
cabinet with two hinged doors, a cabinet with a sliding door, and a microwave. Each
MJCF body becomes one part mesh (its visual geoms: boxes, cylinders, capsules and
STL meshes, posed as compiled by MuJoCo); the MJCF itself is the ground truth.

Used by tests/test_twin_real.py; also runnable: ``python tests/twin_real_models.py OUT``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import trimesh

MODELS = {"hingecabinet": "hingecab", "slidecabinet": "slide", "microwave": "microroot"}  # item -> root body


def kitchen_dir() -> Path | None:
    spec = importlib.util.find_spec("gymnasium_robotics")
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(list(spec.submodule_search_locations)[0]) / "envs" / "assets" / "kitchen_franka"
    return d if (d / "kitchen_assets" / "item_assets").is_dir() else None


def wrapper_xml(item: str, out: Path) -> Path:
    """A standalone MJCF holding only ``item``, with absolute include/asset paths."""
    root = kitchen_dir()
    items = root / "kitchen_assets" / "item_assets"
    xml = (f"""<mujoco model="{item}">
  <compiler angle="radian" meshdir="{root / 'franka_assets' / 'meshes'}" """
           f"""texturedir="{root / 'kitchen_assets' / 'textures'}"/>
  <include file="{items / f'{item}_asset.xml'}"/>
  <worldbody>
    <include file="{items / f'{item}_chain.xml'}"/>
  </worldbody>
</mujoco>
""")
    path = out / f"{item}_gt.xml"
    path.write_text(xml)
    return path


def _geom_mesh(model, data, g) -> trimesh.Trimesh | None:
    import mujoco

    size = model.geom_size[g]
    t = model.geom_type[g]
    if t == mujoco.mjtGeom.mjGEOM_BOX:
        mesh = trimesh.creation.box(extents=2 * size)
    elif t == mujoco.mjtGeom.mjGEOM_CYLINDER:
        mesh = trimesh.creation.cylinder(radius=size[0], height=2 * size[1], sections=32)
    elif t == mujoco.mjtGeom.mjGEOM_CAPSULE:
        mesh = trimesh.creation.capsule(height=2 * size[1], radius=size[0], count=[16, 16])
    elif t == mujoco.mjtGeom.mjGEOM_MESH:
        m = model.geom_dataid[g]
        va, vn = model.mesh_vertadr[m], model.mesh_vertnum[m]
        fa, fn = model.mesh_faceadr[m], model.mesh_facenum[m]
        mesh = trimesh.Trimesh(model.mesh_vert[va : va + vn].copy(), model.mesh_face[fa : fa + fn].copy())
    else:
        return None
    tf = np.eye(4)
    tf[:3, :3] = data.geom_xmat[g].reshape(3, 3)
    tf[:3, 3] = data.geom_xpos[g]
    mesh.apply_transform(tf)
    return mesh


def convert(item: str, out_dir) -> tuple[Path, Path]:
    """Write ``out_dir/<item>/<body>.obj`` per body and return (parts dir, ground-truth MJCF)."""
    import mujoco

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gt = wrapper_xml(item, out)
    model = mujoco.MjModel.from_xml_path(str(gt))
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    parts_dir = out / item
    parts_dir.mkdir(exist_ok=True)
    for b in range(1, model.nbody):
        geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] == b and model.geom_group[g] == 1]
        meshes = [m for m in (_geom_mesh(model, data, g) for g in geoms) if m is not None]
        if meshes:
            mesh = trimesh.util.concatenate(meshes)
            (parts_dir / f"{model.body(b).name}.obj").write_text(
                trimesh.exchange.obj.export_obj(mesh, include_normals=False))
    return parts_dir, gt


if __name__ == "__main__":
    for name in MODELS:
        print(convert(name, sys.argv[1] if len(sys.argv) > 1 else "kitchen_parts"))
