"""What produced a run, written next to its checkpoints as ``provenance.yaml``: the task's
resolved environment config (every term as ``module:qualname`` with its parameters), the
simreal version and git commit, and a hash of the task's code. ``simreal eval`` and export
compare that hash with the code they run and warn when the task changed since training."""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import math
import subprocess
import sys
from pathlib import Path

import yaml

from simreal.errors import SimrealError

FILE = "provenance.yaml"
MAX_LISTED = 64  # arrays with more elements are recorded by shape and dtype


def plain(value):
    """``value`` as YAML-safe data: dataclasses as dicts, functions as ``module:qualname``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{value.__module__}:{value.__qualname__}"
    if hasattr(value, "tolist") and hasattr(value, "shape"):  # numpy / torch: small ones in full
        if math.prod(value.shape) <= MAX_LISTED:
            return value.tolist()
        return f"<array shape {list(value.shape)} {value.dtype}>"
    return repr(value)


def task_code_sha256(task: str) -> str | None:
    """sha256 over the source files of the package that defines ``task`` (None for gym: tasks)."""
    if task.startswith("gym:"):
        return None
    from simreal.registry import task_spec

    factory = task_spec(task).factory
    while isinstance(factory, functools.partial):
        factory = factory.func
    module = sys.modules[factory.__module__]
    folder = Path(module.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def git_commit() -> str | None:
    """The checkout's commit (``+dirty`` with uncommitted changes), None outside a git checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def write(run_dir: Path, cfg, env) -> None:
    """Write ``provenance.yaml`` for a run of ``cfg`` on ``env`` (a simreal or Gymnasium env)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        simreal_version = version("simreal")
    except PackageNotFoundError:
        simreal_version = None
    data = {"task": cfg.task, "simreal_version": simreal_version, "git_commit": git_commit(),
            "task_code_sha256": task_code_sha256(cfg.task), "env_cfg": plain(env.cfg)}
    (run_dir / FILE).write_text(yaml.safe_dump(data, sort_keys=False))


def warn_if_task_changed(run_dir: Path, task: str) -> str | None:
    """A warning (also printed to stderr) when the task's code differs from the code the run trained on."""
    path = Path(run_dir) / FILE
    if not path.is_file():
        return None
    try:
        recorded = (yaml.safe_load(path.read_text()) or {}).get("task_code_sha256")
    except yaml.YAMLError as err:
        raise SimrealError(f"{path} is not valid YAML ({err})") from None
    now = task_code_sha256(task)
    if recorded is None or now is None or recorded == now:
        return None
    message = (f"the code of task {task!r} changed since {run_dir} was trained (task_code_sha256 "
               f"{recorded[:12]} then, {now[:12]} now): results may not match training")
    print(f"warning: {message}", file=sys.stderr)
    return message
