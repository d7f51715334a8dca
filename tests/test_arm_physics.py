"""An arm whose physics differ from the robot model (``simreal sim-robot --physics``): the
file's checks, the simulated arm and task cell that take it, and over real DDS, commands
that take effect the file's latency later."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from simreal.deploy.sim_arm import SingleArm
from simreal.deploy.task_cell import TaskCell
from simreal.errors import InputError
from simreal.robots import get_robot
from simreal.robots.physics import ArmPhysics, load_physics, model_values, physics_from_dict

SEVEN = [0.1] * 7


@pytest.mark.parametrize("raw, message", [
    ({"joint_stiffness": SEVEN}, "unknown key(s) ['joint_stiffness']"),
    ({"joint_damping": [1.0] * 6}, "joint_damping must be a list of 7 numbers"),
    ({"joint_damping": 1.0}, "joint_damping must be a list of 7 numbers"),
    ({"joint_armature": [0.1] * 6 + [float("nan")]}, "joint_armature[6] must be finite and non-negative"),
    ({"joint_frictionloss": [0.1] * 6 + [-0.2]}, "joint_frictionloss[6] must be finite and non-negative"),
    ({"joint_damping": [0.1] * 6 + ["x"]}, "joint_damping[6] must be a number"),
    ({"actuator_kp_scale": float("inf")}, "actuator_kp_scale must be finite"),
    ({"actuator_kv_scale": -1.0}, "actuator_kv_scale must be finite and non-negative"),
    ({"actuator_kp_scale": 0.0}, "actuator_kp_scale must be above 0"),
    ({"command_latency_s": True}, "command_latency_s must be a number"),
    ({"command_latency_s": 5.0}, "command_latency_s 5.0 s is above 1.0 s"),
    ([1, 2], "must be a mapping"),
    ({"pm95": [0.1]}, "pm95 must be a mapping"),
    ({"pm95": {"joint_stiffness": SEVEN}}, "pm95 has unknown key(s) ['joint_stiffness']"),
    ({"pm95": {"joint_damping": [0.1] * 6}}, "pm95.joint_damping must be a list of 7 numbers or nulls"),
    ({"pm95": {"actuator_kp_scale": -0.1}}, "pm95.actuator_kp_scale must be finite and non-negative"),
    ({"pm95": {"joint_armature": [0.1] * 6 + [float("nan")]}}, "pm95.joint_armature[6] must be finite"),
])
def test_a_bad_physics_value_is_refused_naming_its_key(raw, message):
    with pytest.raises(InputError) as err:
        physics_from_dict(raw, 7, where="arm.yaml")
    assert message in str(err.value) and "arm.yaml" in str(err.value)


def test_bad_physics_files_are_refused_and_a_fit_round_trips(tmp_path):
    empty, broken = tmp_path / "empty.yaml", tmp_path / "broken.yaml"
    empty.write_text("")
    broken.write_text("joint_damping: [1, 2\n")
    with pytest.raises(InputError, match="is empty"):
        load_physics(empty, 7)
    with pytest.raises(InputError, match="not valid YAML"):
        load_physics(broken, 7)
    with pytest.raises(InputError, match="cannot read physics file"):
        load_physics(tmp_path / "missing.yaml", 7)
    fit = ArmPhysics(joint_armature=(0.2,) * 7, actuator_kp_scale=0.8, command_latency_s=0.012,
                     pm95={"joint_armature": [0.01] * 6 + [None], "actuator_kp_scale": 0.004})
    assert load_physics(fit.save(tmp_path / "fit.yaml"), 7) == fit
    assert load_physics(ArmPhysics().save(tmp_path / "nominal.yaml"), 7) == ArmPhysics()


def _step_response(physics, joint=3, step=0.1, seconds=0.15) -> float:
    """How far joint ``joint`` got towards a ``step`` rad command after ``seconds``."""
    arm = SingleArm(physics=physics)
    q0 = arm.joint_pos
    cmd = q0.copy()
    cmd[joint] += step
    arm.set_command(cmd)
    arm.step(int(seconds / arm.timestep))
    return float((arm.joint_pos[joint] - q0[joint]) / step)


def test_the_simulated_arm_moves_with_the_files_physics_not_the_models():
    arm = SingleArm(physics=physics_from_dict({"joint_damping": [2.0] * 7, "actuator_kp_scale": 0.5,
                                               "actuator_kv_scale": 2.0}, 7))
    nominal = SingleArm()
    got, model = model_values(arm.model, arm.dof_ids, arm.ctrl_ids), model_values(nominal.model, nominal.dof_ids,
                                                                                    nominal.ctrl_ids)
    assert got["joint_damping"] == [2.0] * 7 and got["joint_armature"] == model["joint_armature"]
    assert np.allclose(got["actuator_kp"], 0.5 * np.array(model["actuator_kp"]))
    assert np.allclose(got["actuator_kv"], 2.0 * np.array(model["actuator_kv"]))
    base = _step_response(None)
    assert 0.5 < base <= 1.05
    assert _step_response(physics_from_dict({"actuator_kp_scale": 0.3}, 7)) < base - 0.1  # a softer servo lags
    early = _step_response(None, seconds=0.02)  # the first 20 ms are set by inertia (then the servo's damping)
    assert _step_response(physics_from_dict({"joint_armature": [1.0] * 7}, 7), seconds=0.02) < 0.75 * early
    stuck = _step_response(physics_from_dict({"joint_frictionloss": [200.0] * 7}, 7), step=0.02)
    assert stuck < 0.5  # dry friction above what the servo's 0.02 rad error pushes with: it barely moves


def test_a_task_cell_keeps_its_arms_physics_through_resets_and_still_draws_its_objects():
    physics = physics_from_dict({"joint_damping": [3.0] * 7, "joint_frictionloss": [0.4] * 7,
                                 "actuator_kp_scale": 0.8}, 7)
    cell = TaskCell("franka-lift-ik", physics=physics)
    b = cell.env.backend
    kp0 = np.array(get_robot("franka_panda").actuator_kp)  # the robot model's servo stiffness
    masses = set()
    for _ in range(3):
        cell.reset()
        assert b.param("dof_damping")[0, cell.dof_ids].tolist() == [3.0] * 7
        assert b.param("dof_frictionloss")[0, cell.dof_ids].tolist() == [0.4] * 7
        assert np.allclose(b.param("actuator_gainprm")[0, cell.ctrl_ids, 0].numpy(), 0.8 * kp0)
        assert np.allclose(b.param("actuator_biasprm")[0, cell.ctrl_ids, 1].numpy(), -0.8 * kp0)
        masses.add(round(float(b.param("body_mass")[0, cell.env.model.body("cube").id]), 6))
    assert len(masses) == 3  # the cube's mass is still drawn per episode
    drawn = TaskCell("franka-lift-ik")  # without a file, the task's own per-episode draw of the arm
    assert drawn.env.backend.param("dof_damping")[0, drawn.dof_ids].tolist() != [1.0] * 7


def test_sim_robot_refuses_a_bad_physics_file_in_one_line(tmp_path):
    bad = tmp_path / "arm.yaml"
    bad.write_text("joint_damping: [1, 1, 1]\n")
    proc = subprocess.run([sys.executable, "-m", "simreal.cli", "sim-robot", "--physics", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "joint_damping must be a list of 7 numbers" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.timeout(120)
def test_commands_take_effect_the_files_latency_later_over_ros(tmp_path):
    pytest.importorskip("rclpy")
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray

    from simreal.ros_nodes.demo import Probe
    from simreal.ros_nodes.launch import ros_env, spawn, stop

    def first_motion(physics_file: str) -> float:
        domain = 1 + (os.getpid() * 13 + len(physics_file)) % 100
        log = tmp_path / f"sim{len(physics_file)}.log"
        extra = ["--physics", physics_file] if physics_file else []
        sim = spawn(["sim-robot", *extra], ros_env(domain), log)
        probe = Probe(domain)
        try:
            states = probe.record(JointState, "/joint_states")
            assert probe.wait_for(lambda: len(states) > 10 or sim.poll() is not None, 60), log.read_text()
            pub = probe.node.create_publisher(Float64MultiArray, "/forward_position_controller/commands", 10)
            probe.spin(1.0)  # the arm settles on its servos
            q0 = np.array(states[-1][1].position[:7])
            cmd = q0.copy()
            cmd[3] += 0.1
            sent = time.monotonic()
            pub.publish(Float64MultiArray(data=cmd.tolist()))
            probe.spin(0.8)
            moved = [t for t, m in states if t > sent and m.position[3] - q0[3] > 0.003]
            assert moved, log.read_text()
            return moved[0] - sent
        finally:
            probe.close()
            stop(sim)

    slow = tmp_path / "slow.yaml"
    slow.write_text("command_latency_s: 0.25\n")
    nominal, delayed = first_motion(""), first_motion(str(slow))
    assert nominal < 0.1, nominal
    assert 0.25 <= delayed < 0.25 + 0.15 and delayed - nominal > 0.18, (nominal, delayed)


def test_training_on_a_fit_makes_it_the_nominal_and_the_tasks_randomization_centres_on_it(tmp_path):
    from simreal.registry import make_env

    fit = {"joint_armature": [0.3] * 7, "actuator_kp_scale": 0.5}
    env = make_env("franka-lift", num_envs=32, nthread=1, physics=fit)
    kp_model = TaskCell("franka-lift").env.model.actuator_gainprm[0, 0]
    assert env.backend.nominal_param("dof_armature")[env.arm_dof_ids].tolist() == [0.3] * 7
    drawn = env.backend.param("dof_armature")[:, env.arm_dof_ids]  # the task draws armature x0.8-1.2 per episode
    assert drawn.min() >= 0.24 - 1e-9 and drawn.max() <= 0.36 + 1e-9 and drawn.std() > 0.01
    kp = env.backend.param("actuator_gainprm")[:, env.arm_ctrl_ids[0], 0]  # gains x0.8-1.2 around half the model's
    assert kp.min() >= 0.4 * kp_model - 1e-6 and kp.max() <= 0.6 * kp_model + 1e-6

    import yaml

    path = tmp_path / "fit.yaml"
    path.write_text(yaml.safe_dump({**fit, "command_latency_s": 0.015}))
    run = tmp_path / "run"
    tiny = ["--num-envs", "16", "--steps", "512", "--set", "actor.hidden=[16]", "--set", "critic.hidden=[16]",
            "--set", "env.episode_length_s=0.4"]
    proc = subprocess.run([sys.executable, "-m", "simreal.cli", "train", "franka-reach", "--run-dir", str(run),
                           "--physics", str(path), *tiny], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "command latency 15.0 ms: each episode delays actions by 0 to 1 control steps of 20 ms" in proc.stdout
    saved = yaml.safe_load((run / "config.yaml").read_text())["env"]  # resume and eval rebuild it
    assert saved["physics"]["joint_armature"] == [0.3] * 7 and saved["physics"]["actuator_kp_scale"] == 0.5
    assert saved["actions"]["max_latency_steps"] == 1  # the fitted 15 ms, rounded up to whole control steps
    bad = tmp_path / "bad.yaml"
    bad.write_text("actuator_kv_scale: -2\n")
    proc = subprocess.run([sys.executable, "-m", "simreal.cli", "train", "franka-reach", "--physics", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "actuator_kv_scale must be finite and non-negative" in proc.stderr


def test_a_fits_uncertainty_sets_the_arms_randomization_widths_unless_told_to_keep_the_tasks():
    """franka-lift randomizes armature and servo gains x0.8-1.2; a fit whose armature is known to
    +-0.03 (of 0.3: 10 %) and whose gains to 2 % narrows them to x0.9-1.1 and x0.95-1.05 (the
    5 % floor: a fit's intervals are optimistic); env.physics_widths=task keeps x0.8-1.2."""
    from simreal.registry import make_env

    fit = {"joint_armature": [0.3] * 7, "actuator_kp_scale": 0.5,
           "pm95": {"joint_armature": [0.03, 0.01, None, 0.01, 0.01, 0.01, 0.01], "actuator_kp_scale": 0.01}}
    env = make_env("franka-lift", num_envs=64, nthread=1, physics=fit)
    scales = {name: ev.params["scale"] for name, ev in env.cfg.events.items() if "scale" in ev.params}
    assert scales["joint_armature"] == (0.9, 1.1) and scales["actuator_gains"] == (0.95, 1.05)
    drawn = env.backend.param("dof_armature")[:, env.arm_dof_ids]
    assert drawn.min() >= 0.27 - 1e-9 and drawn.max() <= 0.33 + 1e-9 and drawn.max() > 0.32
    kept = make_env("franka-lift", num_envs=4, nthread=1, physics=fit, physics_widths="task")
    assert kept.cfg.events["joint_armature"].params["scale"] == (0.8, 1.2)
    without = make_env("franka-lift", num_envs=4, nthread=1, physics={k: v for k, v in fit.items() if k != "pm95"})
    assert without.cfg.events["actuator_gains"].params["scale"] == (0.8, 1.2)  # no uncertainty: the task's
    with pytest.raises(InputError, match="env.physics_widths must be 'fit'"):
        make_env("franka-lift", num_envs=4, nthread=1, physics=fit, physics_widths="wide")
