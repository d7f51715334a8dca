"""How tests/data/franka_reach_bundle was made: rsl_rl's own OnPolicyRunner trains on
simreal's franka-reach (512 envs, 300 iterations, ~14 min on 2 shared cores), then
``simreal import-rsl-rl`` turns the final checkpoint into a bundle.

    .venv/bin/python tests/data/make_franka_reach_bundle.py /tmp/reach_rsl
    .venv/bin/simreal deploy-yaml franka-reach --out /tmp/reach_deploy.yaml
    .venv/bin/simreal import-rsl-rl /tmp/reach_rsl/model_final.pt --deploy-yaml /tmp/reach_deploy.yaml \\
        --out tests/data/franka_reach_bundle

Deterministic evaluation of that checkpoint in the env (256 envs, 2 episodes): success 0.96.

Re-exported on 2026-12-02 for the bundle format whose policy.onnx carries the whole
deploy spec and whose deploy.yaml carries both files' sha256: the actor rebuilt with
``simreal.export.rsl_rl_import.actor_from_checkpoint`` from this bundle's own policy.pt
tensors, written with ``write_bundle`` on the same parity observations (see provenance).
"""

import sys

import torch
from rsl_rl.runners import OnPolicyRunner

from simreal.registry import make_env

if __name__ == "__main__":
    out = sys.argv[1]
    torch.manual_seed(0)
    torch.set_num_threads(1)
    mlp = {"class_name": "MLPModel", "hidden_dims": [64, 64], "activation": "elu", "obs_normalization": True}
    cfg = {
        "num_steps_per_env": 24, "save_interval": 50,
        "obs_groups": {"actor": ["policy"], "critic": ["critic"]},
        "algorithm": {"class_name": "PPO", "learning_rate": 1e-3, "num_learning_epochs": 5, "num_mini_batches": 4,
                      "entropy_coef": 0.003},
        "actor": {**mlp, "distribution_cfg": {"class_name": "GaussianDistribution", "init_std": 0.5}},
        "critic": dict(mlp),
    }
    env = make_env("franka-reach", num_envs=512, seed=0, nthread=1)
    runner = OnPolicyRunner(env, cfg, log_dir=out, device="cpu")
    runner.learn(num_learning_iterations=300)
    runner.save(f"{out}/model_final.pt")
