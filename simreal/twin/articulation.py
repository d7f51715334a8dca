"""MuJoCo side of the digital twins (``simreal.twin``): the critic's collision sweeps,
the joint check under PD control, rendering, and reading joints from an MJCF.

Kept here because ``simreal.sim`` is the only package that imports a simulator; the
twin pipeline hands in plain arrays and gets numbers back.
"""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np

HINGE, SLIDE = int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)


def _quat_from_matrix(rot: np.ndarray) -> np.ndarray:
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.asarray(rot, dtype=np.float64).reshape(9))
    return quat


class CollisionSweeper:
    """All parts of an object as free bodies whose geoms are their convex pieces.

    ``penetration(moving, transforms)`` poses the ``moving`` parts rigidly by each 4x4
    transform and returns, per pose, the deepest penetration (m) between a moving and a
    resting part beyond what that pair of geoms already had at rest.
    """

    def __init__(self, parts_pieces: list[list]):
        spec = mujoco.MjSpec()
        spec.option.gravity = [0, 0, 0]
        for i, pieces in enumerate(parts_pieces):
            body = spec.worldbody.add_body(name=f"part{i}")
            body.add_freejoint()
            for j, piece in enumerate(pieces):
                if piece.kind == "box":
                    body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=list(piece.box_half), pos=list(piece.box_center),
                                  quat=list(_quat_from_matrix(piece.box_rot)))
                else:
                    name = f"m{i}_{j}"
                    spec.add_mesh(name=name, uservert=np.asarray(piece.vertices, np.float32).ravel().tolist(),
                                  userface=np.asarray(piece.faces, np.int32).ravel().tolist())
                    body.add_geom(type=mujoco.mjtGeom.mjGEOM_MESH, meshname=name)
        self.model = spec.compile()
        self.data = mujoco.MjData(self.model)
        self.nparts = len(parts_pieces)
        self.geom_part = self.model.geom_bodyid - 1
        self.qpos0 = self.model.qpos0.copy()
        for i in range(self.nparts):  # bodies start at the origin: geoms are in the object frame
            self.qpos0[7 * i : 7 * i + 7] = [0, 0, 0, 1, 0, 0, 0]
        n = self.model.ngeom
        self.rest_depth = np.zeros((n, n))
        for g1, g2, depth in self._contacts(self.qpos0):
            self.rest_depth[g1, g2] = self.rest_depth[g2, g1] = max(self.rest_depth[g1, g2], depth)

    def _contacts(self, qpos):
        self.data.qpos[:] = qpos
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_collision(self.model, self.data)
        ncon = self.data.ncon
        if ncon == 0:
            return []
        geom = np.asarray(self.data.contact.geom[:ncon])
        depth = -np.asarray(self.data.contact.dist[:ncon])
        return [(int(a), int(b), float(d)) for (a, b), d in zip(geom, depth)]

    def rest_penetration(self, part: int, others: list[int] | None = None) -> float:
        """Deepest penetration (m) at rest between ``part`` and ``others`` (default: all)."""
        mask = np.isin(self.geom_part, [part])
        other = ~mask if others is None else np.isin(self.geom_part, others)
        sub = self.rest_depth[np.ix_(mask, other)]
        return float(sub.max()) if sub.size else 0.0

    def penetration(self, moving: list[int], transforms: np.ndarray, ignore: list[int] = ()) -> np.ndarray:
        """Worst new penetration (m) between the ``moving`` parts and the rest (but the ``ignore``
        parts) at each rigid transform of the moving ones."""
        moving_set = np.isin(self.geom_part, moving)
        ignored = np.isin(self.geom_part, list(ignore))
        out = np.zeros(len(transforms))
        for k, tf in enumerate(transforms):
            qpos = self.qpos0.copy()
            quat = _quat_from_matrix(tf[:3, :3])
            for i in moving:
                qpos[7 * i : 7 * i + 3] = tf[:3, 3]
                qpos[7 * i + 3 : 7 * i + 7] = quat
            worst = 0.0
            for g1, g2, depth in self._contacts(qpos):
                if moving_set[g1] != moving_set[g2] and not (ignored[g1] or ignored[g2]):
                    worst = max(worst, depth - self.rest_depth[g1, g2])
            out[k] = worst
        return out


# --------------------------------------------------------------------------- check under PD control
def check_twin(mjcf_path, settle_s: float = 1.5, tol_frac: float = 0.1) -> list[dict]:
    """Drive every joint to both limits under PD control and say whether it got there.

    Each joint gets a position servo (stiffness from the moved mass or inertia, critically
    damped); the others hold at rest. A continuous joint is driven to +-pi/2. Returns one
    dict per joint: name, type, targets, reached values, error, whether the state stayed
    finite, and passed (finite and both limits reached within ``tol_frac`` of the range).
    """
    spec = mujoco.MjSpec.from_file(str(mjcf_path))
    model0 = spec.compile()
    data0 = mujoco.MjData(model0)
    mujoco.mj_forward(model0, data0)
    joints = [j for j in range(model0.njnt) if int(model0.jnt_type[j]) in (HINGE, SLIDE)]
    for j in joints:
        jnt = model0.joint(j)
        body = int(model0.jnt_bodyid[j])
        mass = float(model0.body_subtreemass[body])
        span = float(np.ptp(model0.jnt_range[j])) if model0.jnt_limited[j] else np.pi
        if int(model0.jnt_type[j]) == HINGE:
            r = float(np.linalg.norm(data0.subtree_com[body] - data0.xanchor[j])) + 0.05
            inertia, span_m = mass * r * r, span * r
        else:
            inertia, span_m = mass, span
        dof = int(model0.jnt_dofadr[j])
        inertia += float(model0.dof_armature[dof])
        # at least 5 Hz, and fast enough that sag under gravity (g / w^2) stays 2 % of the range
        # (a button with 2 cm of travel), at most 20 Hz; stiff enough that the joint's own
        # damping cannot stall it within the settle time
        omega = float(np.clip(np.sqrt(9.81 / (0.02 * max(span_m, 1e-6))), 2 * np.pi * 5.0, 2 * np.pi * 20.0))
        kp = max(inertia * omega ** 2, 20.0 * float(model0.dof_damping[dof]))
        kv = 2 * np.sqrt(kp * inertia)
        spec.add_actuator(name=f"servo_{jnt.name}", target=jnt.name, trntype=mujoco.mjtTrn.mjTRN_JOINT,
                          gaintype=mujoco.mjtGain.mjGAIN_FIXED, gainprm=[kp] + [0] * 9,
                          biastype=mujoco.mjtBias.mjBIAS_AFFINE, biasprm=[0, -kp, -kv] + [0] * 7)
    model = spec.compile()
    data = mujoco.MjData(model)
    results = []
    steps = int(settle_s / model.opt.timestep)
    for a, j in enumerate(joints):
        jtype = "prismatic" if int(model.jnt_type[j]) == SLIDE else "revolute"
        if model.jnt_limited[j]:
            lo, hi = (float(x) for x in model.jnt_range[j])
        else:
            jtype, lo, hi = "continuous", -np.pi / 2, np.pi / 2
        adr = int(model.jnt_qposadr[j])
        reached, finite = [], True
        for target in (lo, hi):
            mujoco.mj_resetData(model, data)
            mujoco.mj_forward(model, data)
            data.ctrl[:] = 0.0
            data.ctrl[a] = target
            for _ in range(steps):
                mujoco.mj_step(model, data)
            finite &= bool(np.isfinite(data.qpos).all())
            reached.append(float(data.qpos[adr]))
        span = max(hi - lo, 1e-6)
        error = max(abs(reached[0] - lo), abs(reached[1] - hi))
        passed = finite and error <= tol_frac * span
        results.append({"name": model.joint(j).name, "type": jtype, "targets": [lo, hi], "reached": reached,
                        "error": error, "finite": finite, "passed": bool(passed)})
    return results


# --------------------------------------------------------------------------- rendering
def render_twin(mjcf_path, configurations: list[dict[str, float]], width: int = 320,
                height: int = 240) -> list[np.ndarray]:
    """One (height, width, 3) image per configuration (joint name -> value; others at rest)."""
    spec = mujoco.MjSpec.from_file(str(mjcf_path))
    spec.worldbody.add_light(pos=[0, 0, 3], dir=[0, 0, -1], type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL,
                             diffuse=[0.7] * 3)
    spec.visual.global_.offwidth = max(spec.visual.global_.offwidth, width)
    spec.visual.global_.offheight = max(spec.visual.global_.offheight, height)
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    vis = [g for g in range(model.ngeom) if model.geom_group[g] != 3] or list(range(model.ngeom))
    lo = np.min([data.geom_xpos[g] - model.geom_rbound[g] for g in vis], axis=0)
    hi = np.max([data.geom_xpos[g] + model.geom_rbound[g] for g in vis], axis=0)
    cam = mujoco.MjvCamera()
    cam.lookat[:] = (lo + hi) / 2
    cam.distance = 1.0 * float(np.linalg.norm(hi - lo))
    # look at the side where the moving parts are (the front of a cabinet), a little from the side
    side = data.xipos[2:].mean(axis=0) - data.xipos[1] if model.nbody > 2 else np.array([0, -1.0, 0])
    cam.azimuth = float(np.degrees(np.arctan2(-side[1], -side[0]))) + 35.0 if np.linalg.norm(side[:2]) > 1e-6 else 90.0
    cam.elevation = -25.0
    opt = mujoco.MjvOption()
    opt.geomgroup[:] = 0
    opt.geomgroup[0] = opt.geomgroup[2] = 1  # visual meshes (group 2) and primitives (group 0)
    try:
        renderer = mujoco.Renderer(model, height, width)
    except Exception as err:
        raise RuntimeError(f"offscreen rendering failed ({err}); install Mesa EGL (libegl1) or OSMesa with "
                           f"MUJOCO_GL=osmesa") from err
    images = []
    for config in configurations:
        mujoco.mj_resetData(model, data)
        for name, value in config.items():
            data.qpos[model.joint(name).qposadr[0]] = value
        mujoco.mj_forward(model, data)
        renderer.update_scene(data, camera=cam, scene_option=opt)
        images.append(renderer.render().copy())
    renderer.close()
    return images


def joint_limits(mjcf_path) -> dict[str, tuple[float, float] | None]:
    """Joint name -> (lower, upper), or None for an unlimited joint."""
    model = mujoco.MjModel.from_xml_path(str(mjcf_path))
    out = {}
    for j in range(model.njnt):
        if int(model.jnt_type[j]) in (HINGE, SLIDE):
            out[model.joint(j).name] = tuple(float(x) for x in model.jnt_range[j]) if model.jnt_limited[j] else None
    return out


# --------------------------------------------------------------------------- ground truth from MJCF
def joints_from_mjcf(path) -> list[dict]:
    """Hinge and slide joints of an MJCF in the world frame at qpos0: name, type, parent
    and child body names, axis, origin (a point on the axis), limits, plus ``bounds`` of
    the whole model's geoms. MuJoCo parses the file, so every MJCF convention is honoured."""
    model = mujoco.MjModel.from_xml_path(str(Path(path)))
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    out = []
    for j in range(model.njnt):
        t = int(model.jnt_type[j])
        if t not in (HINGE, SLIDE):
            continue
        body = int(model.jnt_bodyid[j])
        limited = bool(model.jnt_limited[j])
        jtype = "prismatic" if t == SLIDE else ("revolute" if limited else "continuous")
        out.append({
            "name": model.joint(j).name, "type": jtype, "child": model.body(body).name,
            "parent": model.body(int(model.body_parentid[body])).name,
            "axis": data.xaxis[j].tolist(), "origin": data.xanchor[j].tolist(),
            "limits": [float(x) for x in model.jnt_range[j]] if limited else None,
        })
    return out
