"""Writers: meshes, ``<name>.urdf`` and ``<name>.xml`` (MJCF) of an ``Articulation``.

Both files use relative mesh paths (``meshes/visual/*.obj``, ``meshes/collision/*.obj``),
no ``package://``. Visual geometry never collides; collision is the convex pieces (boxes
as primitives). Parent/child contacts are excluded. The URDF carries a ``<mujoco>``
compiler element (ignored by other importers) so MuJoCo keeps the mesh paths.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import trimesh

from simreal.twin.links import Articulation, Link, fmt, quat_from_matrix, rpy_from_matrix


def _write_obj(mesh: trimesh.Trimesh, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(trimesh.exchange.obj.export_obj(mesh, include_normals=False, include_color=False,
                                                    include_texture=False))


def write_meshes(art: Articulation, out: Path) -> dict[str, dict]:
    """Mesh files in link frames. Returns per link {"visual": relpath, "collision": [entries]};
    an entry is ("mesh", relpath) or ("box", center, rot, half) in the link frame."""
    files = {}
    for link in art.links:
        vis = f"meshes/visual/{link.name}.obj"
        _write_obj(link.visual, out / vis)
        entries = []
        for k, piece in enumerate(link.pieces):
            if piece.kind == "box":
                entries.append(("box", piece.box_center - link.origin, piece.box_rot, piece.box_half))
            else:
                rel = f"meshes/collision/{link.name}_{k}.obj"
                mesh = trimesh.Trimesh(piece.vertices - link.origin, piece.faces, process=False).convex_hull
                _write_obj(mesh, out / rel)
                entries.append(("mesh", rel))
        files[link.name] = {"visual": vis, "collision": entries}
    return files


def _indent(elem: ET.Element) -> str:
    ET.indent(elem, space="  ")
    return ET.tostring(elem, encoding="unicode") + "\n"


def _urdf_inertial(parent: ET.Element, link: Link) -> None:
    inertial = ET.SubElement(parent, "inertial")
    ET.SubElement(inertial, "origin", xyz=fmt(link.com - link.origin), rpy="0 0 0")
    ET.SubElement(inertial, "mass", value=f"{link.mass:.6g}")
    I = link.inertia
    ET.SubElement(inertial, "inertia", ixx=f"{I[0, 0]:.6g}", ixy=f"{I[0, 1]:.6g}", ixz=f"{I[0, 2]:.6g}",
                  iyy=f"{I[1, 1]:.6g}", iyz=f"{I[1, 2]:.6g}", izz=f"{I[2, 2]:.6g}")


def write_urdf(art: Articulation, files: dict, path: Path) -> None:
    robot = ET.Element("robot", name=art.name)
    mj = ET.SubElement(robot, "mujoco")
    ET.SubElement(mj, "compiler", strippath="false", discardvisual="true", fusestatic="false", balanceinertia="true")
    for link in art.links:
        el = ET.SubElement(robot, "link", name=link.name)
        _urdf_inertial(el, link)
        vis = ET.SubElement(el, "visual")
        ET.SubElement(vis, "origin", xyz="0 0 0", rpy="0 0 0")
        ET.SubElement(ET.SubElement(vis, "geometry"), "mesh", filename=files[link.name]["visual"])
        mat = ET.SubElement(vis, "material", name=f"{link.name}_color")
        ET.SubElement(mat, "color", rgba=fmt(link.rgba, 3))
        for entry in files[link.name]["collision"]:
            col = ET.SubElement(el, "collision")
            if entry[0] == "mesh":
                ET.SubElement(col, "origin", xyz="0 0 0", rpy="0 0 0")
                ET.SubElement(ET.SubElement(col, "geometry"), "mesh", filename=entry[1])
            else:
                _, center, rot, half = entry
                ET.SubElement(col, "origin", xyz=fmt(center), rpy=fmt(rpy_from_matrix(rot)))
                ET.SubElement(ET.SubElement(col, "geometry"), "box", size=fmt(2 * half))
    for joint in art.joints:
        parent, child = art.link(joint.parent), art.link(joint.child)
        el = ET.SubElement(robot, "joint", name=joint.name, type=joint.type)
        ET.SubElement(el, "parent", link=parent.name)
        ET.SubElement(el, "child", link=child.name)
        ET.SubElement(el, "origin", xyz=fmt(child.origin - parent.origin), rpy="0 0 0")
        if joint.type != "fixed":
            ET.SubElement(el, "axis", xyz=fmt(joint.axis))
            limit = {"effort": "100", "velocity": "2"}
            if joint.limits is not None:
                limit.update(lower=f"{joint.limits[0]:.6g}", upper=f"{joint.limits[1]:.6g}")
            ET.SubElement(el, "limit", **limit)
            ET.SubElement(el, "dynamics", damping=f"{joint.damping:g}", friction="0")
    path.write_text('<?xml version="1.0"?>\n' + _indent(robot))


def write_mjcf(art: Articulation, files: dict, path: Path) -> None:
    root = ET.Element("mujoco", model=art.name)
    ET.SubElement(root, "compiler", angle="radian", meshdir=".", autolimits="true")
    default = ET.SubElement(root, "default")
    vis = ET.SubElement(default, "default", {"class": f"{art.name}_visual"})
    ET.SubElement(vis, "geom", type="mesh", contype="0", conaffinity="0", group="2", density="0")
    col = ET.SubElement(default, "default", {"class": f"{art.name}_collision"})
    ET.SubElement(col, "geom", group="3", rgba="0.4 0.5 0.8 0.3", density="0", friction="1 0.005 0.0001")
    ET.SubElement(default, "joint", damping="0.02", armature="0.0001")
    asset = ET.SubElement(root, "asset")
    for link in art.links:
        # visual meshes carry no mass (density 0) and may be open or flat: shell inertia compiles for any surface
        ET.SubElement(asset, "mesh", name=f"{art.name}_{link.name}_visual", file=files[link.name]["visual"],
                      inertia="shell")
        for k, entry in enumerate(files[link.name]["collision"]):
            if entry[0] == "mesh":
                ET.SubElement(asset, "mesh", name=f"{art.name}_{link.name}_col{k}", file=entry[1])
    world = ET.SubElement(root, "worldbody")
    bodies = {}
    joints_by_child = {j.child: j for j in art.joints}
    for link in art.links:
        joint = joints_by_child.get(link.name)
        parent_el = world if joint is None else bodies[joint.parent]
        parent_origin = np.zeros(3) if joint is None else art.link(joint.parent).origin
        body = ET.SubElement(parent_el, "body", name=link.name, pos=fmt(link.origin - parent_origin))
        bodies[link.name] = body
        if joint is not None and joint.type != "fixed":
            attrs = {"name": joint.name, "type": "slide" if joint.type == "prismatic" else "hinge",
                     "axis": fmt(joint.axis)}
            if joint.limits is not None:
                attrs["range"] = fmt(joint.limits)
            attrs["damping"] = f"{joint.damping:g}"
            ET.SubElement(body, "joint", attrs)
        I = link.inertia
        ET.SubElement(body, "inertial", pos=fmt(link.com - link.origin), mass=f"{link.mass:.6g}",
                      fullinertia=fmt([I[0, 0], I[1, 1], I[2, 2], I[0, 1], I[0, 2], I[1, 2]]))
        ET.SubElement(body, "geom", {"class": f"{art.name}_visual", "mesh": f"{art.name}_{link.name}_visual",
                                     "rgba": fmt(link.rgba, 3)})
        for k, entry in enumerate(files[link.name]["collision"]):
            if entry[0] == "mesh":
                ET.SubElement(body, "geom", {"class": f"{art.name}_collision", "type": "mesh",
                                             "mesh": f"{art.name}_{link.name}_col{k}"})
            else:
                _, center, rot, half = entry
                ET.SubElement(body, "geom", {"class": f"{art.name}_collision", "type": "box", "size": fmt(half),
                                             "pos": fmt(center), "quat": fmt(quat_from_matrix(rot))})
    contact = ET.SubElement(root, "contact")
    for joint in art.joints:
        ET.SubElement(contact, "exclude", body1=joint.parent, body2=joint.child)
    path.write_text(_indent(root))
