"""Recurrent (GRU/LSTM) PPO actors: the update's sequence forward equals the rollout's
step-by-step forward, memory solves what an MLP cannot, checkpoints and export carry it."""

import numpy as np
import pytest
import torch
from tensordict import TensorDict

from simreal.rl.config import default_cfg
from simreal.rl.evaluate import Policy, evaluate, load_run
from simreal.rl.factory import build_algorithm
from simreal.rl.runner import Runner


class CueRecallEnv:
    """A cue (+-1) is shown at an episode's first step only; after 0-2 blank steps a query
    flag asks for it and the episode ends. Reward cue * clip(action) at the query; success
    when its sign matches. The actor sees [cue shown now, query flag], so at the query both
    cues look the same to a memoryless policy (chance: 1/2); the critic also sees the cue."""

    def __init__(self, num_envs: int = 64, seed: int = 0, max_delay: int = 2):
        self.num_envs, self.num_actions, self.device = num_envs, 1, torch.device("cpu")
        self.max_episode_length = max_delay + 2
        self.max_delay = max_delay
        self.gen = torch.Generator().manual_seed(seed)
        self.cue = torch.zeros(num_envs)
        self.t = torch.zeros(num_envs, dtype=torch.long)
        self.length = torch.zeros(num_envs, dtype=torch.long)
        self._reset(torch.ones(num_envs, dtype=torch.bool))

    def _reset(self, mask: torch.Tensor) -> None:
        n = int(mask.sum())
        self.cue[mask] = torch.randint(0, 2, (n,), generator=self.gen).float() * 2 - 1
        self.length[mask] = torch.randint(2, self.max_delay + 3, (n,), generator=self.gen)
        self.t[mask] = 0

    def get_observations(self) -> TensorDict:
        shown = torch.where(self.t == 0, self.cue, torch.zeros_like(self.cue))
        query = (self.t == self.length - 1).float()
        policy = torch.stack([shown, query], dim=-1)
        critic = torch.stack([self.cue, query], dim=-1)
        return TensorDict({"policy": policy, "critic": critic}, batch_size=[self.num_envs])

    def step(self, actions: torch.Tensor):
        query = self.t == self.length - 1
        a = actions[:, 0].clamp(-1.0, 1.0)
        rewards = torch.where(query, self.cue * a, torch.zeros_like(a))
        extras = {"time_outs": torch.zeros_like(query), "episode_success": query & (a * self.cue > 0)}
        self.t += 1
        self._reset(query)
        return self.get_observations(), rewards, query, extras


def cue_cfg(rnn_type, steps=64 * 16 * 2, **ppo):
    actor = {"groups": ["policy"], "hidden": [32], "rnn_type": rnn_type, "rnn_hidden": 32}
    return default_cfg("cue-recall", "ppo", {
        "num_envs": 64, "steps": steps, "seed": 0, "actor": actor,
        "critic": {"groups": ["policy", "critic"], "hidden": [32]},
        "ppo": {"num_steps": 16, "minibatches": 4, "epochs": 5, "entropy_coef": 0.0, **ppo},
    })


def collect(algo, env, obs, steps):
    for _ in range(steps):
        next_obs, rewards, dones, extras = env.step(algo.act(obs))
        algo.process_step(rewards, dones, extras, next_obs)
        obs = next_obs
    return obs


@pytest.mark.parametrize("rnn_type", ["gru", "lstm"])
def test_update_sequence_forward_equals_rollout_steps(rnn_type):
    torch.manual_seed(0)
    env = CueRecallEnv(num_envs=16)
    cfg = cue_cfg(rnn_type)
    algo = build_algorithm(cfg, env, env.get_observations())
    actor, st = algo.actor, algo.storage
    torch.nn.init.normal_(actor.mean_net[-1].weight)  # large outputs, so a wrong hidden state shows
    obs = collect(algo, env, env.get_observations(), 16)  # normalizer statistics, a non-zero carried state
    st.clear()
    actor.eval()  # freeze the normalizer: the rollout and the re-run must see the same features
    collect(algo, env, obs, 16)
    assert st.dones[:-1].sum() >= 16, "episodes must end mid-rollout"
    assert all(h.abs().sum() > 0 for h in st.hidden0)

    def log_prob(mean):
        return torch.distributions.Normal(mean, actor.std).log_prob(st.actions).sum(-1)

    with torch.no_grad():
        seq = log_prob(actor.unroll(st.actor_in, st.hidden0, st.dones))
        no_resets = log_prob(actor.unroll(st.actor_in, st.hidden0, torch.zeros_like(st.dones)))
        zero_start = log_prob(actor.unroll(st.actor_in, actor.initial_state(16), st.dones))
        torch.testing.assert_close(seq, st.log_prob, atol=1e-5, rtol=0)
        # the comparison can fail: ignoring episode ends or the rollout's start state changes log-probs
        assert (no_resets - st.log_prob).abs().max() > 1e-2
        assert (zero_start - st.log_prob).abs().max() > 1e-2
        # the update's minibatches (envs split, time-major) give the same log-probs
        seen = 0
        for mb in st.sequence_minibatches(4, 1, algo.generator):
            got = algo.minibatch_distribution(mb).log_prob(mb["actions"]).sum(-1)
            torch.testing.assert_close(got, mb["log_prob"], atol=1e-5, rtol=0)
            seen += got.numel()
        assert seen == st.log_prob.numel()


def success_rate(actor, episodes=512) -> float:
    env = CueRecallEnv(num_envs=episodes, seed=123)
    act = Policy(actor)
    obs, done_once, success = env.get_observations(), torch.zeros(episodes, dtype=torch.bool), []
    while not done_once.all():
        obs, _, dones, extras = env.step(act(obs))
        act.reset(dones)
        first = dones & ~done_once
        success.append(extras["episode_success"][first])
        done_once |= first
    return torch.cat(success).float().mean().item()


def test_gru_remembers_the_cue_an_mlp_cannot():
    scores = {}
    for rnn_type in ("gru", None):
        runner = Runner(cue_cfg(rnn_type, steps=64 * 16 * 30), env=CueRecallEnv(), log=False)
        runner.train()
        runner.algo.actor.eval()
        scores[rnn_type] = success_rate(runner.algo.actor)
    assert scores["gru"] >= 0.9, scores
    assert scores[None] <= 0.65, scores  # the query looks the same for both cues: chance


def test_only_ppo_and_aacd_take_recurrent_actors():
    env = CueRecallEnv(num_envs=4)
    for algo in ("sac", "dsac", "distill"):
        cfg = default_cfg("cue-recall", algo, {"actor": {"groups": ["policy"], "rnn_type": "gru"}})
        with pytest.raises(ValueError, match="only PPO and AACD support recurrent actors"):
            build_algorithm(cfg, env, env.get_observations())
    cfg = default_cfg("cue-recall", "ppo", {"actor": {"groups": ["policy"], "rnn_type": "rnn"}})
    with pytest.raises(ValueError, match="unknown rnn_type 'rnn'"):
        build_algorithm(cfg, env, env.get_observations())


TINY = {"num_envs": 32, "steps": 32 * 24 * 2, "ppo": {"num_steps": 24},
        "critic": {"groups": ["policy", "critic"], "hidden": [32, 32]}, "env": {"episode_length_s": 0.4}}


@pytest.fixture(scope="module", params=["gru", "lstm"])
def recurrent_run(request, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp(f"run_{request.param}")
    actor = {"groups": ["policy"], "hidden": [32], "rnn_type": request.param, "rnn_hidden": 16}
    runner = Runner(default_cfg("franka-reach", "ppo", {**TINY, "actor": actor}), run_dir=run_dir, log=False)
    runner.train()
    runner.algo.actor.eval()
    return run_dir, runner


def test_save_load_round_trip_gives_identical_actions(recurrent_run):
    run_dir, runner = recurrent_run
    _, env, algo = load_run(run_dir, "latest", num_envs=32)
    trained, loaded = Policy(runner.algo.actor), Policy(algo.actor)
    obs = env.get_observations()
    for _ in range(12):  # episodes of 0.4 s end on the way: the state resets with them
        expected, got = trained(obs), loaded(obs)
        assert torch.equal(expected, got)
        obs, _, dones, _ = env.step(got)
        trained.reset(dones)
        loaded.reset(dones)
    assert loaded.state[0].abs().sum() > 0
    result = evaluate(run_dir, episodes=16, which="latest")
    assert result["episodes"] == 16 and 0.0 <= result["success_rate"] <= 1.0


def test_recurrent_policy_samples_reproducibly(recurrent_run):
    run_dir, _ = recurrent_run
    _, env, algo = load_run(run_dir, "latest", num_envs=8)
    obs = env.get_observations()
    mean = Policy(algo.actor)(obs)
    first, again = (Policy(algo.actor, torch.Generator().manual_seed(3)) for _ in range(2))
    sample = first(obs)
    assert torch.equal(sample, again(obs)) and not torch.allclose(sample, mean)
    assert first.state[0].abs().sum() > 0  # the hidden state moves on as it does deterministically


def test_export_carries_the_hidden_state(recurrent_run, tmp_path):
    from simreal.export.bundle import load_bundle
    from simreal.export.from_run import export_run

    run_dir, runner = recurrent_run
    actor = runner.algo.actor
    bundle = export_run(run_dir, tmp_path / "bundle", which="latest")
    names = list(actor.recurrent_state_shapes)
    assert bundle.spec.recurrent_state == {k: [1, 16] for k in names}
    assert [i.name for i in bundle.session.get_inputs()] == ["obs"] + [f"{k}_in" for k in names]
    assert [o.name for o in bundle.session.get_outputs()] == ["actions"] + [f"{k}_out" for k in names]
    loaded = load_bundle(tmp_path / "bundle")
    assert loaded.parity_max_abs_diff <= 1e-5
    # the bundle steps like the trained actor, carrying its state from call to call
    with np.load(tmp_path / "bundle" / "parity.npz") as data:
        obs = torch.as_tensor(data["obs"])
    assert obs.shape[0] > 3
    state = actor.initial_state(1)
    ts = torch.jit.load(str(tmp_path / "bundle" / "policy.pt"))
    ts_state = actor.initial_state(1)
    loaded.reset_state()
    for x in obs:
        with torch.no_grad():
            ref, state = actor.step(x[None], state)
            ts_out = ts(x[None], *ts_state)
        ts_state = ts_out[1:]
        np.testing.assert_allclose(loaded.act(x.numpy()), ref[0].numpy(), atol=1e-5)
        np.testing.assert_allclose(ts_out[0][0].numpy(), ref[0].numpy(), atol=1e-5)
    assert np.abs(loaded.state["h"]).sum() > 0
    from simreal.deploy.bench import bench_inference

    assert bench_inference(tmp_path / "bundle", iterations=20, warmup=2)["iterations"] == 20  # feeds the state too
