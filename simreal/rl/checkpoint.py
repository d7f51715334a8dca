"""Checkpoints and run directories: atomic writes, and errors that say what is wrong."""

from __future__ import annotations

import dataclasses
import os
import pickle
import zipfile
from pathlib import Path

import torch

from simreal.errors import SimrealError

FORMAT = 1


class CheckpointError(SimrealError):
    """A checkpoint or run directory that cannot be used (corrupt, missing, incompatible, unsafe)."""


def load_torch_file(path: Path, what: str = "checkpoint") -> object:
    """``torch.load`` that never runs code: tensors and plain containers only
    (``weights_only=True``), every failure a CheckpointError naming the file.

    A pickle that asks for any other Python object (a ``__reduce__`` payload, a class
    instance) is refused before anything of it is built."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no {what} at {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{what} {path} is empty (0 bytes); was it copied or saved completely?")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        lines = [ln.strip() for ln in str(err).splitlines() if "GLOBAL" in ln or "global" in ln]
        if not lines:  # not a forbidden object: a broken pickle stream
            raise CheckpointError(f"{what} {path} is truncated, corrupt or not a torch file "
                                  f"(unreadable pickle data)") from None
        raise CheckpointError(
            f"refusing to load {what} {path}: it asks for Python objects beyond tensors and plain data, which "
            f"could run code when unpickled ({lines[0][:200]}). simreal loads only tensors, numbers, strings, "
            f"lists and dicts. If you trust the file, load it yourself and re-save only its state dicts"
        ) from None
    except (EOFError, RuntimeError, zipfile.BadZipFile, OSError, ValueError, KeyError, IndexError) as err:
        raise CheckpointError(f"{what} {path} is truncated, corrupt or not a torch file "
                              f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from None


def save_checkpoint(path: Path, algo, cfg, iteration: int, env_steps: int, metrics: dict,
                    env_state: dict | None = None) -> None:
    """Write atomically (temp file + rename): a crash mid-write never leaves a broken file.
    ``env_state``: what the env adapts during training (the ADR ranges), restored on resume."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"format": FORMAT, "iteration": iteration, "env_steps": env_steps, "metrics": metrics,
                "cfg": dataclasses.asdict(cfg), "algo": algo.state_dict(), "env": env_state or {}}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; a run directory holds checkpoints/latest.pt after training "
                              f"starts")
    state = load_torch_file(path)
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
