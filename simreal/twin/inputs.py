"""Inputs: part meshes (a directory, a GLB/OBJ with named geometries, or one mesh split into
connected components) and scans (point clouds), brought to metres with z up.

``load_parts(path, units, up) -> (parts, notes)``: ``parts`` maps a part name to a
``trimesh.Trimesh`` in metres, gravity along -z; ``notes`` are warnings with the fix taken.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import trimesh

from simreal.errors import MissingFileError
from simreal.twin.errors import TwinInputError

MESH_EXTS = (".obj", ".stl", ".ply", ".glb", ".gltf", ".off")
SCAN_EXTS = (".pcd", ".xyz", ".pts")
UNIT_SCALE = {"m": 1.0, "cm": 0.01, "mm": 0.001}
MIN_SIZE_M, MAX_SIZE_M = 0.01, 10.0  # a twin outside this size is almost surely a unit mistake


def safe_name(name: str) -> str:
    """A name usable as a URDF link / MJCF body name and a file name."""
    clean = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_") or "part"
    return clean if not clean[0].isdigit() else f"p_{clean}"


def load_parts(path, units: str | None = None, up: str | None = None) -> tuple[dict[str, trimesh.Trimesh], list[str]]:
    """Load the parts of one object. ``units``: m, cm, mm or None (inferred from size);
    ``up``: "z" or "y" (None: "y" for glTF files, whose convention is y-up, else "z")."""
    path = Path(path)
    notes: list[str] = []
    if not path.exists():
        raise MissingFileError(f"input {path} does not exist; give a directory of part meshes or one GLB/OBJ/PLY file")
    if up not in (None, "z", "y"):
        raise TwinInputError(f"--up must be 'z' or 'y', got {up!r}")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in MESH_EXTS + SCAN_EXTS)
        if not files:
            raise TwinInputError(f"{path} holds no part meshes ({', '.join(MESH_EXTS + SCAN_EXTS)})")
        parts = {}
        for f in files:
            mesh = _load_one(f, notes)
            parts[_unique(safe_name(f.stem), parts)] = mesh
        gltf = all(f.suffix.lower() in (".glb", ".gltf") for f in files)
    else:
        if path.suffix.lower() not in MESH_EXTS + SCAN_EXTS:
            raise TwinInputError(f"{path}: unsupported file type {path.suffix!r}; use one of {MESH_EXTS + SCAN_EXTS}")
        parts = _load_single(path, notes)
        gltf = path.suffix.lower() in (".glb", ".gltf")
    if len(parts) < 2:
        raise TwinInputError(
            f"{path} has a single rigid part; nothing to articulate. Give one mesh file per part, a GLB whose "
            "geometries are the parts, or one mesh whose parts are separate connected components"
        )
    if (up or ("y" if gltf else "z")) == "y":
        rot = trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0])  # y-up -> z-up
        for mesh in parts.values():
            mesh.apply_transform(rot)
        notes.append("rotated from y-up to z-up" + (" (glTF convention; pass --up z to keep)" if up is None else ""))
    _apply_units(parts, units, notes)
    return parts, notes


def _unique(name: str, taken) -> str:
    out, k = name, 1
    while out in taken:
        out, k = f"{name}_{k}", k + 1
    return out


def _load_one(path: Path, notes: list[str]) -> trimesh.Trimesh:
    """One file -> one mesh (a scene's geometries are concatenated; a point cloud is meshed)."""
    if path.suffix.lower() in SCAN_EXTS:
        from simreal.twin.scan import points_to_mesh, read_points

        notes.append(f"{path.name}: point cloud turned into a surface with open3d")
        return points_to_mesh(read_points(path))
    try:
        loaded = trimesh.load(str(path), process=False)
    except Exception as err:
        raise TwinInputError(f"could not read {path}: {err}") from err
    if isinstance(loaded, trimesh.Scene):
        meshes = [g for g in loaded.dump() if isinstance(g, trimesh.Trimesh)]
        if not meshes:
            raise TwinInputError(f"{path} contains no triangle meshes")
        return trimesh.util.concatenate(meshes)
    if isinstance(loaded, trimesh.PointCloud) or (isinstance(loaded, trimesh.Trimesh) and len(loaded.faces) == 0):
        from simreal.twin.scan import points_to_mesh

        notes.append(f"{path.name}: point cloud turned into a surface with open3d")
        return points_to_mesh(np.asarray(loaded.vertices))
    if not isinstance(loaded, trimesh.Trimesh):
        raise TwinInputError(f"{path} is not a triangle mesh (got {type(loaded).__name__})")
    return loaded


def _load_single(path: Path, notes: list[str]) -> dict[str, trimesh.Trimesh]:
    """A GLB/OBJ with named geometries -> those; otherwise one mesh split into components."""
    if path.suffix.lower() not in SCAN_EXTS:
        try:
            loaded = trimesh.load(str(path), process=False)
        except Exception as err:
            raise TwinInputError(f"could not read {path}: {err}") from err
        if isinstance(loaded, trimesh.Scene) and len(loaded.geometry) > 1:
            parts = {}
            for node in loaded.graph.nodes_geometry:
                transform, geom_name = loaded.graph[node]
                geom = loaded.geometry[geom_name]
                if not isinstance(geom, trimesh.Trimesh) or len(geom.faces) == 0:
                    continue
                mesh = geom.copy()
                mesh.apply_transform(transform)
                parts[_unique(safe_name(node), parts)] = mesh
            notes.append(f"{path.name}: {len(parts)} named geometries used as parts")
            return parts
    mesh = _load_one(path, notes)
    if len(mesh.vertices) >= 3 * len(mesh.faces):
        mesh.merge_vertices()  # STL stores each triangle apart; indexed formats keep parts' vertices apart
    pieces = [p for p in mesh.split(only_watertight=False) if len(p.faces) > 0]
    pieces.sort(key=lambda m: -m.area)
    notes.append(f"{path.name}: one mesh split into {len(pieces)} connected components, one part each")
    return {f"part_{i}": p for i, p in enumerate(pieces)}


def _apply_units(parts: dict[str, trimesh.Trimesh], units: str | None, notes: list[str]) -> None:
    bounds = np.array([m.bounds for m in parts.values()])
    size = float(np.max(bounds[:, 1].max(axis=0) - bounds[:, 0].min(axis=0)))
    if not np.isfinite(size) or size <= 0:
        raise TwinInputError("the parts have no extent (all vertices coincide or are not finite); check the meshes")
    if units is None:
        units = "mm" if size > 50 else "cm" if size > 5 else "m"
        if units != "m":
            notes.append(f"units inferred as {units} (largest extent {size:g}); pass --units to override")
    if units not in UNIT_SCALE:
        raise TwinInputError(f"--units must be one of {list(UNIT_SCALE)}, got {units!r}")
    scale = UNIT_SCALE[units]
    size_m = size * scale
    if not MIN_SIZE_M <= size_m <= MAX_SIZE_M:
        raise TwinInputError(
            f"the object would be {size_m:g} m across in {units}, outside {MIN_SIZE_M}-{MAX_SIZE_M} m; "
            "pass the right --units (m, cm or mm)"
        )
    if scale != 1.0:
        for mesh in parts.values():
            mesh.apply_scale(scale)
