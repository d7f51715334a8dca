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
])
def test_bad_nested_overrides_are_refused_by_name(override, message):
    with pytest.raises(InputError, match=message):
        _env(override)
