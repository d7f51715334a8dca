"""Loading never runs code: a checkpoint whose pickle carries a ``__reduce__`` payload is
refused by every verb that loads one, with a message naming the file, and the payload
does not run. Truncated and empty files are CheckpointErrors naming the file."""

import os
from pathlib import Path

import pytest
import torch
from test_rl_runner import tiny_cfg

from simreal.cli import main
from simreal.rl.checkpoint import CheckpointError, checkpoint_path, load_checkpoint, load_torch_file
from simreal.rl.runner import Runner


class Payload:
    """Unpickling this creates ``marker``: the stand-in for arbitrary code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def _poison(path: Path, marker: Path, state: dict) -> None:
    torch.save({**state, "infos": Payload(marker)}, path)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    Runner(tiny_cfg(), run_dir=run_dir, log=False).train()
    return run_dir


def test_the_payload_would_run_under_an_unrestricted_load(tmp_path):
    """The test's payload is real: plain pickle loading executes it."""
    marker = tmp_path / "ran"
    _poison(tmp_path / "x.pt", marker, {"format": 1})
    torch.load(tmp_path / "x.pt", weights_only=False)
    assert marker.exists()


def _poisoned_run(run: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of ``run`` whose checkpoints carry the payload (their real contents kept)."""
    import shutil

    copy = tmp_path / "poisoned"
    shutil.copytree(run, copy)
    marker = tmp_path / "payload_ran"
    state = torch.load(checkpoint_path(run), weights_only=True)
    for which in ("latest", "best"):
        _poison(checkpoint_path(copy, which), marker, state)
    return copy, marker


@pytest.mark.parametrize("verb", ["eval", "export", "play", "resume", "teacher-aacd", "teacher-distill"])
def test_every_verb_refuses_a_checkpoint_that_would_run_code(verb, run, tmp_path, capsys):
    poisoned, marker = _poisoned_run(run, tmp_path)
    argv = {
        "eval": ["eval", str(poisoned), "--episodes", "2"],
        "export": ["export", str(poisoned), "--out", str(tmp_path / "bundle")],
        "play": ["play", str(poisoned), "--out", str(tmp_path / "x.mp4")],
        "resume": ["train", "--resume", str(poisoned), "--steps", "4000"],
        "teacher-aacd": ["train", "franka-reach", "--algo", "aacd", "--teacher", str(poisoned), "--num-envs", "8",
                         "--steps", "64", "--run-dir", str(tmp_path / "student")],
        "teacher-distill": ["train", "franka-reach", "--algo", "distill", "--teacher", str(poisoned), "--num-envs", "8",
                            "--steps", "64", "--run-dir", str(tmp_path / "student")],
    }[verb]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "refusing to load checkpoint" in err and str(poisoned) in err and "could run code" in err
    assert not marker.exists(), f"{verb}: the pickle payload ran"


def test_import_rsl_rl_refuses_a_checkpoint_that_would_run_code(tmp_path, capsys):
    marker = tmp_path / "payload_ran"
    ckpt = tmp_path / "model_10.pt"
    _poison(ckpt, marker, {"actor_state_dict": {"mlp.0.weight": torch.zeros(7, 24), "mlp.0.bias": torch.zeros(7)},
                           "iter": 10})
    assert main(["import-rsl-rl", str(ckpt), "--task", "franka-reach", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "refusing to load rsl_rl checkpoint" in err and str(ckpt) in err
    assert not marker.exists()
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("content,message", [(b"", "is empty"), (b"PK\x03\x04trunc", "truncated, corrupt"),
                                             (b"\x80\x02garbage", "truncated, corrupt")])
def test_truncated_or_empty_files_name_the_file(content, message, tmp_path, capsys):
    path = tmp_path / "model_1.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_torch_file(path)
    with pytest.raises(CheckpointError, match=str(path)):
        load_checkpoint(path)
    assert main(["import-rsl-rl", str(path), "--task", "franka-reach", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err and "Traceback" not in err


def test_a_truncated_real_checkpoint_is_refused(run, tmp_path):
    data = checkpoint_path(run).read_bytes()
    path = tmp_path / "latest.pt"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated, corrupt or not a torch file"):
        load_checkpoint(path)
