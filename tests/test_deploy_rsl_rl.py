"""``simreal import-rsl-rl``: a checkpoint written by rsl_rl's own OnPolicyRunner (trained
here on simreal's franka-reach) becomes a bundle whose ONNX policy equals rsl_rl's."""

import numpy as np
import pytest
import torch

pytest.importorskip("rsl_rl")
from rsl_rl.runners import OnPolicyRunner  # noqa: E402

from simreal.cli import main  # noqa: E402
from simreal.export import BundleError, load_bundle  # noqa: E402
from simreal.export.rsl_rl_import import import_rsl_rl  # noqa: E402
from simreal.registry import make_env  # noqa: E402


def _train_cfg():
    mlp = {"class_name": "MLPModel", "hidden_dims": [32, 32], "activation": "elu", "obs_normalization": True}
    return {
        "num_steps_per_env": 8,
        "save_interval": 1000,
        "obs_groups": {"actor": ["policy"], "critic": ["critic"]},
        "algorithm": {"class_name": "PPO", "learning_rate": 1e-3, "num_learning_epochs": 1, "num_mini_batches": 2},
        "actor": {**mlp, "distribution_cfg": {"class_name": "GaussianDistribution", "init_std": 0.5}},
        "critic": dict(mlp),
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rsl")
    torch.manual_seed(0)
    env = make_env("franka-reach", num_envs=32, seed=0)
    runner = OnPolicyRunner(env, _train_cfg(), log_dir=str(tmp), device="cpu")
    runner.learn(num_learning_iterations=3)  # the normalizer has moved off (0, 1)
    ckpt = tmp / "model_3.pt"
    runner.save(str(ckpt))
    return tmp, ckpt, runner


def test_import_rsl_rl_cli_matches_rsl_rl(trained, capsys):
    tmp, ckpt, runner = trained
    assert main(["deploy-yaml", "franka-reach", "--out", str(tmp / "deploy.yaml")]) == 0
    assert main(["import-rsl-rl", str(ckpt), "--deploy-yaml", str(tmp / "deploy.yaml"), "--out", str(tmp / "b")]) == 0
    assert "parity max" in capsys.readouterr().out
    bundle = load_bundle(tmp / "b")
    # rsl_rl counts from 0
    assert bundle.spec.provenance["source"] == "rsl_rl" and bundle.spec.provenance["training_iterations"] == 2
    env = make_env("franka-reach", num_envs=64, seed=11)
    policy = runner.get_inference_policy()
    obs = env.get_observations()
    for _ in range(5):
        with torch.inference_mode():
            ref = policy(obs).numpy()
        np.testing.assert_allclose(bundle.act(obs["policy"].numpy()), ref, atol=1e-5)
        obs, *_ = env.step(torch.as_tensor(ref))


def test_import_rsl_rl_refuses_a_deploy_yaml_that_does_not_fit(trained, tmp_path):
    _, ckpt, _ = trained
    from simreal.deploy.from_task import deploy_spec_from_task

    spec = deploy_spec_from_task("franka-reach")
    spec.observations[0].history = 2  # 31 inputs, the checkpoint takes 24
    spec.save(tmp_path / "deploy.yaml")
    with pytest.raises(BundleError, match="takes 24 observations but deploy.yaml's terms"):
        import_rsl_rl(ckpt, tmp_path / "b", deploy_yaml=tmp_path / "deploy.yaml")
    assert main(["import-rsl-rl", str(tmp_path / "nope.pt"), "--task", "franka-reach", "--out",
                 str(tmp_path / "c")]) == 2
