"""Pose inputs on the robot side, free of ROS: which topic each input reads, the static
frames a pose may arrive in (no tf2 wheels exist: transforms are parameters), and the
``name=value`` list parameters that name inputs and joints.

A pose input named ``target`` (a goal) reads ``target_topic``; any other (a perceived
object: ``cube``, ``drawer_handle``) reads ``/objects/<name>/pose``; ``input_topics``
overrides either. A ``frames`` entry ``"camera x y z qw qx qy qz"`` gives the pose of frame
``camera`` in the base frame; a pose stamped in another frame is refused.
"""

from __future__ import annotations

import math

import numpy as np

from simreal.errors import InputError


def parse_mapping(entries, what: str, value=str) -> dict:
    """``["a=b", ...]`` -> {"a": value("b")}; empty strings are skipped (ROS list parameters
    need a placeholder). InputError naming ``what`` and the bad entry."""
    out = {}
    for entry in entries or ():
        if entry == "":
            continue
        if not isinstance(entry, str) or entry.count("=") != 1:
            raise InputError(f"parameter {what}: entry {entry!r} must be 'name=value'")
        key, raw = (s.strip() for s in entry.split("="))
        if not key or not raw:
            raise InputError(f"parameter {what}: entry {entry!r} must be 'name=value'")
        if key in out:
            raise InputError(f"parameter {what} names {key!r} twice")
        try:
            out[key] = value(raw)
        except ValueError:
            raise InputError(f"parameter {what}: {entry!r}: {raw!r} is not a {value.__name__}") from None
    return out


def input_topics(inputs, target_topic: str, overrides: dict) -> dict[str, str]:
    unknown = sorted(set(overrides) - set(inputs))
    if unknown:
        raise InputError(f"parameter input_topics names {unknown}, which this bundle does not read; "
                         f"its pose inputs: {sorted(inputs)}")
    default = {name: target_topic if name == "target" else f"/objects/{name}/pose" for name in inputs}
    return {**default, **overrides}


def _rotmat(qw, qx, qy, qz) -> np.ndarray:
    n = math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
    w, x, y, z = qw / n, qx / n, qy / n, qz / n
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


class StaticFrames:
    """Moves positions stamped in known frames into the base frame. ``""`` and ``base``
    are the base frame itself."""

    def __init__(self, base: str, entries=()):
        if not isinstance(base, str) or not base:
            raise InputError(f"parameter base_frame must be a frame name, got {base!r}")
        self.base = base
        self.frames: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for entry in entries or ():
            if entry == "":
                continue
            parts = str(entry).split()
            try:
                nums = [float(x) for x in parts[1:]]
            except ValueError:
                nums = []
            if len(parts) != 8 or len(nums) != 7 or not all(math.isfinite(v) for v in nums):
                raise InputError(f"parameter frames: entry {entry!r} must be 'frame x y z qw qx qy qz' "
                                 f"(the frame's pose in {base}, m and a unit quaternion)")
            name = parts[0]
            if name == base or name in self.frames:
                raise InputError(f"parameter frames: frame {name!r} is the base frame or given twice")
            if abs(math.sqrt(sum(v * v for v in nums[3:])) - 1.0) > 1e-3:
                raise InputError(f"parameter frames: {name!r}'s quaternion {nums[3:]} is not of unit length")
            self.frames[name] = (np.array(nums[:3]), _rotmat(*nums[3:]))

    def known(self) -> list[str]:
        return [self.base, *self.frames]

    def to_base(self, frame_id: str, position) -> np.ndarray:
        p = np.asarray(position, dtype=np.float64)
        if frame_id in ("", self.base):
            return p
        if frame_id not in self.frames:
            raise InputError(f"frame_id {frame_id!r} is unknown; known frames: {self.known()} "
                             f"(add 'frame x y z qw qx qy qz' to the frames parameter)")
        t, r = self.frames[frame_id]
        return t + r @ p
