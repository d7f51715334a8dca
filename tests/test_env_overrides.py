"""Nested task overrides (``--set env.<section>.<field>=...``): they reach the env, and bad ones
are refused by name."""

import pytest
import torch

from simreal.envs import ManipulationEnv
from simreal.errors import InputError
from simreal.registry import task_cfg
from simreal.rl.config import apply_overrides, default_cfg


def _env(*overrides):
    cfg = apply_overrides(default_cfg("franka-reach", "ppo", {"num_envs": 8}), list(overrides))
    return ManipulationEnv(task_cfg("franka-reach", num_envs=8, nthread=1, **cfg.env), "franka-reach")


def _damping(env):
    ids = env.arm_dof_ids.tolist()
    return env.backend.param("dof_damping")[:, ids].double(), env.backend.nominal_param("dof_damping")[ids].double()


def test_event_params_and_removal_reach_the_env():
    env = _env("env.events.joint_damping.params.scale=[2,2]", "env.actions.max_latency_steps=2")
    env.reset()
    per_env, nominal = _damping(env)
    assert torch.allclose(per_env, 2 * nominal.expand_as(per_env))  # every env at exactly x2
    assert env.cfg.actions.max_latency_steps == 2
    assert env.cfg.events["actuator_gains"].params["scale"] == (0.8, 1.2)  # untouched terms keep theirs

    env = _env("env.events.joint_damping=null", "env.events.actuator_gains=null")
    assert sorted(env.cfg.events) == ["reset_joints", "target"]
    env.reset()
    per_env, nominal = _damping(env)
    assert torch.equal(per_env, nominal.expand_as(per_env))  # no randomization left


@pytest.mark.parametrize("override, message", [
    ("env.events.nope=null", "has no term 'nope'"),
    ("env.actions.nope=1", "env.actions.nope' is unknown"),
    ("env.actions.max_latency_steps=1.5", "needs an integer"),
    ("env.events.joint_damping.params.bogus=1", "takes no parameter \\['bogus'\\]"),
    ("env.events.joint_damping.params.scale=[2,1]", "0 < low <= high"),
    ("env.events.joint_damping.params.scale=[0,1]", "0 < low <= high"),
    ("env.events.joint_damping.func=1", "is a function"),
    ("env.success=1", "is a function"),
    ("env.actions=3", "is a section"),
    ("actions.max_latency_steps=1", "go under env\\."),
    ("env.terminations.x=null", "has no term 'x'"),  # franka-reach has no terminations: an empty table
    ("env.scene.timestep=0", "must be >= 1e-05"),
    ("env.events.joint_damping.mode=bogus", "must be 'startup' or 'reset'"),
    ("env.observations.policy.terms.joint_pos.noise_std=-1", "must be >= 0.0"),
    ("env.scene.mjcf_objects=[1]", "cannot be set from a config"),
    ("env.num_envs=4", "run's own; set num_envs \\(--num-envs\\)"),
    ("env.seed=1", "--seed"),
])
def test_bad_nested_overrides_are_refused_by_name(override, message):
    with pytest.raises(InputError, match=message):
        _env(override)


def test_a_fits_widths_and_a_users_ranges_do_not_silently_overrule_each_other(tmp_path):
    """train --physics with a fit's uncertainty sets the arm-physics ranges; a --set range for one of
    them is refused by name unless env.physics_widths=task says to keep the user's. The fitted
    latency becomes whole control steps of the run's own control period (here 10 ms: 2 steps)."""
    import yaml

    from simreal.rl.cli import _train_on_physics

    fit = tmp_path / "fit.yaml"
    fit.write_text(yaml.safe_dump({"actuator_kp_scale": 0.9, "command_latency_s": 0.015,
                                   "pm95": {"actuator_kp_scale": 0.01}}))
    cfg = apply_overrides(default_cfg("franka-reach", "ppo", {}), ["env.events.actuator_gains.params.scale=[0.5,2]"])
    with pytest.raises(InputError, match=r"\['actuator_gains'\] from the fit's uncertainty.*physics_widths=task"):
        _train_on_physics(cfg, str(fit))
    cfg = apply_overrides(default_cfg("franka-reach", "ppo", {}), ["env.events.actuator_gains.params.scale=[0.5,2]",
                                                                   "env.physics_widths=task", "env.decimation=5"])
    _train_on_physics(cfg, str(fit))
    assert cfg.env["actions"]["max_latency_steps"] == 2
