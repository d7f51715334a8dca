"""Backend conformance: every engine must agree with plain MuJoCo stepping one MjData.

The CPU backend runs the same C code as ``mj_step``, so it must match to 1e-9.
The Warp backend is float32 on a different solver implementation; see WARP.
"""

import mujoco
import numpy as np
import pytest
import torch

from simreal.sim import make_backend

NUM_ENVS = 6
HOME = np.array([0, 0, 0, -1.57079, 0, 1.57079, -0.7853])

# Backend kinds under test: (backend name, device, absolute tolerance on qpos/qvel).
CPU = ("mujoco", "cpu", 1e-9)
# Warp computes in float32 (eps 1.2e-7) with the solver tolerance raised to 1e-6. Measured on
# Warp's CPU device against float64 MuJoCo, 20 substeps, control seeds 0..3: max |dqpos| 2.7e-7,
# |dqvel| 3.7e-6, |dsite_xpos| 2.5e-7 (after 100 substeps: 4.2e-7 / 5.8e-6). 1e-5 leaves ~35x
# margin on qpos/site and ~130x on qvel (checked at 50 * tol) while catching real divergence.
WARP = pytest.param(("mujoco_warp", "cpu", 1e-5), marks=[pytest.mark.warp, pytest.mark.slow], id="warp")
KINDS = [pytest.param(CPU, id="cpu"), WARP]


def _backend(kind, model, num_envs=NUM_ENVS):
    name, device, _ = kind
    if name == "mujoco_warp":
        pytest.importorskip("mujoco_warp")
    return make_backend(model, num_envs, backend=name, device=device)


def _random_ctrl(model, num_envs, seed):
    rng = np.random.default_rng(seed)
    ctrl = np.zeros((num_envs, model.nu))
    ctrl[:, :7] = HOME + rng.uniform(-0.3, 0.3, (num_envs, 7))
    ctrl[:, 7] = rng.uniform(0, 255, num_envs)
    return ctrl


def _reference(model, qpos0, ctrl, nsteps):
    """Step one plain MjData per env: the ground truth."""
    out_qpos, out_qvel, out_site = [], [], []
    for i in range(ctrl.shape[0]):
        data = mujoco.MjData(model)
        data.qpos[:] = qpos0
        data.ctrl[:] = ctrl[i]
        for _ in range(nsteps):
            mujoco.mj_step(model, data)
        mujoco.mj_forward(model, data)
        out_qpos.append(data.qpos.copy())
        out_qvel.append(data.qvel.copy())
        out_site.append(data.site_xpos.copy())
    return np.array(out_qpos), np.array(out_qvel), np.array(out_site)


@pytest.mark.parametrize("kind", KINDS)
def test_batched_step_matches_single_mjdata(kind, franka_cube_model):
    model = franka_cube_model
    tol = kind[2]
    backend = _backend(kind, model)
    qpos0 = model.qpos0.copy()
    qpos0[:7] = HOME
    ctrl = _random_ctrl(model, NUM_ENVS, seed=0)
    ids = torch.arange(NUM_ENVS)
    backend.reset(ids, qpos=torch.tensor(qpos0).repeat(NUM_ENVS, 1))
    backend.ctrl[:] = torch.as_tensor(ctrl, dtype=backend.ctrl.dtype, device=backend.device)
    backend.step(10)
    backend.step(10)

    ref_qpos, ref_qvel, ref_site = _reference(model, qpos0, ctrl, 20)
    np.testing.assert_allclose(backend.qpos.cpu().double().numpy(), ref_qpos, atol=tol, rtol=0)
    np.testing.assert_allclose(backend.qvel.cpu().double().numpy(), ref_qvel, atol=tol * 50, rtol=0)
    np.testing.assert_allclose(backend.site_xpos.cpu().double().numpy(), ref_site, atol=tol, rtol=0)
    # controls differ per env, so envs must differ: nothing was broadcast by mistake
    assert not torch.allclose(backend.qpos[0], backend.qpos[1])


@pytest.mark.parametrize("kind", KINDS)
def test_subset_reset_touches_only_those_envs(kind, franka_cube_model):
    model = franka_cube_model
    backend = _backend(kind, model)
    backend.ctrl[:] = torch.as_tensor(_random_ctrl(model, NUM_ENVS, 1), dtype=backend.ctrl.dtype, device=backend.device)
    backend.step(30)
    before_qpos = backend.qpos.clone()
    before_qvel = backend.qvel.clone()
    before_ctrl = backend.ctrl.clone()

    reset_ids = torch.tensor([1, 4], device=backend.device)
    new_qpos = torch.tensor(model.qpos0).repeat(2, 1)
    new_qpos[:, :7] = torch.tensor(HOME) + torch.tensor([[0.1], [-0.1]])
    new_qvel = torch.zeros(2, model.nv, dtype=torch.float64)
    new_qvel[:, 0] = torch.tensor([0.5, -0.5])
    backend.reset(reset_ids, qpos=new_qpos, qvel=new_qvel)

    keep = torch.tensor([0, 2, 3, 5], device=backend.device)
    assert torch.equal(backend.qpos[keep], before_qpos[keep])
    assert torch.equal(backend.qvel[keep], before_qvel[keep])
    assert torch.equal(backend.ctrl[keep], before_ctrl[keep])
    torch.testing.assert_close(backend.qpos[reset_ids].cpu().double(), new_qpos, atol=1e-6, rtol=0)
    torch.testing.assert_close(backend.qvel[reset_ids].cpu().double(), new_qvel, atol=1e-6, rtol=0)
    assert torch.all(backend.ctrl[reset_ids] == 0)

    # derived quantities of the reset envs follow their new qpos
    data = mujoco.MjData(model)
    data.qpos[:] = new_qpos[0].numpy()
    mujoco.mj_forward(model, data)
    np.testing.assert_allclose(backend.site_xpos[1].cpu().double().numpy(), data.site_xpos, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_param_randomization_lands_only_in_intended_envs(kind, franka_cube_model):
    model = franka_cube_model
    backend = _backend(kind, model)
    cube_body = model.body("cube").id
    cube_geom = model.geom("cube").id

    friction = backend.param("geom_friction")
    assert friction.shape == (NUM_ENVS, model.ngeom, 3)
    ids = torch.tensor([2], device=backend.device)
    friction_2 = friction[2:3].clone()
    friction_2[:, cube_geom, 0] = 0.3
    backend.set_param("geom_friction", ids, friction_2)
    after = backend.param("geom_friction")
    assert after[2, cube_geom, 0].item() == pytest.approx(0.3)
    others = [0, 1, 3, 4, 5]
    assert torch.all(after[others, cube_geom, 0] == friction[others, cube_geom, 0])

    # a heavier cube in env 3 changes env 3's dynamics and no other env's
    mass = backend.param("body_mass")
    heavy = mass[3:4].clone()
    heavy[:, cube_body] = 5.0
    backend.set_param("body_mass", torch.tensor([3], device=backend.device), heavy)
    gains = backend.param("actuator_gainprm")
    weak = gains[5:6].clone()
    weak[:, 0, 0] *= 0.5
    backend.set_param("actuator_gainprm", torch.tensor([5], device=backend.device), weak)

    qpos0 = torch.tensor(model.qpos0).repeat(NUM_ENVS, 1)
    qpos0[:, :7] = torch.tensor(HOME)
    cube_z = model.jnt_qposadr[model.joint("cube_joint").id] + 2
    qpos0[:, cube_z] = 0.3  # drop the cube from 30 cm
    backend.reset(torch.arange(NUM_ENVS, device=backend.device), qpos=qpos0)
    ctrl = torch.tensor(HOME + 0.2).repeat(NUM_ENVS, 1)
    backend.ctrl[:, :7] = ctrl.to(backend.ctrl.dtype).to(backend.device)
    backend.step(40)
    qpos = backend.qpos.cpu()
    # env 0 is the reference; env 1 and 4 must match it, env 3 (mass) and 5 (gain) not
    torch.testing.assert_close(qpos[1], qpos[0], atol=1e-9, rtol=0)
    torch.testing.assert_close(qpos[4], qpos[0], atol=1e-9, rtol=0)
    assert (qpos[5, 0] - qpos[0, 0]).abs() > 1e-4  # weaker joint-1 actuator lags behind
    assert (qpos[3, :7] - qpos[0, :7]).abs().max() < 1e-6  # arm never touches the cube
    assert backend.param("body_mass")[3, cube_body].item() == pytest.approx(5.0)


def test_bad_backend_names_are_explained(franka_cube_model):
    with pytest.raises(ValueError, match="choose one of"):
        make_backend(franka_cube_model, 2, backend="physx")
    with pytest.raises(ValueError, match="mujoco_warp"):
        make_backend(franka_cube_model, 2, backend="mujoco", device="cuda")
    backend = make_backend(franka_cube_model, 2)
    with pytest.raises(ValueError, match="supported fields"):
        backend.param("geom_rgba")
