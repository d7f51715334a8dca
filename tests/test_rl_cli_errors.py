"""Training verbs refuse bad input before any work and never silently do nothing; a run's
metrics.jsonl ends with the run's last step, after a full run and after a short resume."""

import json

import pytest

from simreal.cli import main
from simreal.errors import InputError
from simreal.registry import task_cfg
from simreal.rl.config import TrainCfg, apply_overrides, default_cfg, from_dict

TINY = ["--num-envs", "8", "--set", "actor.hidden=[16]", "--set", "critic.hidden=[16]",
        "--set", "env.episode_length_s=0.4", "--set", "ppo.num_steps=8"]


def _run(argv, capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse refuses a bad number before anything runs
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("argv,message", [
    (["train", "franka-reach", "--steps", "-1"], "--steps: '-1': must be > 0"),
    (["train", "franka-reach", "--steps", "0"], "--steps: '0': must be > 0"),
    (["train", "franka-reach", "--num-envs", "0"], "--num-envs: '0': must be > 0"),
    (["eval", "RUN", "--episodes", "0"], "--episodes: '0': must be > 0"),
    (["play", "RUN", "--out", "x.mp4", "--steps", "-2"], "--steps: '-2': must be > 0"),
    (["train", "franka-reach", "--set", "actor.hidden=foo"], "'actor.hidden' needs a list of int"),
    (["train", "franka-reach", "--set", "actor.hidden=[0]"], "'actor.hidden' must be >= 1"),
    (["train", "franka-reach", "--set", "env.episode_length_s=nan"], "'env.episode_length_s' needs a finite number"),
    (["train", "franka-reach", "--set", "env.episode_length_s=-1"], "'env.episode_length_s' must be >= 1e-06"),
    (["train", "franka-reach", "--set", "env.decimation=2.5"], "'env.decimation' needs an integer"),
    (["train", "franka-reach", "--set", "ppo.lr=.inf"], "'ppo.lr' needs a finite number"),
    (["train", "franka-reach", "--set", "ppo.gamma=1.5"], "'ppo.gamma' must be >= 0.0 and <= 1.0"),
    (["train", "franka-reach", "--set", "sac.batch_size=true"], "'sac.batch_size' needs an integer"),
    (["train", "franka-reach", "--set", "ppo=3"], "config section 'ppo' must be a mapping"),
    (["bench", "offpolicy", "--seeds", "a,b"], "--seeds takes a comma list of integers"),
    (["bench", "offpolicy", "--set", "actor.foo=1"], "no key 'foo'"),
    (["bench", "offpolicy", "--set", "sac.lr_critic=1e-3", "--against", "sb3"], "SB3's SAC has one learning rate"),
])
def test_bad_training_input_is_refused_up_front(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(argv, capsys)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "runs").exists(), "a refused command left a run directory"


def test_run_dir_must_be_a_directory_and_new(tmp_path, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    code, _, err = _run(["train", "franka-reach", "--run-dir", str(a_file)], capsys)
    assert code == 2 and "is a file" in err and a_file.read_text() == "mine"

    run = tmp_path / "run"
    assert _run(["train", "franka-reach", "--run-dir", str(run), "--steps", "64", *TINY], capsys)[0] == 0
    before = (run / "config.yaml").read_text()
    code, _, err = _run(["train", "franka-reach", "--run-dir", str(run), "--steps", "64", *TINY], capsys)
    assert code == 2 and "already holds a run" in err and f"--resume {run}" in err
    assert (run / "config.yaml").read_text() == before

    code, _, err = _run(["train", "--resume", str(tmp_path / "nothing")], capsys)
    assert code == 2 and "not a run directory" in err


def _rows(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_metrics_end_at_the_last_step_of_a_run_and_of_a_resume(tmp_path, capsys):
    run = tmp_path / "run"
    # 100 steps on 8 envs: 13 vector steps, one update at 8; the last 5 steps never reach an update
    code, out, _ = _run(["train", "franka-reach", "--run-dir", str(run), "--steps", "100", *TINY], capsys)
    assert code == 0
    done = json.loads(out.strip().splitlines()[-1])["env_steps"]
    assert _rows(run)[-1]["env_steps"] == done == 104

    code, _, err = _run(["train", "--resume", str(run), "--steps", "50"], capsys)
    assert code == 2 and "trained 104 env steps already" in err, err
    code, out, _ = _run(["train", "--resume", str(run), "--steps", "120"], capsys)
    assert code == 0
    assert _rows(run)[-1]["env_steps"] == json.loads(out.strip().splitlines()[-1])["env_steps"] == 120
    assert [r["env_steps"] for r in _rows(run)] == sorted(r["env_steps"] for r in _rows(run))


def test_run_records_its_env_config_and_eval_warns_when_the_task_changed(tmp_path, capsys, monkeypatch):
    import yaml

    from simreal.rl import provenance

    run = tmp_path / "run"
    assert _run(["train", "franka-reach", "--run-dir", str(run), "--steps", "64", *TINY], capsys)[0] == 0
    record = yaml.safe_load((run / "provenance.yaml").read_text())
    assert record["env_cfg"]["episode_length_s"] == 0.4
    terms = record["env_cfg"]["rewards"]
    assert terms and all(":" in t["func"] for t in terms.values()), terms
    assert len(record["task_code_sha256"]) == 64

    code, out, err = _run(["eval", str(run), "--episodes", "2", "--checkpoint", "latest"], capsys)
    assert code == 0 and "changed since" not in err
    monkeypatch.setattr(provenance, "task_code_sha256", lambda task: "0" * 64)
    code, out, err = _run(["eval", str(run), "--episodes", "2", "--checkpoint", "latest"], capsys)
    assert code == 0 and "the code of task 'franka-reach' changed since" in err


def test_configs_are_checked_from_python_too():
    with pytest.raises(InputError, match="'steps' must be >= 1"):
        default_cfg("franka-reach", "ppo", {"steps": 0})
    with pytest.raises(InputError, match="'sac.tau' must be"):
        apply_overrides(default_cfg("gym:Pendulum-v1", "sac"), ["sac.tau=2"])
    with pytest.raises(InputError, match="'env.num_envs' needs an integer"):
        task_cfg("franka-reach", num_envs="many")
    cfg = from_dict(TrainCfg, {"task": "franka-reach", "ppo": {"lr": "3e-4"}, "num_envs": 8.0})
    assert cfg.ppo.lr == 3e-4 and cfg.num_envs == 8 and isinstance(cfg.num_envs, int)


def test_provenance_lists_small_arrays_and_names_big_ones():
    import numpy as np
    import torch

    from simreal.rl.provenance import plain

    out = plain({"offset": np.array([0.1, 0.2]), "grid": torch.zeros(64, 64, 64), "f": np.linalg.norm})
    assert out["offset"] == [0.1, 0.2] and out["grid"] == "<array shape [64, 64, 64] torch.float32>"
    assert out["f"].endswith(":norm")
