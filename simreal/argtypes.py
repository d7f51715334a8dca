"""argparse types that refuse a bad number up front, with the flag's rule in the message
(``--steps -3`` fails before anything runs instead of reporting a negative speed)."""

from __future__ import annotations

import argparse
import math


def _make(kind, rule: str, ok):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{text!r}: must be {rule}")
        return value
    parse.__name__ = f"{kind.__name__} {rule}"
    return parse


positive_int = _make(int, "> 0", lambda v: v > 0)
nonneg_int = _make(int, ">= 0", lambda v: v >= 0)
positive_float = _make(float, "finite and > 0", lambda v: math.isfinite(v) and v > 0)
nonneg_float = _make(float, "finite and >= 0", lambda v: math.isfinite(v) and v >= 0)
finite_float = _make(float, "finite", math.isfinite)
