"""Scans: a point cloud (PLY/PCD/XYZ) turned into a triangle surface with open3d."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from simreal.twin.errors import TwinInputError


def read_points(path: Path) -> np.ndarray:
    """(N, 3) points of a point-cloud file."""
    import open3d as o3d

    cloud = o3d.io.read_point_cloud(str(path))
    points = np.asarray(cloud.points)
    if len(points) < 50:
        raise TwinInputError(f"{path}: {len(points)} points is too few for a surface (need at least 50)")
    return points


def points_to_mesh(points: np.ndarray) -> trimesh.Trimesh:
    """Ball-pivoting surface over the points, radii from the mean neighbour spacing;
    Poisson reconstruction when ball pivoting leaves too few triangles."""
    import open3d as o3d

    points = np.asarray(points, dtype=np.float64)
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) < 50:
        raise TwinInputError(f"a point cloud of {len(points)} finite points is too few for a surface")
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    spacing = float(np.mean(cloud.compute_nearest_neighbor_distance()))
    cloud.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=4 * spacing, max_nn=30))
    cloud.orient_normals_consistent_tangent_plane(15)
    radii = o3d.utility.DoubleVector([1.5 * spacing, 3 * spacing, 6 * spacing])
    mesh = o3d.geometry.TriangleMesh.create_from_point_cloud_ball_pivoting(cloud, radii)
    if len(mesh.triangles) < len(points) // 4:
        mesh, _ = o3d.geometry.TriangleMesh.create_from_point_cloud_poisson(cloud, depth=7)
        mesh = mesh.crop(cloud.get_axis_aligned_bounding_box())
    out = trimesh.Trimesh(np.asarray(mesh.vertices), np.asarray(mesh.triangles), process=True)
    if len(out.faces) == 0:
        raise TwinInputError("could not build a surface from the point cloud; is it a scan of a solid object?")
    return out
