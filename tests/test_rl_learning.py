"""Learning checks: a short one in the default suite, the benchmark-length ones marked slow."""

import pytest

from simreal.rl.config import default_cfg
from simreal.rl.evaluate import evaluate
from simreal.rl.runner import Runner


def test_ppo_learns_franka_reach_in_a_short_run(tmp_path):
    """~300k env steps (about a minute on 2 quiet cores), compared with a policy that
    holds still. Success within 2 cm is still rare this early, so the return carries the
    main assertion; both must beat the idle policy clearly."""
    import torch

    from simreal.rollout import rollout

    cfg = default_cfg("franka-reach", "ppo", {"num_envs": 256, "steps": 300_000, "seed": 1})
    Runner(cfg, run_dir=tmp_path, log=False).train()
    trained = evaluate(tmp_path, episodes=128, which="latest")
    idle = rollout("franka-reach", num_envs=128, steps=151, policy=lambda obs: torch.zeros(128, 7), progress=False)
    print(trained, idle["mean_return"], idle["success_rate"])
    assert trained["mean_return"] >= idle["mean_return"] + 20.0, (trained, idle)
    assert trained["success_rate"] >= idle["success_rate"] + 0.05, (trained, idle)


@pytest.mark.slow
def test_ppo_reaches_95_percent_on_franka_reach(tmp_path):
    cfg = default_cfg("franka-reach", "ppo", {"num_envs": 512, "steps": 2_000_000, "seed": 0})
    Runner(cfg, run_dir=tmp_path, log=False).train()
    assert evaluate(tmp_path, episodes=256)["success_rate"] >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["sac", "dsac"])
def test_off_policy_solves_pendulum(tmp_path, algo):
    Runner(default_cfg("gym:Pendulum-v1", algo, {"seed": 0}), run_dir=tmp_path, log=False).train()
    assert evaluate(tmp_path, episodes=10, which="latest")["mean_return"] >= -250
