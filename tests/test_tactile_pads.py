"""Gel pads on the Panda's fingers: the MJCF attaches, compiles and holds a part."""

import numpy as np
import pytest

mujoco = pytest.importorskip("mujoco")


def test_gel_pads_attach_and_face_each_other():
    from simreal.robots import get_robot, resolve_mjcf
    from simreal.sensors.tactile.pads import add_gel_pads, pad_solref

    spec = mujoco.MjSpec.from_file(str(resolve_mjcf(get_robot("franka_panda").mjcf)))
    for key in list(spec.keys):
        spec.delete(key)
    sites = add_gel_pads(spec, stiffness_n_per_mm=3.0)
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    gel = model.geom("left_finger/gel")
    assert np.allclose(model.geom_solref[gel.id], pad_solref(3.0, 20.0, 0.05))
    left, right = (data.site(s) for s in sites)
    # sensor z axes (outward gel normals) point at each other across the gap
    z_left, z_right = left.xmat.reshape(3, 3)[:, 2], right.xmat.reshape(3, 3)[:, 2]
    gap = right.xpos - left.xpos
    assert np.dot(z_left, gap) > 0 and np.dot(z_right, -gap) > 0
    assert np.allclose(z_left, -z_right, atol=1e-9)
    with pytest.raises(ValueError, match="must be positive"):
        pad_solref(-1.0, 0.0, 0.05)
