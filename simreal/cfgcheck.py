"""Typed config fields: a value from YAML, ``--set`` or a caller checked against its
dataclass field's annotation and limits, refused with the key's name (``steps: -1``,
``actor.hidden: foo`` or ``episode_length_s: .nan`` never reach the code that uses them)."""

from __future__ import annotations

import math

from simreal.errors import InputError

# annotations coerce() checks; any other type is left to the code that uses the value
SCALAR_TYPES = ("float", "int", "bool", "str", "dict", "float | None", "int | None", "str | None",
                "list[int]", "list[str]", "list[float]", "list[str] | None")


def coerce(value, ftype: str, key: str):
    """``value`` as a field of type ``ftype`` (the annotation's text), or an InputError."""
    options = [t.strip() for t in ftype.split("|")]
    if value is None and "None" in options:
        return None
    kind = options[0]
    if kind == "float":
        if isinstance(value, str):  # YAML 1.1 reads "3e-4" as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"config key {key!r} needs a finite number, got {value!r}")
        return float(value)
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"config key {key!r} needs an integer, got {value!r}")
        return value
    if kind in ("bool", "str", "dict"):
        if not isinstance(value, {"bool": bool, "str": str, "dict": dict}[kind]):
            raise InputError(f"config key {key!r} needs a {kind}, got {value!r}")
        return value
    if kind.startswith("list["):
        inner = kind[5:-1]
        if not isinstance(value, (list, tuple)):
            raise InputError(f"config key {key!r} needs a list of {inner}, e.g. [256, 128]; got {value!r}")
        return [coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value)]
    return value


def check_limits(value, bounds: tuple, key: str) -> None:
    low, high = bounds
    for v in value if isinstance(value, list) else [value]:
        if (low is not None and v < low) or (high is not None and v > high):
            rule = " and ".join(r for r in (low is not None and f">= {low}", high is not None and f"<= {high}") if r)
            raise InputError(f"config key {key!r} must be {rule}, got {v!r}")
