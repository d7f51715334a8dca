"""``simreal bench sysid``: arms with physics drawn at random (``draw_physics``), each excited
as ``simreal excite`` does and recorded in simulation (no ROS: timing as exact as a hardware
clock), fitted, and the fit compared with the truth against the identification targets."""

from __future__ import annotations

import sys
import time

import numpy as np

from simreal.robots.physics import ArmPhysics, draw_physics

TARGETS = {"latency_ms": 2.0, "gain_scale_rel": 0.15, "armature_rel": 0.25, "frictionloss_rel": 0.25,
           "frictionloss_abs": 0.05}


def compare(true: ArmPhysics, fitted: ArmPhysics, excited) -> dict:
    """Errors of one fit, and whether each is within its target (joints the excitation moved)."""
    ex = np.asarray(excited, dtype=bool)
    arm_t, arm_f = np.array(true.joint_armature), np.array(fitted.joint_armature)
    fr_t, fr_f = np.array(true.joint_frictionloss), np.array(fitted.joint_frictionloss)
    arm_rel = np.abs(arm_f - arm_t) / arm_t
    fr_err = np.abs(fr_f - fr_t)
    fr_ok = (fr_err <= TARGETS["frictionloss_abs"]) | (fr_err <= TARGETS["frictionloss_rel"] * fr_t)
    row = {"latency_err_ms": 1e3 * abs(fitted.command_latency_s - true.command_latency_s),
           "kp_scale_rel_err": abs(fitted.actuator_kp_scale / true.actuator_kp_scale - 1),
           "kv_scale_rel_err": abs(fitted.actuator_kv_scale / true.actuator_kv_scale - 1),
           "armature_rel_err_max": float(arm_rel[ex].max()), "frictionloss_err_max_nm": float(fr_err[ex].max()),
           "armature_joints_ok": int(np.sum(arm_rel[ex] <= TARGETS["armature_rel"])),
           "frictionloss_joints_ok": int(np.sum(fr_ok[ex])), "joints_excited": int(ex.sum())}
    row["within_targets"] = bool(row["latency_err_ms"] <= TARGETS["latency_ms"]
                                 and max(row["kp_scale_rel_err"], row["kv_scale_rel_err"]) <= TARGETS["gain_scale_rel"]
                                 and row["armature_joints_ok"] == row["joints_excited"]
                                 and row["frictionloss_joints_ok"] == row["joints_excited"])
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}


def hidden_arms(count: int, seed: int = 0, robot_name: str = "franka_panda") -> list[ArmPhysics]:
    """The benchmark's arms: ``count`` draws of ``draw_physics`` around the robot model's own
    values, from a generator seeded with ``seed`` (``bench transfer --draw-arms`` writes the same)."""
    from simreal.deploy.sim_arm import SingleArm
    from simreal.robots.physics import model_values

    probe = SingleArm(robot_name)
    nominal = model_values(probe.model, probe.dof_ids, probe.ctrl_ids)
    rng = np.random.default_rng(seed)
    return [draw_physics(rng, nominal) for _ in range(count)]


def bench_sysid(arms: int = 10, duration_s: float = 30.0, seed: int = 0, robot_name: str = "franka_panda") -> dict:
    from simreal.deploy.excitation import Excitation, ExcitationCfg
    from simreal.robots import get_robot
    from simreal.sysid.fit import fit, simulate_recording

    robot = get_robot(robot_name)
    rows = []
    for i, true in enumerate(hidden_arms(arms, seed, robot_name)):
        t0 = time.perf_counter()
        rec = simulate_recording(true, Excitation(robot, ExcitationCfg(duration_s=duration_s), control_period_s=0.01))
        result = fit(rec, robot)
        seconds = time.perf_counter() - t0
        excited = [j in result["excited_joints"] for j in robot.joint_names]
        row = {"arm": i, **compare(true, result["physics"], excited), "seconds": round(seconds, 1),
               "rms_before_rad": round(result["rms_before_rad"], 6), "rms_after_rad": round(result["rms_after_rad"], 6)}
        rows.append(row)
        print(f"[bench sysid] arm {i + 1}/{arms}: latency err {row['latency_err_ms']:.2f} ms, gains "
              f"{100 * row['kp_scale_rel_err']:.1f}/{100 * row['kv_scale_rel_err']:.1f} %, armature max "
              f"{100 * row['armature_rel_err_max']:.0f} %, friction max {row['frictionloss_err_max_nm']:.3f} N m, "
              f"{'ok' if row['within_targets'] else 'MISSED'} ({seconds:.0f} s)", file=sys.stderr, flush=True)
    keys = ("latency_err_ms", "kp_scale_rel_err", "kv_scale_rel_err", "armature_rel_err_max", "frictionloss_err_max_nm")
    return {"arms": arms, "duration_s": duration_s, "seed": seed, "targets": TARGETS,
            "arms_within_targets": sum(r["within_targets"] for r in rows),
            "all_within_targets": all(r["within_targets"] for r in rows),
            "worst": {k: max(r[k] for r in rows) for k in keys},
            "seconds_per_arm_mean": round(float(np.mean([r["seconds"] for r in rows])), 1), "rows": rows}
