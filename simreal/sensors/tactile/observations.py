"""Tactile observation terms for the env layer: ``term(env, **params) -> (num_envs, dim)``.

Sensors are sites on the robot (e.g. the gel pads' ``left_finger/sensor`` sites, see
:mod:`simreal.sensors.tactile.pads`); the touched objects are bodies with a shape (an
:class:`Sdf` in the body's frame). Each env's S sensors are rendered as one batch of
num_envs * S sensors. Slip velocities for the shear forces come from the change of the
sensor and object positions over one control step (translation only).
"""

from __future__ import annotations

import torch

from simreal.math3d import quat_to_rotmat
from simreal.sensors.tactile.augment import AugmentCfg
from simreal.sensors.tactile.sdf import Sdf
from simreal.sensors.tactile.sensor import TactileSensorArray
from simreal.sensors.tactile.threads import serial_if_small


class TactileState:
    """One tactile configuration's sensor model on an env (``env.sensors``): the sensor
    array, the sites and objects it reads, its slip history and last force field."""

    def __init__(self, env, sensor: str, sites, objects: dict[str, Sdf], width: int, difference: bool,
                 augment: AugmentCfg | None, calibration):
        m = env.model
        self.site_ids = torch.tensor([m.site(s).id for s in sites], device=env.device)
        self.body_ids = torch.tensor([m.body(b).id for b in objects], device=env.device)
        self.sdfs = [sdf.to(env.device) for sdf in objects.values()]
        self.array = TactileSensorArray(sensor, env.num_envs * len(sites), width=width, calibration=calibration,
                                        augment=augment, difference=difference, device=env.device,
                                        generator=getattr(env, "rng", None))
        self.prev_rel: torch.Tensor | None = None  # (num_envs*S, K, 3) object minus sensor position
        self.last_rel: torch.Tensor | None = None
        self.last_slip: torch.Tensor | None = None
        self.fresh = torch.ones(env.num_envs * len(sites), dtype=torch.bool, device=env.device)  # no history yet
        self.last_forces: tuple[torch.Tensor, torch.Tensor] | None = None  # (poses, field) of the last call

    def geometry(self, env):
        S, K = len(self.site_ids), len(self.body_ids)
        N = env.num_envs
        spos = env.backend.site_xpos.index_select(1, self.site_ids).float().reshape(N * S, 3)
        srot = env.backend.site_xmat.index_select(1, self.site_ids).float().reshape(N * S, 3, 3)
        opos = env.backend.xpos.index_select(1, self.body_ids).float()
        orot = quat_to_rotmat(env.backend.xquat.index_select(1, self.body_ids).float())
        opos = opos.unsqueeze(1).expand(N, S, K, 3).reshape(N * S, K, 3)
        orot = orot.unsqueeze(1).expand(N, S, K, 3, 3).reshape(N * S, K, 3, 3)
        return self.array.geometry(self.sdfs, spos, srot, opos, orot), spos, srot, opos

    def slip(self, env, spos, srot, opos) -> torch.Tensor:
        """(num_envs*S, 3) velocity of the gel relative to the nearest object, sensor frame."""
        rel = opos - spos.unsqueeze(1)
        if self.last_rel is not None and torch.equal(rel, self.last_rel):
            return self.last_slip  # same state as the last call: same answer (terms stay pure)
        if self.prev_rel is None:
            self.prev_rel = rel.clone()
        self.prev_rel = torch.where(self.fresh.view(-1, 1, 1), rel, self.prev_rel)
        self.fresh[:] = False
        v_obj = (rel - self.prev_rel)[:, 0] / env.step_dt  # object relative to sensor, world frame
        self.prev_rel = rel.clone()
        self.last_rel, self.last_slip = rel.clone(), -(v_obj.unsqueeze(1) @ srot).squeeze(1)
        return self.last_slip


    def reset(self, env_ids: torch.Tensor) -> None:
        """New per-episode augmentation and no slip history for ``env_ids`` (the env calls this)."""
        S = len(self.site_ids)
        ids = (env_ids.unsqueeze(1) * S + torch.arange(S, device=env_ids.device)).reshape(-1)
        self.array.reset(ids)
        self.fresh[ids] = True  # a reset jump is not slip
        self.last_rel = None
        self.last_forces = None


def _state(env, key, **kwargs) -> TactileState:
    return env.sensor(("tactile", *key), lambda: TactileState(env, **kwargs))


def tactile_rgb(env, sensor: str, sites: tuple[str, ...], objects: dict[str, Sdf], width: int = 80,
                difference: bool = False, augment: AugmentCfg | None = None, calibration=None) -> torch.Tensor:
    """(num_envs, S*H*W*3) tactile images of the S sensors, scaled to [0, 1] (or signed
    difference from the no-contact frame over 255)."""
    st = _state(env, ("rgb", sensor, tuple(sites), tuple(objects), width, difference), sensor=sensor, sites=sites,
                objects=objects, width=width, difference=difference, augment=augment, calibration=calibration)
    with serial_if_small(st.array.num_sensors * st.array.width * st.array.height, env.device):
        geom, *_ = st.geometry(env)
        img = st.array.rgb(st.array.depth(geom)) / 255.0
    return img.reshape(env.num_envs, -1)


def tactile_depth(env, sensor: str, sites: tuple[str, ...], objects: dict[str, Sdf], width: int = 80) -> torch.Tensor:
    """(num_envs, S*H*W) penetration depth maps in mm."""
    st = _state(env, ("depth", sensor, tuple(sites), tuple(objects), width), sensor=sensor, sites=sites,
                objects=objects, width=width, difference=False, augment=None, calibration=None)
    with serial_if_small(st.array.num_sensors * st.array.width * st.array.height, env.device):
        geom, *_ = st.geometry(env)
        depth = st.array.depth(geom)
    return depth.reshape(env.num_envs, -1)


def tactile_forces(env, sensor: str, sites: tuple[str, ...], objects: dict[str, Sdf]) -> torch.Tensor:
    """(num_envs, S*rows*cols*3) force fields [normal, shear x, shear y] in N, sensor frames."""
    return _force_field(env, _forces_state(env, sensor, sites, objects)).reshape(env.num_envs, -1)


def _forces_state(env, sensor: str, sites, objects) -> TactileState:
    return _state(env, ("forces", sensor, tuple(sites), tuple(objects)), sensor=sensor, sites=sites, objects=objects,
                  width=8, difference=False, augment=None, calibration=None)


def _force_field(env, st: TactileState) -> torch.Tensor:
    """(num_envs*S, rows, cols, 3); computed once per state however many terms read it."""
    b = env.backend
    poses = torch.cat([b.site_xpos.index_select(1, st.site_ids).reshape(env.num_envs, -1),
                       b.site_xmat.index_select(1, st.site_ids).reshape(env.num_envs, -1),
                       b.xpos.index_select(1, st.body_ids).reshape(env.num_envs, -1),
                       b.xquat.index_select(1, st.body_ids).reshape(env.num_envs, -1)], dim=1)
    if st.last_forces is not None and torch.equal(poses, st.last_forces[0]):
        return st.last_forces[1]
    with serial_if_small(st.array.num_sensors * len(st.array.taxels), env.device):
        geom, spos, srot, opos = st.geometry(env)
        forces = st.array.forces(geom, st.slip(env, spos, srot, opos))
    st.last_forces = (poses.clone(), forces)
    return forces


def tactile_contact_summary(env, sensor: str, sites: tuple[str, ...], objects: dict[str, Sdf]) -> torch.Tensor:
    """(num_envs, S*3) per sensor: total normal force (N) and the normal-force-weighted
    contact centroid (x, y in mm, sensor frame; 0 without contact). Where a part sits on
    the pad, in three numbers: what a small MLP would otherwise learn from the whole field."""
    st = _forces_state(env, sensor, sites, objects)
    fn = _force_field(env, st)[..., 0].reshape(st.array.num_sensors, -1)  # (num_envs*S, T) normal force per taxel
    total = fn.sum(dim=1, keepdim=True)
    centroid = fn @ st.array.taxels[:, :2] * 1000.0 / total.clamp_min(1e-6)
    return torch.cat([total, centroid], dim=1).reshape(env.num_envs, -1)
