"""Files simreal ships beside its code: ``configs/`` (YAML defaults per algorithm, task and
ROS node) and ``assets/`` (project-made models such as the gel pad). In a checkout they are
the repository's top-level folders; a wheel carries the same folders as ``simreal/_data/``
(setup.py copies them there at build time). Nothing falls back silently: a missing folder
or file is a MissingFileError that says where it was looked for."""

from __future__ import annotations

from pathlib import Path

from simreal.errors import MissingFileError

PACKAGE = Path(__file__).resolve().parent
ROOTS = ("configs", "assets")


def _root(name: str) -> Path:
    installed = PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    checkout = PACKAGE.parent
    if (checkout / "setup.py").is_file() and (checkout / name).is_dir():
        return checkout / name
    raise MissingFileError(f"simreal's {name}/ folder is missing (looked in {installed} and {checkout / name}); "
                           "the install is incomplete: reinstall simreal from its wheel or checkout")


def data_path(root: str, *parts: str) -> Path:
    """``data_path("configs", "ros", "policy_node.yaml")``: a shipped file, which must exist."""
    if root not in ROOTS:
        raise ValueError(f"data root must be one of {ROOTS}, got {root!r}")
    path = _root(root).joinpath(*parts)
    if not path.exists():
        raise MissingFileError(f"simreal ships no {root}/{'/'.join(parts)} (looked at {path})")
    return path


def shipped_configs() -> list[str]:
    """Every shipped config file, relative to configs/ (``ppo/franka-lift.yaml``, ...)."""
    root = _root("configs")
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.yaml"))
