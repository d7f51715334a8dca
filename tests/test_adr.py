"""Automatic domain randomization: ranges grow where the policy succeeds at the boundary and
shrink back where it fails, within bounds; boundary episodes really run at the boundary;
bad settings are refused by key; a training run logs and plots the ranges; eval plays without
ADR, or on one fixed arm with --physics."""

import json

import pytest
import torch

from simreal.cli import main
from simreal.errors import InputError
from simreal.registry import make_env
from simreal.robots.physics import load_physics


def _env(**adr):
    return make_env("franka-reach", num_envs=16, seed=0, adr={"episodes": 4, "step": 0.1, **adr})


def _episodes(env, success: bool, rounds: int = 1):
    ids = torch.arange(env.num_envs)
    for _ in range(rounds):
        env.adr.record(ids, torch.full((env.num_envs,), success))
        env._reset_envs(ids)


def test_ranges_widen_on_success_and_narrow_on_failure_within_bounds():
    env = _env(boundary_prob=1.0, bounds=[0.75, 1.3])
    adr = env.adr
    assert adr.names == ["actuator_gains", "joint_damping"]  # the task's reset events with a scale range
    assert adr.ranges == {"actuator_gains": [1.0, 1.0], "joint_damping": [1.0, 1.0]}  # start at nominal
    _episodes(env, True, rounds=12)
    assert adr.ranges == {"actuator_gains": [0.75, 1.3], "joint_damping": [0.75, 1.3]}  # grew, stopped at bounds
    _episodes(env, False, rounds=30)
    assert adr.ranges == {"actuator_gains": [1.0, 1.0], "joint_damping": [1.0, 1.0]}  # back, never past nominal


def test_one_batch_of_episode_ends_moves_a_boundary_once_and_stale_episodes_do_not_count():
    """Time-outs end hundreds of episodes at once: those played at a boundary that has just
    moved say nothing about the new one; episodes running when a checkpoint's ranges come back
    were drawn before them."""
    env = make_env("franka-reach", num_envs=256, seed=0, adr={"episodes": 4, "step": 0.1, "boundary_prob": 1.0})
    env.adr.record(torch.arange(256), torch.ones(256, dtype=torch.bool))
    assert all(r == [0.9, 1.1] for r in env.adr.ranges.values()), env.adr.ranges  # one step each, not ~16
    assert env.adr.moves == 4
    state = env.adr.state_dict()
    state["ranges"]["joint_damping"] = [0.5, 2.0]
    env.adr.load_state_dict(state)
    env.adr.record(torch.arange(256), torch.ones(256, dtype=torch.bool))
    assert env.adr.ranges["joint_damping"] == [0.5, 2.0] and env.adr.moves == 4


@pytest.mark.parametrize("state", [[1], {"ranges": [1]}, {"outcomes": []}])
def test_a_malformed_adr_state_in_a_checkpoint_is_refused_by_name(state):
    env = _env()
    with pytest.raises(InputError, match="ADR state is malformed"):
        env.adr.load_state_dict(state)
    env.adr.load_state_dict({"outcomes": {"joint_damping/0": "xyz"}, "moves": "a"})  # bad entries are skipped
    assert env.adr.outcomes[("joint_damping", 0)] == [] and env.adr.moves == 0


def test_a_success_rate_between_the_thresholds_holds_the_range():
    env = _env(widen_at=0.9, narrow_at=0.1)
    env.adr.ranges["joint_damping"] = [0.5, 2.0]
    for k in range(16):
        env.adr._outcome("joint_damping", k % 2, success=k % 4 < 2)  # each boundary: half its episodes succeed
    assert env.adr.ranges["joint_damping"] == [0.5, 2.0] and env.adr.moves == 0
    for _ in range(4):
        env.adr._outcome("joint_damping", 1, success=True)
    assert env.adr.ranges["joint_damping"] == [0.5, 2.1]  # only the boundary that was tried moves


def test_boundary_episodes_run_at_the_boundary_and_the_rest_inside_the_range():
    env = _env(boundary_prob=0.5)
    env.adr.ranges["joint_damping"] = [0.5, 2.0]
    env.adr.ranges["actuator_gains"] = [0.9, 1.1]
    seen = set()
    for _ in range(6):
        env._reset_envs(torch.arange(16))
        factor = env.backend.param("dof_damping")[:, env.arm_dof_ids] / env.backend.nominal_param("dof_damping")[
            env.arm_dof_ids]
        for e in range(16):
            i, side = int(env.adr.param[e]), int(env.adr.side[e])
            if i >= 0 and env.adr.names[i] == "joint_damping":
                assert torch.allclose(factor[e], torch.tensor([0.5, 2.0][side], dtype=factor.dtype))
                seen.add(side)
            else:
                assert ((factor[e] >= 0.5 - 1e-9) & (factor[e] <= 2.0 + 1e-9)).all()
    assert seen == {0, 1}


@pytest.mark.parametrize("adr,message", [
    ({"events": ["joint_damping", "joint_damping"]}, "names an event twice"),
    ({"stepp": 0.1}, "unknown keys ['stepp']"),
    ({"events": ["reach_target"]}, "not reset events with a scale range"),
    ({"events": []}, "env.adr.events must be a non-empty list"),
    ({"step": float("nan")}, "env.adr.step must be a number"),
    ({"step": -0.1}, "env.adr.step must be a number"),
    ({"boundary_prob": 1.5}, "env.adr.boundary_prob must be a number"),
    ({"episodes": 0}, "env.adr.episodes must be an integer >= 1"),
    ({"widen_at": 0.3, "narrow_at": 0.5}, "must be below widen_at"),
    ({"bounds": [1.2, 3.0]}, "env.adr.bounds must be [low, high]"),
    ("yes", "env.adr must be a mapping"),
])
def test_bad_adr_settings_are_refused_by_key(adr, message):
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        make_env("franka-reach", num_envs=2, seed=0, adr=adr)


def test_a_training_run_logs_and_plots_the_ranges(tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "franka-reach", "--run-dir", str(run), "--steps", "512", "--num-envs", "16",
            "--set", "actor.hidden=[16]", "--set", "critic.hidden=[16]", "--set", "env.episode_length_s=0.2",
            "--set", "ppo.num_steps=8", "--set", "env.adr={episodes: 1, boundary_prob: 1.0, widen_at: 0.01, "
            "narrow_at: 0.0}"]
    assert main(argv) == 0
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    keys = {k for r in rows for k in r}
    assert {"episode/adr_joint_damping_low", "episode/adr_actuator_gains_high"} <= keys
    assert main(["plot", str(run)]) == 0 and (run / "learning_curves.png").stat().st_size > 0
    state = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)
    assert set(state["env"]["adr"]["ranges"]) == {"actuator_gains", "joint_damping"}

    # a resumed run continues from the checkpoint's ranges, not from nominal
    from simreal.rl.config import TrainCfg, from_dict, load_yaml
    from simreal.rl.runner import Runner

    state["env"]["adr"]["ranges"]["joint_damping"] = [0.6, 1.7]
    torch.save(state, run / "checkpoints" / "latest.pt")
    cfg = from_dict(TrainCfg, load_yaml(run / "config.yaml"))
    cfg.steps = 1024
    assert Runner(cfg, run_dir=run, resume=True, log=False).env.adr.ranges["joint_damping"] == [0.6, 1.7]

    # eval plays the task's own randomization (ADR is training's), or one fixed arm with --physics
    from simreal.rl.evaluate import load_run

    _, env, _ = load_run(run, "latest", num_envs=4)
    assert env.adr is None and "joint_damping" in env.cfg.events
    arm = tmp_path / "arm.yaml"
    arm.write_text("actuator_kp_scale: 0.5\nactuator_kv_scale: 2.0\njoint_damping: [3, 3, 3, 3, 3, 3, 3]\n")
    physics = load_physics(arm, 7)
    _, env, _ = load_run(run, "latest", num_envs=4, physics=physics)
    assert not {"joint_damping", "actuator_gains"} & set(env.cfg.events)
    env.reset()
    ctrl = env.arm_ctrl_ids.tolist()
    b = env.backend  # every env's arm has the file's physics; the model's nominal gains are the task's
    assert torch.allclose(b.param("actuator_gainprm")[:, ctrl, 0].double(),
                          b.nominal_param("actuator_gainprm")[ctrl, 0].expand(4, -1))
    assert torch.allclose(b.param("actuator_biasprm")[:, ctrl, 2].double(),
                          b.nominal_param("actuator_biasprm")[ctrl, 2].expand(4, -1))
    assert torch.allclose(b.nominal_param("actuator_gainprm")[ctrl, 0],
                          torch.tensor([4500.0, 4500, 3500, 3500, 2000, 2000, 2000], dtype=torch.float64) * 0.5)
    assert torch.allclose(b.param("dof_damping")[:, env.arm_dof_ids].double(),
                          torch.full((4, 7), 3.0, dtype=torch.float64))
    capsys.readouterr()
    assert main(["eval", str(run), "--episodes", "4", "--physics", str(arm)]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["physics"]["actuator_kp_scale"] == 0.5
    bad = tmp_path / "bad.yaml"
    bad.write_text("actuator_kp_scale: 0\n")
    assert main(["eval", str(run), "--episodes", "4", "--physics", str(bad)]) == 2
    assert "actuator_kp_scale must be above 0" in capsys.readouterr().err
