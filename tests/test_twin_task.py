"""franka-cabinet-drawer: a task on a twin the project built itself."""

import json

import torch

from simreal.registry import list_tasks, make_env
from simreal.twin.assets import chest_twin


def test_task_is_registered_and_built_from_a_twin():
    assert "franka-cabinet-drawer" in {spec.id for spec in list_tasks()}
    mjcf, report = chest_twin()
    assert mjcf.is_file() and (mjcf.parent / "chest.urdf").is_file()
    saved = json.loads((mjcf.parent / "report.json").read_text())
    # found by the pipeline, not written by hand
    assert [j["type"] for j in saved["joints"]] == ["prismatic", "prismatic"]


def test_pulling_the_drawer_moves_the_handle_and_counts_as_success():
    env = make_env("franka-cabinet-drawer", num_envs=4, seed=0)
    from simreal.tasks.franka_cabinet_drawer.config import drawer_open, drawer_opening, handle_pos

    before = handle_pos(env).clone()
    assert not drawer_open(env).any()
    adr = int(env.model.joint("chest/drawer_1_joint").qposadr[0])
    lo, hi = env.model.jnt_range[env.model.joint("chest/drawer_1_joint").id]
    assert lo == 0.0 and 0.15 < hi < 0.4  # the critic's swept limit
    env.backend.qpos[1, adr] = 0.2
    env.backend.forward()
    after = handle_pos(env)
    torch.testing.assert_close(after[1] - before[1], torch.tensor([-0.2, 0.0, 0.0]), atol=1e-5, rtol=0)
    assert drawer_open(env).tolist() == [False, True, False, False]
    assert abs(drawer_opening(env)[1, 0].item() - 0.2) < 1e-6
    # physics keeps the drawer within its limits when the arm flails
    for _ in range(50):
        env.step(2 * torch.rand(4, env.num_actions) - 1)
    q = drawer_opening(env)[:, 0]
    assert (q >= lo - 0.01).all() and (q <= hi + 0.01).all()


def test_drawer_slides_to_its_limit_when_pulled_in_the_task_scene():
    import mujoco

    env = make_env("franka-cabinet-drawer", num_envs=1, seed=0)
    model, data = env.model, mujoco.MjData(env.model)
    data.qpos[:] = env.default_qpos.cpu().numpy()
    data.ctrl[:] = 0.0
    mujoco.mj_forward(model, data)
    data.ctrl[env.arm_ctrl_ids.cpu().numpy()] = env.default_joint_pos.cpu().numpy()  # hold the arm still
    body = model.body("chest/drawer_1").id
    joint = model.joint("chest/drawer_1_joint")
    for _ in range(1000):  # 2 s of a 30 N pull toward the robot (-x)
        data.xfrc_applied[body, :3] = [-30.0, 0.0, 0.0]
        mujoco.mj_step(model, data)
    q = float(data.qpos[joint.qposadr[0]])
    assert abs(q - float(model.jnt_range[joint.id][1])) < 0.01  # at its swept limit
