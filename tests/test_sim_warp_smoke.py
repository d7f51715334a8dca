"""Fast MuJoCo Warp smoke test for the default suite: a damped pendulum, 4 worlds, Warp's CPU device.

The Franka conformance tests in test_sim_backend.py (marked slow) cover contacts, set_const
and subset resets on a real scene; this one only proves that the backend builds, steps,
exposes live float32 views, randomizes per world and resets a subset. It takes ~3 s with a
warm Warp kernel cache and ~35 s on a cold one (kernel compilation); the model disables
constraints and contacts so that the collision kernels need not compile.
"""

import mujoco
import numpy as np
import pytest
import torch

pytestmark = pytest.mark.warp

PENDULUM = """
<mujoco>
  <option timestep="0.01">
    <flag constraint="disable" contact="disable"/>
  </option>
  <worldbody>
    <body name="pole">
      <joint name="hinge" type="hinge" axis="0 1 0" damping="0.1"/>
      <geom type="capsule" fromto="0 0 0 0 0 -0.5" size="0.02" mass="1"/>
      <site name="tip" pos="0 0 -0.5"/>
    </body>
  </worldbody>
  <actuator>
    <motor joint="hinge" gear="1"/>
  </actuator>
  <sensor>
    <jointpos joint="hinge"/>
    <jointvel joint="hinge"/>
  </sensor>
</mujoco>
"""

NUM_WORLDS = 4
# float32 vs float64 over 20 Euler steps of a smooth 1-dof system; measured max error 8.7e-8
# (qpos), 8.7e-7 (qvel, sensordata), 2.4e-7 (site_xmat): 1e-5 leaves >10x margin.
TOL = 1e-5


def _reference(model, qpos0, ctrl, damping, nsteps):
    out = []
    for i in range(ctrl.shape[0]):
        model.dof_damping[0] = damping[i]
        data = mujoco.MjData(model)
        data.qpos[:] = qpos0
        data.ctrl[:] = ctrl[i]
        for _ in range(nsteps):
            mujoco.mj_step(model, data)
        mujoco.mj_fwdPosition(model, data)
        mujoco.mj_fwdVelocity(model, data)
        mujoco.mj_sensorPos(model, data)
        mujoco.mj_sensorVel(model, data)
        out.append((data.qpos.copy(), data.qvel.copy(), data.site_xpos.copy(), data.site_xmat.copy(),
                    data.sensordata.copy()))
    return [np.array(x) for x in zip(*out)]


def test_warp_pendulum_matches_mujoco():
    pytest.importorskip("mujoco_warp")
    from simreal.sim import make_backend

    model = mujoco.MjModel.from_xml_string(PENDULUM)
    backend = make_backend(model, NUM_WORLDS, backend="mujoco_warp", device="cpu")
    assert backend.name == "mujoco_warp" and backend.device == torch.device("cpu")
    assert backend.qpos.shape == (NUM_WORLDS, 1) and backend.qpos.dtype == torch.float32
    assert backend.site_xmat.shape == (NUM_WORLDS, 1, 9)

    # per-world damping: only world 2 changes
    damping = backend.param("dof_damping")
    assert damping.shape == (NUM_WORLDS, 1)
    backend.set_param("dof_damping", torch.tensor([2]), torch.tensor([[2.0]]))
    damping_now = backend.param("dof_damping")[:, 0].numpy()
    np.testing.assert_allclose(damping_now, [0.1, 0.1, 2.0, 0.1], rtol=1e-7)

    qpos0 = np.array([0.7])
    ctrl = np.array([[0.0], [0.5], [0.5], [-1.0]])
    ids = torch.arange(NUM_WORLDS)
    backend.reset(ids, qpos=torch.tensor(qpos0).repeat(NUM_WORLDS, 1))
    backend.ctrl[:] = torch.as_tensor(ctrl, dtype=backend.ctrl.dtype)
    backend.step(20)

    ref = _reference(model, qpos0, ctrl, damping_now, 20)
    got = [backend.qpos, backend.qvel, backend.site_xpos, backend.site_xmat, backend.sensordata]
    for name, g, r in zip(["qpos", "qvel", "site_xpos", "site_xmat", "sensordata"], got, ref):
        np.testing.assert_allclose(g.double().numpy(), r.reshape(g.shape), atol=TOL, rtol=0, err_msg=name)

    # reset world 1 only: back to qpos0 = 0 at rest with zero ctrl; the others keep their bits
    before = backend.qpos.clone(), backend.site_xpos.clone()
    backend.reset(torch.tensor([1]))
    assert backend.qpos[1].item() == 0.0 and backend.qvel[1].item() == 0.0 and backend.ctrl[1].item() == 0.0
    np.testing.assert_allclose(backend.site_xpos[1].double().numpy(), [[0, 0, -0.5]], atol=1e-6)
    keep = [0, 2, 3]
    assert torch.equal(backend.qpos[keep], before[0][keep])
    assert torch.equal(backend.site_xpos[keep], before[1][keep])
