"""A mesh's signed distance field on a grid, computed once and cached by mesh hash.

Distance: exact point-to-triangle distance over candidate triangles found with a k-d tree
(a one-off CPU precompute); queries of the cached grid are batched torch (CPU or GPU).
The mesh must be watertight; holes are filled when trimesh can, otherwise the mesh is
rejected with a message.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from simreal.cache import array_hash, cache_dir, save_npz_atomic
from simreal.errors import InputError
from simreal.sensors.tactile.sdf import GridSdf


class MeshError(InputError):
    """A mesh that cannot serve as an indenter or object (not loadable, not closed)."""


def load_watertight_mesh(path_or_mesh, scale: float = 1.0):
    """A trimesh.Trimesh that is watertight: loaded, merged, holes filled, normals fixed.

    Raises MeshError saying what is wrong and what to do.
    """
    import trimesh

    mesh = path_or_mesh
    if not isinstance(mesh, trimesh.Trimesh):
        path = Path(path_or_mesh)
        if not path.is_file():
            raise MeshError(f"mesh file {path} does not exist")
        try:
            mesh = trimesh.load(str(path), force="mesh")
        except Exception as err:
            raise MeshError(f"could not read mesh {path}: {err}") from err
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise MeshError(f"{path_or_mesh} holds no triangles")
    mesh = mesh.copy()
    if scale != 1.0:
        mesh.apply_scale(scale)
    if not mesh.is_watertight:
        mesh.merge_vertices()
        trimesh.repair.fill_holes(mesh)
        trimesh.repair.fix_normals(mesh)
        if not mesh.is_watertight:
            raise MeshError(
                f"mesh {path_or_mesh} is not watertight ({len(mesh.faces)} faces) and filling its holes failed; "
                "close it first (e.g. MeshLab 'Close Holes', or trimesh's convex_hull for a convex part)"
            )
        warnings.warn(f"mesh {path_or_mesh} was not watertight; holes were filled", stacklevel=2)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def _point_triangle_dist2(p, a, b, c):
    """Squared distance of points p (N, 1, 3) to triangles a, b, c (1, T, 3) -> (N, T)."""

    def seg2(p, s0, s1):
        d = s1 - s0
        t = ((p - s0) * d).sum(-1) / (d * d).sum(-1).clamp_min(1e-30)
        return (p - s0 - t.clamp(0, 1).unsqueeze(-1) * d).pow(2).sum(-1)

    n = torch.cross(b - a, c - a, dim=-1)
    nn = (n * n).sum(-1).clamp_min(1e-30)
    s1 = (torch.cross(b - a, p - a, dim=-1) * n).sum(-1)
    s2 = (torch.cross(c - b, p - b, dim=-1) * n).sum(-1)
    s3 = (torch.cross(a - c, p - c, dim=-1) * n).sum(-1)
    inside = (s1 >= 0) & (s2 >= 0) & (s3 >= 0)
    plane2 = ((p - a) * n).sum(-1).pow(2) / nn
    edge2 = torch.minimum(torch.minimum(seg2(p, a, b), seg2(p, b, c)), seg2(p, c, a))
    return torch.where(inside, plane2, edge2)


def mesh_signed_distance(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray, k: int = 6,
                         chunk: int = 65536) -> np.ndarray:
    """Signed distance (N,) of points (N, 3) to a closed triangle mesh; negative inside.

    Candidate triangles per point come from a k-d tree over points sampled densely on
    the surface (each tagged with its triangle); the exact distance is then taken over
    those candidates. Sign: the closest candidates' face normals (outward for a mesh of
    positive volume), summed over the candidates at the minimum distance.
    """
    from scipy.spatial import cKDTree

    tri = vertices[faces]  # (T, 3, 3)
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True).clip(1e-30)
    # samples: vertices, edge midpoints, centroid and a barycentric lattice of each triangle
    bary = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [.5, .5, 0], [0, .5, .5], [.5, 0, .5], [1 / 3] * 3,
                     [2 / 3, 1 / 6, 1 / 6], [1 / 6, 2 / 3, 1 / 6], [1 / 6, 1 / 6, 2 / 3]])
    samples = np.einsum("sk,tkd->tsd", bary, tri).reshape(-1, 3)
    owner = np.repeat(np.arange(len(faces)), len(bary))
    tree = cKDTree(samples)
    T = torch.from_numpy(tri).float()
    N = torch.from_numpy(normals).float()
    out = np.empty(len(points))
    for i in range(0, len(points), chunk):  # chunks bound memory; not a loop over envs
        p = points[i:i + chunk]
        _, idx = tree.query(p, k=min(k * 4, len(samples)))
        cand = torch.from_numpy(owner[idx])  # (n, 4k) triangle ids, duplicates harmless
        pt = torch.from_numpy(p).float().unsqueeze(1)
        tri_c = T[cand]  # (n, 4k, 3, 3)
        d2 = _point_triangle_dist2(pt, tri_c[:, :, 0], tri_c[:, :, 1], tri_c[:, :, 2])
        dmin2 = d2.min(dim=1, keepdim=True).values
        near = d2 <= dmin2 * (1 + 1e-6) + 1e-18
        side = ((pt - tri_c[:, :, 0]) * N[cand]).sum(-1)
        vote = torch.where(near, side, torch.zeros_like(side)).sum(1)
        d = dmin2.squeeze(1).sqrt()
        out[i:i + chunk] = torch.where(vote < 0, -d, d).double().numpy()
    return out


def mesh_sdf(mesh, resolution: int = 64, padding: float = 0.1, device="cpu") -> GridSdf:
    """GridSdf of a watertight trimesh, from the cache when this mesh was seen before.

    resolution: cells along the mesh's longest side; padding: margin around the mesh as a
    fraction of that side. Cache key: hash of vertices, faces, resolution and padding.
    """
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    key = array_hash(verts, faces, resolution, padding, "v1")
    path = cache_dir("sdf") / f"{key}.npz"
    if path.is_file():
        data = np.load(path)
        return GridSdf(torch.from_numpy(data["grid"]).to(device), data["lo"], data["hi"], float(data["lowest_z"]))
    lo, hi = verts.min(0), verts.max(0)
    side = float((hi - lo).max())
    h = side / resolution
    lo, hi = lo - padding * side - h, hi + padding * side + h
    counts = np.ceil((hi - lo) / h).astype(int) + 1
    hi = lo + (counts - 1) * h
    axes = [torch.linspace(float(lo[i]), float(hi[i]), int(counts[i]), dtype=torch.float64) for i in range(3)]
    zz, yy, xx = torch.meshgrid(axes[2], axes[1], axes[0], indexing="ij")  # (D, H, W)
    pts = torch.stack([xx, yy, zz], dim=-1).reshape(-1, 3).numpy()
    dist = torch.from_numpy(mesh_signed_distance(verts, faces, pts))
    dist = dist.reshape(int(counts[2]), int(counts[1]), int(counts[0]))
    gz, gy, gx = torch.gradient(dist, spacing=h)
    grid = torch.stack([dist, gx, gy, gz]).float().numpy()
    save_npz_atomic(path, grid=grid, lo=lo, hi=hi, lowest_z=float(verts[:, 2].min()))
    return GridSdf(torch.from_numpy(grid).to(device), lo, hi, float(verts[:, 2].min()))
