"""Digital twins: part meshes or scans -> articulated, simulation-ready URDF + MJCF.

Pipeline (one module per stage): ``inputs`` (load parts, units, scans) -> ``cleaning``
(repair, watertightness, thin parts) -> ``graph`` (contact graph, base, kinematic tree)
-> ``proposals`` (the actor: joint candidates per movable part; pluggable) -> ``critic``
(simulation checks in MuJoCo via ``simreal.twin.articulation``; best proposal wins) ->
``collision`` (CoACD, cached) + ``inertia`` -> ``urdf`` / ``mjcf`` writers + ``report``.
``build.build_twin`` runs it all; ``metric`` scores a twin against ground truth and
``procedural`` makes benchmark objects with known joints.
"""

from simreal.twin.errors import TwinInputError

__all__ = ["TwinInputError"]
