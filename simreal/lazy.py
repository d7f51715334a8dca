"""A module imported on first attribute use. The action modules hold both sides of an
action type; the robot side imports them for their NumPy maths only and must not load
torch (the policy node runs on ONNX Runtime), so their torch terms reach torch through
``torch = LazyModule("torch")``."""

from __future__ import annotations

import importlib


class LazyModule:
    def __init__(self, name: str):
        self._lazy_name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._lazy_name), attr)
