"""Checkpoints and run directories: atomic writes, and errors that say what is wrong."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch

FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint or run directory that cannot be used (corrupt, missing, incompatible)."""


def save_checkpoint(path: Path, algo, cfg, iteration: int, env_steps: int, metrics: dict) -> None:
    """Write atomically (temp file + rename): a crash mid-write never leaves a broken file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"format": FORMAT, "iteration": iteration, "env_steps": env_steps, "metrics": metrics,
                "cfg": dataclasses.asdict(cfg), "algo": algo.state_dict()}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; a run directory holds checkpoints/latest.pt after training starts")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # truncated zip, pickling garbage, wrong file
        raise CheckpointError(f"checkpoint {path} is corrupt or not a simreal checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(state, dict) or state.get("format") != FORMAT or "algo" not in state:
        raise CheckpointError(f"checkpoint {path} is not a simreal checkpoint of format {FORMAT}")
    return state


def restore(algo, state: dict, path: Path) -> None:
    """Load ``state`` into ``algo``, naming the parameter whose shape disagrees."""
    try:
        algo.load_state_dict(state["algo"])
    except (RuntimeError, KeyError) as err:
        raise CheckpointError(
            f"checkpoint {path} does not fit this configuration (different observation groups, task or network "
            f"sizes, or a model from an older simreal, e.g. the image encoder before keypoints?): "
            f"{str(err).splitlines()[0]} ... Train a new run or use the run's own config.yaml"
        ) from err


def checkpoint_path(run_dir: Path, which: str = "latest") -> Path:
    return Path(run_dir) / "checkpoints" / f"{which}.pt"


def existing_checkpoint(run_dir: Path, which: str = "best") -> Path:
    """``which`` checkpoint of a run; "best" falls back to "latest" before a best exists."""
    path = checkpoint_path(run_dir, which)
    return checkpoint_path(run_dir, "latest") if which == "best" and not path.is_file() else path
