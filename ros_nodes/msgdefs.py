"""ROS 2 message definitions as MCAP ``ros2msg`` schemas (the text rosbag2 stores): the
type's .msg file followed by every nested type's, each under a ``MSG: pkg/Type`` line.
The .msg files come from the installed message packages' ``share/<pkg>/msg`` folders."""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

from simreal.errors import MissingFileError

PRIMITIVES = {"bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32",
              "int64", "uint64", "string", "wstring"}
SEPARATOR = "=" * 80


def _share_dirs() -> list[Path]:
    dirs = [Path(p) / "share" for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    dirs.append(Path(sys.prefix) / "share")
    return dirs


@lru_cache(maxsize=None)
def msg_text(pkg: str, name: str) -> str:
    for share in _share_dirs():
        path = share / pkg / "msg" / f"{name}.msg"
        if path.is_file():
            return path.read_text()
    raise MissingFileError(f"message definition {pkg}/msg/{name}.msg not found under {[str(d) for d in _share_dirs()]}")


def _nested(pkg: str, text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) < 2 or "=" in parts[1]:
            continue  # a constant
        base = parts[0].split("[", 1)[0].split("<=", 1)[0]
        if base in PRIMITIVES:
            continue
        if "/" in base:
            p, _, n = base.rpartition("/")
            out.append((p.split("/")[0], n))
        elif base == "Header":
            out.append(("std_msgs", "Header"))
        else:
            out.append((pkg, base))
    return out


def schema_text(type_name: str) -> str:
    """``schema_text("sensor_msgs/msg/JointState")``."""
    pkg, _, name = type_name.partition("/msg/")
    main = msg_text(pkg, name)
    seen, order, stack = set(), [], _nested(pkg, main)
    while stack:
        dep = stack.pop(0)
        if dep in seen:
            continue
        seen.add(dep)
        order.append(dep)
        stack.extend(_nested(dep[0], msg_text(*dep)))
    parts = [main.rstrip("\n")]
    for p, n in order:
        parts.append(f"{SEPARATOR}\nMSG: {p}/{n}\n{msg_text(p, n).rstrip(chr(10))}")
    return "\n".join(parts) + "\n"
