"""Tactile observation terms on a simulated Panda whose gel pads squeeze a box."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

mujoco = pytest.importorskip("mujoco")


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SIMREAL_CACHE", str(tmp_path_factory.getbasetemp() / "simreal_cache"))


def squeezed_box_env(num_envs=2):
    """Panda with gel pads at its home pose, fingers 10 mm open, and a box centred between the
    pads in the left sensor's frame (its shape, given to the terms, sets the squeeze)."""
    from simreal.robots import get_robot, resolve_mjcf
    from simreal.sensors.tactile.pads import add_gel_pads
    from simreal.sim import make_backend

    robot = get_robot("franka_panda")
    spec = mujoco.MjSpec.from_file(str(resolve_mjcf(robot.mjcf)))
    for key in list(spec.keys):
        spec.delete(key)
    sites = add_gel_pads(spec)
    body = spec.worldbody.add_body(name="box")
    body.add_freejoint(name="box_joint")
    body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.004, 0.003, 0.01], mass=0.05)
    model = spec.compile()
    backend = make_backend(model, num_envs)
    qpos = torch.as_tensor(model.qpos0, dtype=torch.float64).repeat(num_envs, 1)
    for name, value in zip(robot.joint_names, robot.default_joint_pos):
        qpos[:, model.joint(name).qposadr[0]] = value
    for name in robot.gripper_joint_names:
        qpos[:, model.joint(name).qposadr[0]] = 0.01
    backend.qpos[:] = qpos
    backend.forward()
    left = backend.site_xpos[0, model.site(sites[0]).id].numpy()
    right = backend.site_xpos[0, model.site(sites[1]).id].numpy()
    rot = backend.site_xmat[0, model.site(sites[0]).id].numpy().reshape(3, 3)
    gap = float(np.linalg.norm(right - left))
    adr = model.joint("box_joint").qposadr[0]
    q = np.empty(4)
    mujoco.mju_mat2Quat(q, rot.reshape(-1))
    backend.qpos[:, adr:adr + 3] = torch.as_tensor((left + right) / 2)
    backend.qpos[:, adr + 3:adr + 7] = torch.as_tensor(q)
    backend.forward()
    env = SimpleNamespace(model=model, backend=backend, num_envs=num_envs, device=backend.device, step_dt=0.02,
                          rng=torch.Generator().manual_seed(0), sensors={})
    env.sensor = lambda key, make: env.sensors.setdefault(key, make()) if key not in env.sensors else env.sensors[key]
    return env, sites, gap


def test_depth_and_forces_of_squeezed_box():
    from simreal.sensors.tactile.observations import tactile_depth, tactile_forces
    from simreal.sensors.tactile.sdf import BoxSdf

    env, sites, gap = squeezed_box_env()
    # the box's half-size across the gap is gap/2 + 0.3 mm: each pad is pressed 0.3 mm
    shapes = {"box": BoxSdf((0.004, 0.003, gap / 2 + 0.3e-3))}
    depth = tactile_depth(env, "gelsight_r15", sites, shapes, width=80).reshape(2, 2, 60, 80)
    assert float(depth.amax()) == pytest.approx(0.3, abs=2e-3)
    # both pads see the same flat 8 x 6 mm print (box x, y) of the box, centred
    px = 18.88 / 80
    area = (depth[0] > 0).sum((1, 2)).float() * px * px
    assert torch.allclose(area, torch.full((2,), 8.0 * 6.0), rtol=0.15)
    f = tactile_forces(env, "gelsight_r15", sites, shapes).reshape(2, 2, 10, 14, 3)
    assert bool((f[..., 0].sum((2, 3)) > 0).all())
    assert float(f[..., 1:].abs().max()) == 0.0  # nothing moved yet: no shear


def test_tactile_rgb_term_shape_and_range():
    from simreal.sensors.tactile.observations import tactile_rgb
    from simreal.sensors.tactile.sdf import BoxSdf

    env, sites, gap = squeezed_box_env()
    shapes = {"box": BoxSdf((0.004, 0.003, gap / 2 + 0.3e-3))}
    img = tactile_rgb(env, "gelsight_r15", sites, shapes, width=40)
    assert img.shape == (2, 2 * 30 * 40 * 3)
    assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0
