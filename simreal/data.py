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


def shipped_policies() -> list[str]:
    """The ready-made bundles under assets/policies/ (one per deployable task)."""
    root = _root("assets") / "policies"
    return sorted(p.name for p in root.iterdir() if (p / "deploy.yaml").is_file()) if root.is_dir() else []


def bundle_path(arg: str | Path) -> Path:
    """A bundle directory as a user names it: a path, or a shipped policy by task name or as
    ``assets/policies/<task>`` (which also works from a wheel install, outside the checkout)."""
    path = Path(arg)
    if path.exists():
        return path
    name = path.name
    if path.parent.as_posix() in (".", "assets/policies") and name in shipped_policies():
        return _root("assets") / "policies" / name
    return path
