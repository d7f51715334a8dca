"""Runner: checkpoints, resume, reproducibility, bad input, AACD, data-parallel."""

import shutil
import subprocess
import sys
import textwrap

import pytest
import torch

from simreal.rl.checkpoint import CheckpointError, checkpoint_path
from simreal.rl.config import apply_overrides, default_cfg
from simreal.rl.evaluate import Policy, evaluate, load_run
from simreal.rl.runner import Runner, TrainingDiverged

TINY = {"num_envs": 32, "steps": 32 * 24 * 2, "ppo": {"num_steps": 24},
        "actor": {"groups": ["policy"], "hidden": [32, 32]},
        "critic": {"groups": ["policy", "critic"], "hidden": [32, 32]}, "env": {"episode_length_s": 0.4}}


def tiny_cfg(**extra):
    merged = {**TINY, **extra}
    return default_cfg("franka-reach", "ppo", merged)


def _params(module):
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()])


def test_save_load_round_trip_gives_identical_actions(tmp_path):
    runner = Runner(tiny_cfg(), run_dir=tmp_path, log=False)
    runner.train()
    assert checkpoint_path(tmp_path).is_file() and (tmp_path / "config.yaml").is_file()
    _, env, algo = load_run(tmp_path, "latest", num_envs=32)
    obs = env.get_observations()
    runner.algo.actor.eval()
    with torch.no_grad():
        expected = runner.algo.actor(runner.algo.actor.inputs(obs))
        got = algo.actor(algo.actor.inputs(obs))
    assert torch.equal(expected, got)


def test_seeded_runs_reproduce():
    a = Runner(tiny_cfg(seed=3), log=False)
    a.train()
    b = Runner(tiny_cfg(seed=3), log=False)
    b.train()
    c = Runner(tiny_cfg(seed=4), log=False)
    c.train()
    assert torch.equal(_params(a.algo.actor), _params(b.algo.actor))
    assert not torch.equal(_params(a.algo.actor), _params(c.algo.actor))


def test_resume_continues_from_the_checkpoint(tmp_path):
    Runner(tiny_cfg(), run_dir=tmp_path, log=False).train()
    cfg = tiny_cfg()
    cfg.steps *= 2
    resumed = Runner(cfg, run_dir=tmp_path, resume=True, log=False)
    assert resumed.env_steps == 32 * 24 * 2 and resumed.iteration == 2
    metrics = resumed.train()
    assert metrics["iterations"] == 4


def test_corrupt_checkpoint_says_so(tmp_path):
    Runner(tiny_cfg(), run_dir=tmp_path, log=False).train()
    checkpoint_path(tmp_path).write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_run(tmp_path, "latest")


def test_incompatible_config_says_which(tmp_path):
    Runner(tiny_cfg(), run_dir=tmp_path, log=False).train()
    text = (tmp_path / "config.yaml").read_text().replace("- 32\n  - 32\n  activation", "- 64\n  - 64\n  activation", 1)
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(CheckpointError, match="does not fit this configuration"):
        load_run(tmp_path, "latest")
    with pytest.raises(CheckpointError, match="not a simreal run directory"):
        load_run(tmp_path / "nowhere")


def test_nan_loss_stops_with_checkpoint_and_last_good_iteration(tmp_path):
    cfg = tiny_cfg(steps=32 * 24 * 5)
    runner = Runner(cfg, run_dir=tmp_path, log=False)
    real_step = runner.env.step
    calls = {"n": 0}

    def poisoned_step(actions):
        obs, rew, dones, extras = real_step(actions)
        calls["n"] += 1
        if calls["n"] > 24 * 2:  # the third rollout gets a NaN reward
            rew = rew.clone()
            rew[0] = float("nan")
        return obs, rew, dones, extras

    runner.env.step = poisoned_step
    with pytest.raises(TrainingDiverged, match="Last good iteration: 2"):
        runner.train()
    state = torch.load(checkpoint_path(tmp_path), weights_only=False)
    assert state["iteration"] == 2
    assert all(torch.isfinite(v).all() for v in state["algo"]["actor"].values())


def test_overrides_are_checked():
    cfg = apply_overrides(tiny_cfg(), ["ppo.lr=3e-4", "actor.hidden=[16,16]"])
    assert cfg.ppo.lr == 3e-4 and cfg.actor.hidden == [16, 16]
    with pytest.raises(ValueError, match="no key 'lrr'"):
        apply_overrides(cfg, ["ppo.lrr=1"])
    with pytest.raises(ValueError, match="unknown algorithm"):
        default_cfg("franka-reach", "trpo")


@pytest.mark.parametrize("freeze", [True, False])
def test_aacd_starts_from_the_teacher_critic(tmp_path, freeze):
    teacher_dir = tmp_path / "teacher"
    Runner(tiny_cfg(), run_dir=teacher_dir, log=False).train()
    best = checkpoint_path(teacher_dir, "best")  # AACD takes the teacher's best checkpoint when there is one
    teacher_ckpt = best if best.is_file() else checkpoint_path(teacher_dir)
    teacher_critic = torch.load(teacher_ckpt, weights_only=False)["algo"]["critic"]
    student_cfg = default_cfg("franka-reach", "aacd",
                              {**TINY, "teacher": {"run_dir": str(teacher_dir), "freeze_critic": freeze},
                               "actor": {"groups": ["policy"], "hidden": [16]}})
    student = Runner(student_cfg, run_dir=tmp_path / "student", log=False)
    for k, v in teacher_critic.items():  # loaded
        assert torch.equal(student.algo.critic.state_dict()[k], v)
    student.train()
    after = student.algo.critic.state_dict()
    unchanged = all(torch.equal(after[k], v) for k, v in teacher_critic.items())
    assert unchanged == freeze


def test_aacd_says_when_the_teachers_critic_replaces_its_own(tmp_path, capsys):
    teacher_dir = tmp_path / "teacher"
    Runner(tiny_cfg(), run_dir=teacher_dir, log=False).train()
    cfg = default_cfg("franka-reach", "aacd", {**TINY, "teacher": {"run_dir": str(teacher_dir)},
                                               "critic": {"groups": ["policy"], "hidden": [8]}})
    student = Runner(cfg, run_dir=tmp_path / "student", log=False)
    err = capsys.readouterr().err
    assert "the critic is the teacher's" in err and "[8] -> [32, 32]" in err, err
    assert student.cfg.critic.hidden == [32, 32]
    assert "- 32" in (tmp_path / "student" / "config.yaml").read_text().split("critic:")[1].split("ppo:")[0]


def test_data_parallel_ranks_hold_identical_parameters(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(textwrap.dedent(f"""
        import torch, torch.distributed as dist
        from simreal.rl import distributed
        from simreal.rl.config import default_cfg
        from simreal.rl.runner import Runner
        rank, world = distributed.init_from_env("cpu")
        cfg = default_cfg("franka-reach", "ppo", {TINY!r})
        runner = Runner(cfg, run_dir={str(tmp_path / "run")!r}, rank=rank, log=False)
        runner.train()
        flat = torch.cat([p.detach().reshape(-1) for p in runner.algo.actor.parameters()] +
                         [b.reshape(-1) for b in runner.algo.actor.buffers()])
        gathered = [torch.zeros_like(flat) for _ in range(world)]
        dist.all_gather(gathered, flat)
        if rank == 0:
            assert world == 2
            assert torch.equal(gathered[0], gathered[1]), (gathered[0] - gathered[1]).abs().max()
            assert not torch.equal(runner.env.get_observations()["policy"][0], torch.zeros(1))
            print("IDENTICAL")
        distributed.shutdown()
    """))
    def launch():
        return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                               str(script)], capture_output=True, text=True, timeout=600,
                              env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})

    proc = launch()
    if proc.returncode != 0 and "IDENTICAL" in proc.stdout and "terminate called without an active exception" in (
            proc.stderr):
        # gloo's C++ teardown aborted a rank once in CI (2026-12-03) after training and the check had
        # passed; not reproduced in 12 local runs. One relaunch: a real failure fails twice.
        proc = launch()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "IDENTICAL" in proc.stdout
    assert (tmp_path / "run" / "checkpoints" / "latest.pt").is_file()


def test_eval_json_fields(tmp_path):
    Runner(tiny_cfg(), run_dir=tmp_path, log=False).train()
    result = evaluate(tmp_path, episodes=40, which="latest")
    assert result["episodes"] == 40 and 0.0 <= result["success_rate"] <= 1.0 and "mean_return" in result
    assert result["policy"] == "deterministic"
    sampled = evaluate(tmp_path, episodes=40, which="latest", stochastic=True)
    assert sampled["policy"] == "stochastic"
    assert evaluate(tmp_path, episodes=40, which="latest", stochastic=True) == sampled  # seeded: reproducible
    noisy = evaluate(tmp_path, episodes=40, which="latest", obs_noise={"policy": 1.0})
    assert noisy["obs_noise"] == {"policy": 1.0} and noisy["mean_return"] != result["mean_return"]
    assert evaluate(tmp_path, episodes=40, which="latest",
                    obs_noise={"policy": 0.0})["mean_return"] == result["mean_return"]
    with pytest.raises(ValueError, match="does not read.*policy"):
        evaluate(tmp_path, episodes=4, which="latest", obs_noise={"tactile": 0.5})


def test_obs_noise_option_names_its_format():
    from simreal.rl.cli import _group_floats

    assert _group_floats(["tactile_summary=0.5", "policy=0.01"]) == {"tactile_summary": 0.5, "policy": 0.01}
    for bad in ("tactile_summary", "=0.5", "tactile_summary=high", "policy=-1", "policy=nan"):
        with pytest.raises(ValueError, match="GROUP=STD with STD >= 0"):
            _group_floats([bad])


def test_stochastic_policy_samples_around_the_mean_with_the_actor_std(tmp_path):
    Runner(tiny_cfg(), run_dir=tmp_path, log=False).train()
    _, env, algo = load_run(tmp_path, "latest", num_envs=32)
    obs = env.get_observations()
    mean = Policy(algo.actor)(obs)
    assert torch.equal(mean, Policy(algo.actor)(obs))  # deterministic: the same every call
    sampled = Policy(algo.actor, torch.Generator().manual_seed(0))
    samples = torch.stack([sampled(obs) for _ in range(200)])
    torch.testing.assert_close(samples.mean(0), mean, atol=0.45, rtol=0)  # 6 standard errors at std 1
    torch.testing.assert_close(samples.std(0).mean(0), algo.actor.std, atol=0.1, rtol=0.1)


def test_dagger_student_imitates_the_teacher(tmp_path):
    teacher_dir = tmp_path / "teacher"
    Runner(tiny_cfg(steps=32 * 24 * 4), run_dir=teacher_dir, log=False).train()
    cfg = default_cfg("franka-reach", "distill",
                      {**TINY, "steps": 32 * 24 * 6, "teacher": {"run_dir": str(teacher_dir)},
                       "actor": {"groups": ["policy"], "hidden": [64, 64]}})
    runner = Runner(cfg, run_dir=tmp_path / "student", log=False)
    obs = runner.env.get_observations()
    with torch.no_grad():
        teacher_act = runner.algo.teacher(runner.algo.teacher.inputs(obs))
        before = (runner.algo.actor(runner.algo.actor.inputs(obs)) - teacher_act).pow(2).mean().item()
    runner.train()
    runner.algo.actor.eval()
    with torch.no_grad():
        after = (runner.algo.actor(runner.algo.actor.inputs(obs)) - teacher_act).pow(2).mean().item()
    assert after < 0.5 * before, (before, after)
    # the student stands alone: evaluating it needs no teacher
    shutil.rmtree(teacher_dir)
    assert evaluate(tmp_path / "student", episodes=8, which="latest")["episodes"] == 8


def test_learning_curves_get_a_reward_terms_panel(tmp_path):
    import json

    from simreal.rl.plot import curve_panels, plot_run

    rows = [{"env_steps": 100 * i, "episode/return": float(i), "train/entropy": 1.0,
             "episode/rew_reach": 0.5 * i, "episode/rew_grasp": 0.1 * i} for i in range(5)]
    panels = curve_panels(rows)
    assert panels[0] == ("return", ["episode/return"])
    assert panels[1] == ("reward terms", ["episode/rew_grasp", "episode/rew_reach"])
    assert ("entropy", ["train/entropy"]) in panels
    assert all(label != "reward terms" for label, _ in curve_panels([{"env_steps": 0, "episode/return": 1.0}]))
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert plot_run(tmp_path).stat().st_size > 10_000


def test_runs_compare_in_one_figure_with_seeds_sharing_a_colour(tmp_path):
    import json
    from argparse import Namespace

    from simreal.rl.cli import _plot
    from simreal.rl.plot import compare_runs, run_label

    assert [run_label(n) for n in ("peg-student-s2", "peg-student", "lift_seed10", "runs-s")] == \
        ["peg-student", "peg-student", "lift", "runs-s"]
    dirs = []
    for name, level in (("student", 0.5), ("student-s1", 0.6), ("teacher", 0.9)):
        d = tmp_path / name
        d.mkdir()
        rows = [{"env_steps": 100 * i, "episode/success": level * i / 20,
                 "episode/return": 10.0 * i} for i in range(20)]
        (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        dirs.append(d)
    assert compare_runs(dirs, tmp_path / "cmp.png").stat().st_size > 10_000
    with pytest.raises(ValueError, match="none of the runs logged"):
        compare_runs(dirs, tmp_path / "x.png", metrics=("train/alpha",))
    with pytest.raises(ValueError, match="needs --out"):
        _plot(Namespace(run_dir=[str(d) for d in dirs], out=None))


def test_ppo_max_lr_caps_the_adaptive_learning_rate(tmp_path):
    lrs = {}
    for cap in (None, 1e-4):
        cfg = tiny_cfg()
        cfg.ppo.lr = 1e-4
        if cap:
            cfg.ppo.max_lr = cap
        runner = Runner(cfg, run_dir=tmp_path / str(cap), log=False)
        runner.train()
        lrs[cap] = runner.algo.lr
    assert lrs[None] > 1e-4 and lrs[1e-4] <= 1e-4, lrs  # early KL is small: the rate grows up to its cap
