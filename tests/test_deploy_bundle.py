"""Bundles: write (ONNX with the normalizer inside, TorchScript, deploy.yaml, parity set),
load with the parity check through ONNX Runtime, and refuse broken ones."""

import json

import numpy as np
import pytest
import torch
import yaml
from bundle_tools import rehash

from simreal.deploy.spec import DeploySpec
from simreal.export import BundleError, ParityError, load_bundle, write_bundle


class _Normalized(torch.nn.Module):
    """A policy with its normalizer inside, as simreal.rl's actors and rsl_rl's MLPModel."""

    def __init__(self, obs_dim=24, num_actions=7):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.register_buffer("mean", torch.randn(obs_dim, generator=g))
        self.register_buffer("std", torch.rand(obs_dim, generator=g) + 0.1)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            self.net = torch.nn.Sequential(torch.nn.Linear(obs_dim, 32), torch.nn.ELU(),
                                           torch.nn.Linear(32, num_actions))

    def forward(self, obs):
        return self.net(torch.clamp((obs - self.mean) / (self.std + 1e-2), -5, 5))


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle")
    obs = torch.randn(64, 24) * 2
    write_bundle(out, _Normalized(), "franka-reach", obs, provenance={"seed": 3, "training_steps": 1000})
    return out


def test_write_bundle_files_and_metadata(bundle_dir):
    import onnx

    assert {p.name for p in bundle_dir.iterdir()} >= {"policy.onnx", "policy.pt", "deploy.yaml", "parity.npz"}
    spec = DeploySpec.load(bundle_dir / "deploy.yaml")
    assert spec.provenance["task"] == "franka-reach" and spec.provenance["seed"] == 3
    assert spec.provenance["training_steps"] == 1000 and "git_commit" in spec.provenance
    meta = {p.key: p.value for p in onnx.load(str(bundle_dir / "policy.onnx")).metadata_props}
    assert json.loads(meta["joint_names"]) == spec.joint_names
    assert json.loads(meta["default_joint_pos"]) == spec.default_joint_pos
    assert float(meta["action_scale"]) == spec.action.scale


def test_loaded_bundle_matches_the_torch_policy(bundle_dir):
    b = load_bundle(bundle_dir)
    assert b.parity_max_abs_diff <= 1e-5
    x = np.random.default_rng(1).standard_normal((10, 24)).astype(np.float32)
    with torch.no_grad():
        ref = _Normalized()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(b.act(x), ref, atol=1e-5)
    np.testing.assert_allclose(b.act(x[0]), ref[0], atol=1e-5)  # single observation
    ts = torch.jit.load(str(bundle_dir / "policy.pt"))
    np.testing.assert_allclose(ts(torch.from_numpy(x)).detach().numpy(), ref, atol=1e-5)


def test_bundle_whose_parity_fails_is_refused(bundle_dir, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(bundle_dir, bad)
    with np.load(bad / "parity.npz") as d:
        obs, act = d["obs"], d["actions"].copy()
    act[3, 2] += 1e-4
    np.savez(bad / "parity.npz", obs=obs, actions=act)
    with pytest.raises(BundleError, match="parity.npz is not the file this deploy.yaml was exported with"):
        load_bundle(bad)
    rehash(bad)  # as if the export itself had recorded the wrong actions
    with pytest.raises(ParityError, match="refused"):
        load_bundle(bad)


def test_bundle_with_mismatched_files_is_refused(bundle_dir, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(bundle_dir, bad)
    d = yaml.safe_load((bad / "deploy.yaml").read_text())
    d["joint_names"] = d["joint_names"][::-1]
    (bad / "deploy.yaml").write_text(yaml.safe_dump(d))
    with pytest.raises(BundleError, match="deploy.yaml's joint_names is .* but policy.onnx was exported with"):
        load_bundle(bad)
    (bad / "policy.onnx").unlink()
    with pytest.raises(BundleError, match="lacks"):
        load_bundle(bad)


def test_write_bundle_rejects_wrong_shapes(tmp_path):
    with pytest.raises(BundleError, match=r"\[N, 24\]"):
        write_bundle(tmp_path / "b", _Normalized(), "franka-reach", torch.zeros(4, 20))
    with pytest.raises(BundleError, match=r"expected \[N, 7\]"):
        write_bundle(tmp_path / "b", _Normalized(num_actions=6), "franka-reach", torch.zeros(4, 24))


def test_lost_normalizer_is_caught(tmp_path):
    """A policy exported without its normalizer disagrees with the recorded training actions."""
    b = write_bundle(tmp_path / "ok", _Normalized(), "franka-reach", torch.randn(32, 24))
    stripped = _Normalized()
    stripped.mean.zero_()
    stripped.std.fill_(1.0)
    other = write_bundle(tmp_path / "stripped", stripped, "franka-reach", torch.randn(32, 24))
    (tmp_path / "stripped" / "parity.npz").write_bytes((b.path / "parity.npz").read_bytes())
    rehash(tmp_path / "stripped")
    with pytest.raises(ParityError):
        load_bundle(other.path)


class _RecurrentPolicy(torch.nn.Module):
    """GRU policy with its normalizer inside and its hidden state explicit."""

    recurrent_state_shapes = {"h": (1, 16)}

    def __init__(self):
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(1)
            self.gru = torch.nn.GRU(24, 16, batch_first=False)
            self.head = torch.nn.Linear(16, 7)
        self.register_buffer("mean", torch.full((24,), 0.3))

    def forward(self, obs, h):
        """obs [B, 24], h [B, 1, 16] -> actions [B, 7], h [B, 1, 16]."""
        y, h_new = self.gru((obs - self.mean).unsqueeze(0), h.transpose(0, 1).contiguous())
        return self.head(y[0]), h_new.transpose(0, 1)


def test_recurrent_policy_exports_its_hidden_state(tmp_path):
    from simreal.deploy.controller import ControllerCfg, DeployController

    policy = _RecurrentPolicy()
    obs = torch.randn(40, 24)
    b = write_bundle(tmp_path / "rnn", policy, "franka-reach", obs)
    assert b.spec.recurrent_state == {"h": [1, 16]}
    assert [i.name for i in b.session.get_inputs()] == ["obs", "h_in"]
    assert [o.name for o in b.session.get_outputs()] == ["actions", "h_out"]
    # stepping the bundle equals stepping the torch policy; reset_state starts over
    h = torch.zeros(1, 1, 16)
    b.reset_state()
    for i in range(5):
        with torch.no_grad():
            ref, h = policy(obs[i : i + 1], h)
        np.testing.assert_allclose(b.act(obs[i].numpy()), ref[0].numpy(), atol=1e-5)
    b.reset_state()
    with torch.no_grad():
        first, _ = policy(obs[:1], torch.zeros(1, 1, 16))
    np.testing.assert_allclose(b.act(obs[0].numpy()), first[0].numpy(), atol=1e-5)
    assert load_bundle(tmp_path / "rnn").parity_max_abs_diff <= 1e-5
    # the controller zeroes the state whenever the policy (re)starts
    c = DeployController(b.spec, b.act, ControllerCfg(soft_start_s=0.0), reset_policy=b.reset_state)
    c.update_joint_state(b.spec.joint_names, b.spec.default_joint_pos, np.zeros(7), 0.0)
    b.act(obs[0].numpy())
    c.activate(0.0)
    c.tick(0.001)
    assert c.state == "running" and all(np.all(v == 0) for v in b.state.values())


def test_simreal_actor_exports_with_its_normalizer(tmp_path):
    """What simreal's runner hands to write_bundle: an rl actor, its normalizer trained, in eval mode."""
    from simreal.registry import make_env
    from simreal.rl.models.actor import GaussianActor

    env = make_env("franka-reach", num_envs=16, seed=0)
    obs = env.get_observations()
    actor = GaussianActor(obs, ["policy"], env.num_actions, [32, 32])
    actor.train()
    actor.update_normalizer(obs["policy"] * 3 + 1)
    actor.eval()
    b = write_bundle(tmp_path / "b", actor, "franka-reach", obs["policy"], provenance={"seed": 0})
    with torch.no_grad():
        ref = actor(obs["policy"]).numpy()
    np.testing.assert_allclose(b.act(obs["policy"].numpy()), ref, atol=1e-5)
    assert not np.allclose(actor.normalizer.mean.numpy(), 0)  # the normalizer did matter


def test_export_turns_a_training_run_into_a_bundle(tmp_path, capsys):
    from simreal.cli import main
    from simreal.rl.config import default_cfg
    from simreal.rl.evaluate import load_run
    from simreal.rl.runner import Runner

    cfg = default_cfg("franka-reach", "ppo",
                      {"num_envs": 16, "steps": 16 * 24 * 2, "actor": {"groups": ["policy"], "hidden": [32]}})
    Runner(cfg, run_dir=tmp_path / "run", log=False).train()
    assert main(["export", str(tmp_path / "run"), "--out", str(tmp_path / "bundle"), "--checkpoint", "latest"]) == 0
    b = load_bundle(tmp_path / "bundle")  # replays parity.npz through ONNX Runtime
    assert b.spec.provenance["algo"] == "ppo" and b.spec.joint_names[0] == "joint1"
    assert b.spec.provenance["training_steps"] == b.spec.provenance["planned_steps"] == 16 * 24 * 2  # the weights'
    _, env, algo = load_run(tmp_path / "run", "latest", num_envs=8)
    x = env.get_observations()["policy"]
    with torch.no_grad():
        ref = algo.actor(x).numpy()
    np.testing.assert_allclose(b.act(x.numpy()), ref, atol=1e-5)
    assert main(["export", str(tmp_path / "nowhere"), "--out", str(tmp_path / "b2")]) == 2
    assert "not a simreal run directory" in capsys.readouterr().err
