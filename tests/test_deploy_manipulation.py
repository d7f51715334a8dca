"""The manipulation tasks on the robot side: their deploy specs, the bundle's kinematics, and
each action type's robot-side maths against the simulator's on recorded states (float32
tolerance), at the tool-point workspace walls, the joint limits and the target bound."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from simreal.actions import processor_for
from simreal.actions.arm import GripperCommand
from simreal.deploy.from_task import deploy_spec_from_cfg, deploy_spec_from_task
from simreal.deploy.kinematics import Kinematics
from simreal.deploy.observations import ObservationBuilder
from simreal.deploy.safety import SafetyFilter
from simreal.deploy.spec import DeploySpec, SpecError
from simreal.envs.env import ManipulationEnv
from simreal.registry import task_cfg
from simreal.sim.scene import EE_SITE, kinematics_xml

TASKS = ("franka-lift", "franka-lift-ik", "franka-cabinet-drawer")


def test_every_manipulation_task_has_a_deploy_spec():
    lift = deploy_spec_from_task("franka-lift")
    assert lift.action.max_target_error == 0.2 and lift.action.num_actions == 8
    assert lift.action.gripper.open_width == pytest.approx(0.08) and lift.action.gripper.closed_width == 0.0
    assert lift.finger_joint_names == ["finger_joint1", "finger_joint2"]
    cube = next(t for t in lift.observations if t.name == "cube_pos")
    assert (cube.source, cube.input, cube.perceived) == ("pose_position", "cube", True)
    assert (cube.noise_std, cube.bias_std) == (0.002, 0.003)  # the accuracy perception must reach
    assert lift.pose_inputs() == ["cube", "target"] and lift.perceived_inputs() == ["cube"]
    ik = deploy_spec_from_task("franka-lift-ik")
    assert ik.action.num_actions == 4 and ik.kinematics.site == EE_SITE
    assert ik.action.workspace == [[0.25, 0.75], [-0.35, 0.35], [0.02, 0.6]]
    drawer = deploy_spec_from_task("franka-cabinet-drawer")
    assert drawer.perceived_inputs() == ["drawer_handle"]
    for task in TASKS:  # the YAML round trip keeps every field
        spec = deploy_spec_from_task(task)
        assert DeploySpec.from_dict(spec.to_dict()) == spec


def _bad(task, edit):
    d = deploy_spec_from_task(task).to_dict()
    edit(d)
    return d


@pytest.mark.parametrize("task,edit,message", [
    ("franka-lift", lambda d: d["action"].update(max_target_error=float("nan")), "action.max_target_error"),
    ("franka-lift", lambda d: d["action"].update(max_target_error=-0.1), "action.max_target_error"),
    ("franka-lift", lambda d: d["action"]["gripper"].update(open_width=-0.01), "action.gripper.open_width"),
    ("franka-lift", lambda d: d["action"]["gripper"].update(max_speed=float("inf")), "action.gripper.max_speed"),
    ("franka-lift", lambda d: d["action"].update(gripper="open"), "action.gripper must be a mapping"),
    ("franka-lift", lambda d: d.update(finger_joint_names=[]), "finger_joint_names"),
    ("franka-lift", lambda d: d.update(finger_joint_names=["joint1", "finger_joint2"]), "among the arm's"),
    ("franka-lift", lambda d: d["action"].update(num_actions=7), "plus the gripper column = 8"),
    ("franka-lift", lambda d: d["action"].update(workspace=[[0, 1], [0, 1], [0, 1]]), "bounds a tool point"),
    ("franka-lift-ik", lambda d: d["action"]["workspace"][2].__setitem__(1, -1.0), "action.workspace[2][1]"),
    ("franka-lift-ik", lambda d: d["action"].update(workspace=[[0, 1]]), "action.workspace is"),
    ("franka-lift-ik", lambda d: d.update(kinematics=None), "needs the arm's kinematics"),
    ("franka-lift-ik", lambda d: d["kinematics"].update(file="../../etc/passwd.xml"), "kinematics.file"),
    ("franka-lift-ik", lambda d: d["action"].update(num_actions=8), "3 tool-point columns"),
    ("franka-lift", lambda d: d["observations"][3].update(noise_std=float("nan")), "noise_std"),
    ("franka-lift", lambda d: d["observations"][3].update(input="../cube"), "must be a plain name"),
    ("franka-lift", lambda d: d["observations"][0].update(perceived=True), "only for pose_position"),
])
def test_a_bad_manipulation_spec_is_refused_by_field(task, edit, message):
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        DeploySpec.from_dict(_bad(task, edit))


def test_a_format_1_spec_loads_as_format_2():
    d = deploy_spec_from_task("franka-reach").to_dict()
    d["format_version"] = 1
    for key in ("kinematics", "finger_joint_names"):
        d.pop(key)
    for key in ("max_target_error", "workspace", "gripper"):
        d["action"].pop(key)
    for t in d["observations"]:
        for key in ("noise_std", "bias_std", "perceived"):
            t.pop(key)
    spec = DeploySpec.from_dict(d)
    assert spec.format_version == 2 and spec.action.gripper is None and spec.kinematics is None


@pytest.fixture(scope="module")
def kin():
    spec = deploy_spec_from_task("franka-lift-ik")
    return Kinematics(kinematics_xml("franka_panda"), EE_SITE, spec.joint_names)


def test_the_kinematics_mjcf_is_small_and_equals_the_training_model(kin):
    assert len(kinematics_xml("franka_panda")) < 20_000
    assert kin.model.ngeom == 0 and kin.model.nmesh == 0 and kin.model.nu == 0  # kinematics only
    cfg = dataclasses.replace(task_cfg("franka-lift-ik"), num_envs=4, seed=5)
    env = ManipulationEnv(cfg, task_id="franka-lift-ik")
    g = torch.Generator().manual_seed(2)
    for _ in range(5):
        env.step(torch.randn(env.num_envs, env.num_actions, generator=g))
        J = env.kinematics.jacobian()
        for i in range(env.num_envs):
            q = env.backend.qpos[i, env.arm_qpos_ids].numpy()
            np.testing.assert_allclose(kin.tool_pos(q), env.ee_pos[i].numpy(), atol=1e-5)
            np.testing.assert_allclose(kin.tool_rotmat(q), env.ee_rotmat[i].numpy(), atol=1e-5)
            np.testing.assert_allclose(kin.jacobian(q), J[i].numpy(), atol=1e-5)


def _parity(task, steps, actions_fn, kin, safety=False, **action_fields):
    cfg = dataclasses.replace(task_cfg(task), num_envs=6, seed=4)
    if action_fields:
        cfg = dataclasses.replace(cfg, actions=dataclasses.replace(cfg.actions, **action_fields))
    env = ManipulationEnv(cfg, task_id=task)
    spec = deploy_spec_from_cfg(cfg, task_id=task)
    env.reset()
    procs = [processor_for(spec, kin) for _ in range(env.num_envs)]
    limits = np.asarray(spec.joint_pos_limits)
    filters = [SafetyFilter(limits[:, 0], limits[:, 1], spec.max_step_per_tick) for _ in procs]
    for i, p in enumerate(procs):
        p.reset(env.backend.qpos[i, env.arm_qpos_ids].numpy())
        filters[i].reset(env.backend.qpos[i, env.arm_qpos_ids].numpy())
    env.hits = 0
    g = torch.Generator().manual_seed(1)
    worst = 0.0
    for t in range(steps):
        a = actions_fn(t, env, g)
        q = env.backend.qpos[:, env.arm_qpos_ids].numpy().copy()  # measured before the step, float64
        env.step(a)
        for i, p in enumerate(procs):
            ours = p.process(a[i, : spec.action.num_arm].numpy(), q[i])
            if safety:  # the robot side's command: the processor's target through the safety filter
                ours, hits = filters[i].filter(ours)
                env.hits += "step" in hits
            worst = max(worst, float(np.abs(ours - env.action.target[i].numpy()).max()))
            p.sync(env.action.target[i].numpy())  # the comparison is per step, not a drift test
    return env, worst


def test_tool_point_actions_equal_the_simulators_at_the_workspace_walls(kin):
    def press_down_and_out(t, env, g):  # drive into the floor of the box and out of its sides
        a = torch.randn(env.num_envs, env.num_actions, generator=g) * 0.5
        a[:, 2] = -3.0 if t < 25 else 3.0
        a[:, 0] = 3.0
        return a

    env, worst = _parity("franka-lift-ik", 50, press_down_and_out, kin)
    assert worst < 2e-5, f"robot-side ee_position_delta differs from the env by {worst:.3g} rad"
    z = env.ee_pos[:, 2]
    assert float(z.min()) > 0.0  # the wall held in the simulator too: the comparison covered it


@pytest.mark.parametrize("late_ticks", [0, 1, 2])
def test_the_held_orientation_settles_when_commands_reach_the_arm_late(kin, late_ticks):
    """ee_position_delta turns the commanded orientation back to the held one, so a latency
    between command and arm does not sit inside that loop: correcting the measured error in
    full each tick, with the arm two ticks behind, overshoots and never settles."""
    spec = deploy_spec_from_task("franka-lift-ik")
    proc = processor_for(spec, kin)
    home = np.asarray(spec.default_joint_pos, dtype=np.float64)
    proc.reset(home)  # holds the home orientation
    start = home + np.array([0, 0, 0, 0, 0.15, 0.1, -0.2])  # the wrist turned away from it
    proc.sync(start)
    sent = [start] * (late_ticks + 1)  # the arm plays the command sent late_ticks ago, exactly

    def error(q):
        R, H = kin.tool_rotmat(q), proc.held_rotmat
        return float(np.linalg.norm(0.5 * np.cross(R.T, H.T).sum(axis=0)))

    errors = []
    for _ in range(60):
        q = sent[-1 - late_ticks]
        errors.append(error(q))
        sent.append(proc.process(np.zeros(3, dtype=np.float32), q).astype(np.float64))
    assert errors[0] > 0.2
    assert max(errors[1:]) <= errors[0] + 1e-6, f"overshoot: {max(errors):.3f} rad from {errors[0]:.3f}"
    assert errors[-1] < 1e-3, f"{late_ticks} ticks late the orientation error ends at {errors[-1]:.3g} rad"


def test_pose_delta_actions_equal_the_simulators_near_the_joint_limits(kin):
    def sweep(t, env, g):
        return torch.randn(env.num_envs, env.num_actions, generator=g) * 3.0

    _, worst = _parity("franka-lift-ik", 30, sweep, kin, type="ee_pose_delta", workspace=None)
    assert worst < 2e-5


def test_joint_deltas_with_the_target_bound_equal_the_simulators():
    def push(t, env, g):  # full-scale actions for many steps: the bound and the limits both bind
        return torch.sign(torch.randn(env.num_envs, env.num_actions, generator=g)) * 3.0

    env, worst = _parity("franka-lift", 40, push, None)
    assert worst == 0.0
    err = (env.action.target - env.joint_pos).abs().max()
    assert float(err) <= 0.2 + 0.1  # bounded near the measured pose (it moved during the last step)


def test_the_training_step_bound_is_the_robot_sides_safety_filter(kin):
    """actions.bound_step: what the env's servos get is what the deployed safety filter lets through."""
    def lunge(t, env, g):  # large tool-point moves near singular poses: the step bound binds often
        return torch.randn(env.num_envs, env.num_actions, generator=g) * 3.0

    env, worst = _parity("franka-lift-ik", 30, lunge, kin, safety=True, type="ee_pose_delta", workspace=None,
                         bound_step=True)
    assert env.hits > 10, "the step bound never bound: the comparison covered nothing"
    assert worst < 2e-5, f"the env's bounded targets differ from the robot's filtered commands by {worst:.3g} rad"
    env, worst = _parity("franka-lift-ik", 30, lunge, kin, safety=True, type="ee_pose_delta", workspace=None)
    assert worst > 1e-3  # without it, training's targets jump further than the robot would let them


def test_manipulation_observations_equal_the_envs():
    for task in ("franka-lift", "franka-cabinet-drawer"):
        cfg = dataclasses.replace(task_cfg(task), num_envs=3, seed=2)
        for group in cfg.observations.values():
            group.noisy = False
        env = ManipulationEnv(cfg, task_id=task)
        spec = deploy_spec_from_cfg(cfg, task_id=task)
        builder = ObservationBuilder(spec)
        g = torch.Generator().manual_seed(0)
        for _ in range(6):
            obs, *_ = env.step(torch.randn(env.num_envs, env.num_actions, generator=g))
            for i in range(env.num_envs):
                inputs = {"cube": env.body_pos("cube")[i].numpy()} if "lift" in task else \
                    {"drawer_handle": env.backend.site_xpos[i, env.model.site("drawer_handle").id].numpy()}
                if "target" in spec.pose_inputs():
                    inputs["target"] = env.buffers["target"][i].numpy()
                fingers = env.backend.qpos[i, env.gripper_qpos_ids].numpy()
                ours = builder.build(env.backend.qpos[i, env.arm_qpos_ids].numpy(),
                                     env.backend.qvel[i, env.arm_dof_ids].numpy(), inputs,
                                     env.action.last_action[i].numpy(), fingers)
                np.testing.assert_allclose(ours, obs["policy"][i].numpy(), atol=1e-6)


def test_a_multi_group_actor_exports_loads_and_observes_as_the_env(tmp_path):
    from simreal.envs.config import ObsGroupCfg, ObsTerm
    from simreal.export.bundle import load_bundle, write_bundle
    from simreal.mdp import observations as mobs

    cfg = dataclasses.replace(task_cfg("franka-lift-ik"), num_envs=2, seed=1)
    cfg.observations["tool"] = ObsGroupCfg(terms={"ee": ObsTerm(mobs.ee_pos, scale=2.0),
                                                  "ee_rot": ObsTerm(mobs.ee_rot6)}, noisy=False)
    cfg.observations["policy"].noisy = False
    spec = deploy_spec_from_cfg(cfg, task_id="franka-lift-ik", group=["policy", "tool"])
    assert [t.name for t in spec.observations][-2:] == ["ee", "ee_rot"]
    assert spec.provenance["obs_group"] == ["policy", "tool"]
    env = ManipulationEnv(cfg, task_id="franka-lift-ik")
    obs, *_ = env.step(torch.zeros(env.num_envs, env.num_actions))
    flat = torch.cat([obs["policy"], obs["tool"]], dim=1)
    policy = torch.nn.Linear(spec.obs_dim, spec.num_actions)
    b = load_bundle(write_bundle(tmp_path / "b", policy, spec, flat).path)
    kin = b.kinematics
    builder = ObservationBuilder(b.spec, kin)
    for i in range(env.num_envs):
        inputs = {"cube": env.body_pos("cube")[i].numpy(), "target": env.buffers["target"][i].numpy()}
        ours = builder.build(env.joint_pos[i].numpy().astype(np.float64), env.joint_vel[i].numpy(), inputs,
                             env.action.last_action[i].numpy(), env.backend.qpos[i, env.gripper_qpos_ids].numpy())
        np.testing.assert_allclose(ours, flat[i].numpy(), atol=2e-5)  # the tool pose by the bundle's FK


def test_the_gripper_column_opens_and_closes_at_a_bounded_rate():
    spec = deploy_spec_from_task("franka-lift")
    g = GripperCommand(spec.action.gripper, spec.control_period_s)
    g.reset(0.08)
    widths = [g.process(-0.3) for _ in range(6)]
    step = spec.action.gripper.max_speed * spec.control_period_s
    assert np.allclose(np.diff([0.08, *widths]), -step) or widths[-1] == 0.0
    assert min(widths) >= 0.0 and widths[-1] < 0.08
    assert all(0.0 <= g.process(5.0) <= 0.08 for _ in range(10)) and g.width == pytest.approx(0.08)
    g.reset(7.0)  # a wild measured width is clamped to the hand's range
    assert g.width == pytest.approx(0.08)


def test_every_shipped_policy_loads_matches_its_parity_set_and_names_its_training():
    from simreal.data import bundle_path, data_path, shipped_policies
    from simreal.export.bundle import load_bundle

    names = shipped_policies()
    assert "franka-lift-ik" in names
    for name in names:
        folder = data_path("assets", "policies", name)
        assert bundle_path(name).resolve() == folder.resolve() == bundle_path(f"assets/policies/{name}").resolve()
        b = load_bundle(folder)  # hashes, metadata, parity through ONNX Runtime
        assert b.parity_max_abs_diff < 1e-4
        task = b.spec.provenance["task"]  # a task's second bundle is named after it: <task>-blind
        assert (name == task or name.startswith(task + "-")) and b.spec.provenance["seed"] is not None
        assert sum(f.stat().st_size for f in folder.iterdir()) < 1_000_000
        readme = (Path(__file__).parents[1] / "assets" / "policies" / name / "README.md").read_text()
        assert "simreal train" in readme and "--seed" in readme and "simreal eval" in readme
