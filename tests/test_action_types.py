"""Every action type is defined once (simreal.actions) and is either deployable, its robot-side
numpy maths giving the simulator's torch targets (bit for bit for joint types, to float32
tolerance for tool-point types, whose IK runs on the bundle's kinematics), or says why it is not."""

import dataclasses

import numpy as np
import pytest
import torch

from simreal.actions import action_type, action_types, deployable_types, processor_for
from simreal.deploy.from_task import deploy_spec_from_cfg
from simreal.deploy.spec import DeploySpec, SpecError
from simreal.envs.env import ManipulationEnv
from simreal.errors import InputError, UnknownNameError
from simreal.registry import task_cfg

ALL = sorted(action_types())


def reach_with(kind: str, **fields):
    cfg = task_cfg("franka-reach", num_envs=6, seed=3)
    return dataclasses.replace(cfg, actions=dataclasses.replace(cfg.actions, type=kind, **fields))


def test_the_registry_has_the_types_tasks_use():
    assert {"joint_position_delta", "joint_position", "ee_pose_delta", "ee_position_delta"} <= set(ALL)
    with pytest.raises(UnknownNameError, match="unknown action type 'joint_torque'; action types:"):
        action_type("joint_torque")
    with pytest.raises(UnknownNameError, match="unknown action type"):
        ManipulationEnv(reach_with("joint_torque"))


@pytest.mark.parametrize("kind", ALL)
def test_every_type_deploys_or_says_why(kind):
    t = action_type(kind)
    assert (t.processor is None) == (kind not in deployable_types())
    cfg = reach_with(kind)
    if t.processor is None:
        assert t.not_deployable and kind in t.not_deployable
        with pytest.raises(SpecError, match=t.not_deployable.split(":")[0]):
            deploy_spec_from_cfg(cfg, task_id="franka-reach")
        spec = deploy_spec_from_cfg(task_cfg("franka-reach"), task_id="franka-reach").to_dict()
        spec["action"]["type"] = kind  # a hand-edited deploy.yaml is refused with the same reason
        with pytest.raises(SpecError, match="not deployable yet"):
            DeploySpec.from_dict(spec).validate()
    else:
        assert t.not_deployable is None
        assert deploy_spec_from_cfg(cfg, task_id="franka-reach").action.type == kind


@pytest.mark.parametrize("kind", deployable_types())
def test_robot_side_maths_equal_the_simulators(kind):
    cfg = reach_with(kind)
    env = ManipulationEnv(cfg, task_id="franka-reach")
    spec = deploy_spec_from_cfg(cfg, task_id="franka-reach")
    kin = None
    if spec.kinematics is not None:  # tool-point types run on the bundle's kinematics
        from simreal.deploy.kinematics import Kinematics
        from simreal.sim.scene import kinematics_xml

        kin = Kinematics(kinematics_xml(spec.robot), spec.kinematics.site, spec.joint_names)
    env.reset()
    procs = [processor_for(spec, kin) for _ in range(env.num_envs)]
    for i, p in enumerate(procs):
        p.reset(env.backend.qpos[i, env.arm_qpos_ids].numpy())
    g = torch.Generator().manual_seed(1)
    moved = 0.0
    for _ in range(20):  # large actions: exercises the clip and the joint limits
        a = torch.randn(env.num_envs, env.num_actions, generator=g) * 3.0
        before = env.action.target.clone()
        q = env.backend.qpos[:, env.arm_qpos_ids].numpy().copy()  # measured, as /joint_states carries it
        env.step(a)
        moved += float((env.action.target - before).abs().max())
        for i, p in enumerate(procs):
            ours = p.process(a[i].numpy(), q[i])
            if kin is None:
                np.testing.assert_array_equal(ours, env.action.target[i].numpy())
            else:  # float64 kinematics here, float32 in the env
                np.testing.assert_allclose(ours, env.action.target[i].numpy(), atol=2e-5)
                p.sync(env.action.target[i].numpy())
    assert moved > 0.1, "the actions never moved the target: the comparison proves nothing"


@pytest.mark.parametrize("kind", ALL)
@pytest.mark.parametrize("field,value,message", [
    ("scale", float("nan"), "actions.scale must be a finite number > 0"),
    ("scale", -0.05, "actions.scale must be a finite number > 0"),
    ("clip", 0.0, "actions.clip must be a finite number > 0"),
    ("max_target_error", -1.0, "actions.max_target_error must be None or a finite number > 0"),
    ("bound_step", "yes", "actions.bound_step must be true or false"),
])
def test_each_type_checks_its_config(kind, field, value, message):
    with pytest.raises(InputError, match=message):
        action_type(kind).check(dataclasses.replace(task_cfg("franka-reach").actions, type=kind, **{field: value}))


def test_a_bad_workspace_is_refused_by_the_tool_point_types():
    bad = dataclasses.replace(task_cfg("franka-reach").actions, type="ee_position_delta",
                              workspace=((0.8, 0.2), (0, 1), (0, 1)))
    with pytest.raises(InputError, match="with lo < hi"):
        action_type("ee_position_delta").check(bad)
    with pytest.raises(InputError, match="workspace bounds a tool point"):
        action_type("joint_position").check(dataclasses.replace(bad, type="joint_position"))


def test_the_robot_side_runs_without_torch():
    """The policy node runs on ONNX Runtime: loading a bundle and processing actions through
    the registry must not import torch (the action modules reach it lazily)."""
    import subprocess
    import sys
    from pathlib import Path

    bundle = Path(__file__).parent / "data" / "franka_reach_bundle"
    code = (
        "import sys, numpy as np\n"
        "from simreal.export.bundle import load_bundle\n"
        "from simreal.actions import processor_for\n"
        f"b = load_bundle({str(bundle)!r})\n"
        "p = processor_for(b.spec)\n"
        "p.reset(np.asarray(b.spec.default_joint_pos))\n"
        "assert np.isfinite(p.process(np.ones(b.spec.num_actions), b.spec.default_joint_pos)).all()\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False", "the robot side imported torch"
