"""Typed config fields: a value from YAML, ``--set`` or a caller checked against its
dataclass field's annotation and limits, refused with the key's name (``steps: -1``,
``actor.hidden: foo`` or ``episode_length_s: .nan`` never reach the code that uses them)."""

from __future__ import annotations

import dataclasses
import inspect
import math
import re

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


def is_section(value, ftype: str = "") -> bool:
    """A config dataclass (``actions``, ``scene``) or a table of them (``events``, ``rewards``; an
    empty one too, known by its annotation ``ftype``, e.g. ``dict[str, TerminationTerm]``)."""
    table = isinstance(value, dict) and (re.fullmatch(r"dict\[str, \w+(Term|Cfg)\]", ftype.strip()) is not None
                                         or (bool(value) and all(dataclasses.is_dataclass(v) for v in value.values())))
    return dataclasses.is_dataclass(value) or table


def merge_section(current, value, key: str):
    """``value`` (a nested mapping from ``--set env.a.b=...``) merged into the section ``current``:
    the fields it names change (checked against their annotations), the rest stay; in a table of
    terms, ``null`` removes a term (``env.events.joint_damping=null``) and a term's ``params``
    merge key by key (``env.events.joint_damping.params.scale=[1,1]``)."""
    if not isinstance(value, dict):
        raise InputError(f"config key {key!r} is a section; set its fields ({key}.<field>=...), got {value!r}")
    if not dataclasses.is_dataclass(current):  # a table of terms
        out = dict(current)
        for name, sub in value.items():
            if name not in current:
                raise InputError(f"config key {key!r} has no term {name!r}; its terms: {sorted(current)}")
            if sub is None:
                del out[name]
            else:
                out[name] = merge_section(current[name], sub, f"{key}.{name}")
        return out
    fields = {f.name: f for f in dataclasses.fields(current)}
    changes = {}
    for name, sub in value.items():
        where = f"{key}.{name}"
        if name not in fields:
            raise InputError(f"config key {where!r} is unknown; {key} has {sorted(fields)}")
        old = getattr(current, name)
        if is_section(old, str(fields[name].type)):
            changes[name] = merge_section(old, sub, where)
        elif callable(old):
            raise InputError(f"config key {where!r} is a function ({getattr(old, '__name__', old)}); it cannot be set "
                             f"from a config")
        elif re.fullmatch(r"list(\[\w+Cfg\])?", str(fields[name].type).strip()):
            raise InputError(f"config key {where!r} holds scene parts or hooks ({fields[name].type}); it cannot be "
                             f"set from a config")
        elif name == "params" and isinstance(old, dict) and callable(getattr(current, "func", None)):
            changes[name] = {**old, **_params(current.func, sub, where)}
        elif name == "mode" and callable(getattr(current, "func", None)) and sub not in ("startup", "reset"):
            raise InputError(f"config key {where!r} must be 'startup' or 'reset', got {sub!r}")
        else:
            changes[name] = coerce(sub, str(fields[name].type), where)
    limits = getattr(current, "LIMITS", {})
    for name, v in changes.items():
        if name in limits and v is not None:
            check_limits(v, limits[name], f"{key}.{name}")
    return dataclasses.replace(current, **changes)


def _params(func, value, key: str) -> dict:
    """A term's params override: a mapping of the names ``func`` takes after (env, ...)."""
    if not isinstance(value, dict):
        raise InputError(f"config key {key!r} needs a mapping of parameter names, got {value!r}")
    sig = inspect.signature(func)
    if not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        names = [n for n, p in sig.parameters.items()
                 if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and n not in ("env", "env_ids")]
        bad = sorted(set(value) - set(names))
        if bad:
            raise InputError(f"config key {key!r}: {func.__name__} takes no parameter {bad}; it takes {names}")
    scale = value.get("scale")
    if "scale" in value and not (isinstance(scale, (list, tuple)) and len(scale) == 2
                                 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in scale)
                                 and all(math.isfinite(x) and x > 0 for x in scale) and scale[0] <= scale[1]):
        raise InputError(f"config key {key}.scale must be [low, high], factors with 0 < low <= high, got {scale!r}")
    return value
