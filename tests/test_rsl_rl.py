"""simreal envs satisfy rsl_rl's VecEnv: rsl_rl's own runner trains on one."""

import pytest
import torch

pytest.importorskip("rsl_rl")
from rsl_rl.runners import OnPolicyRunner  # noqa: E402

from simreal.registry import make_env  # noqa: E402


def _train_cfg():
    mlp = {"class_name": "MLPModel", "hidden_dims": [64, 64], "activation": "elu", "obs_normalization": True}
    return {
        "num_steps_per_env": 24,
        "save_interval": 1000,
        "obs_groups": {"actor": ["policy"], "critic": ["critic"]},  # asymmetric actor-critic
        "algorithm": {"class_name": "PPO", "learning_rate": 1e-3, "num_learning_epochs": 4, "num_mini_batches": 4},
        "actor": {**mlp, "distribution_cfg": {"class_name": "GaussianDistribution", "init_std": 0.5}},
        "critic": dict(mlp),
    }


def test_rsl_rl_runner_trains_on_franka_reach(tmp_path):
    torch.manual_seed(0)
    env = make_env("franka-reach", num_envs=128, seed=0)
    runner = OnPolicyRunner(env, _train_cfg(), log_dir=str(tmp_path), device="cpu")
    policy_before = runner.get_inference_policy()
    obs = env.get_observations()
    with torch.inference_mode():
        before = policy_before(obs).clone()

    runner.learn(num_learning_iterations=25)
    with torch.inference_mode():
        after = runner.get_inference_policy()(obs)
    assert not torch.allclose(before, after), "the policy did not change"
    assert list(tmp_path.glob("model_*.pt")), "rsl_rl saved no checkpoint"

    # the trained policy moves the tool towards the target compared to doing nothing
    env_eval = make_env("franka-reach", num_envs=128, seed=123)
    policy = runner.get_inference_policy()
    idle = make_env("franka-reach", num_envs=128, seed=123)
    obs_eval = env_eval.get_observations()
    with torch.inference_mode():
        for _ in range(60):
            obs_eval, *_ = env_eval.step(policy(obs_eval))
            idle.step(torch.zeros(128, idle.num_actions))
    trained = torch.linalg.norm(env_eval.buffers["target"] - env_eval.ee_pos, dim=1).mean()
    untrained = torch.linalg.norm(idle.buffers["target"] - idle.ee_pos, dim=1).mean()
    print(f"mean tool-target distance after 60 steps: trained {trained:.3f} m, idle {untrained:.3f} m")
    assert trained < 0.7 * untrained, (trained, untrained)
