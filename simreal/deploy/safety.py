"""Safety filter between the policy and the arm: nothing non-finite, nothing beyond the
joint limits, nothing faster than the per-tick step bound; optional smoothing."""

from __future__ import annotations

import numpy as np

from simreal.errors import SimrealError


class SafetyConfigError(SimrealError):
    """Safety-filter parameters that would let an invalid command through."""


class SafetyFilter:
    """filter(command) -> safe command (float64), counting interventions by kind.

    Order: non-finite commands are replaced by the last safe command; optional
    exponential smoothing ``alpha * last + (1 - alpha) * cmd``; the change from the last
    safe command is bounded by ``max_step`` per joint; finally joint position limits.
    """

    KINDS = ("nonfinite", "step", "limits")

    def __init__(self, lower, upper, max_step, smoothing: float = 0.0):
        self.lower = np.asarray(lower, dtype=np.float64).reshape(-1)
        self.upper = np.asarray(upper, dtype=np.float64).reshape(-1)
        self.max_step = np.asarray(max_step, dtype=np.float64).reshape(-1)
        if not (self.lower.shape == self.upper.shape == self.max_step.shape) or self.lower.size == 0:
            raise SafetyConfigError(f"safety filter: lower, upper and max_step need one value per joint, got "
                                    f"{self.lower.size}, {self.upper.size} and {self.max_step.size}")
        if not (np.all(np.isfinite(self.lower)) and np.all(np.isfinite(self.upper))
                and np.all(self.lower < self.upper)):
            raise SafetyConfigError(f"safety filter: position limits must be finite with lower < upper, got "
                                    f"lower {self.lower.tolist()}, upper {self.upper.tolist()}")
        if not (np.all(np.isfinite(self.max_step)) and np.all(self.max_step > 0)):
            raise SafetyConfigError(f"safety filter: max_step must be finite and > 0 for every joint, got "
                                    f"{self.max_step.tolist()}")
        if not 0.0 <= smoothing < 1.0:  # also false for NaN
            raise SafetyConfigError(f"smoothing must be in [0, 1), got {smoothing}")
        self.smoothing = smoothing
        self.last: np.ndarray | None = None
        self.counts = {k: 0 for k in self.KINDS}

    def reset(self, last_command) -> None:
        """Bound the next command's step relative to ``last_command`` (e.g. the measured pose)."""
        last = np.asarray(last_command, dtype=np.float64)
        self.last = np.clip(last, self.lower, self.upper) if np.all(np.isfinite(last)) else None

    def filter(self, command) -> tuple[np.ndarray | None, list[str]]:
        """Returns (safe command or None if no safe command exists yet, interventions)."""
        cmd = np.asarray(command, dtype=np.float64)
        hits = []
        if not np.all(np.isfinite(cmd)):
            hits.append("nonfinite")
            self.counts["nonfinite"] += 1
            return (None if self.last is None else self.last.copy()), hits
        if self.last is not None:
            if self.smoothing > 0:
                cmd = self.smoothing * self.last + (1.0 - self.smoothing) * cmd
            step = cmd - self.last
            bounded = np.clip(step, -self.max_step, self.max_step)
            if np.any(bounded != step):
                hits.append("step")
                cmd = self.last + bounded
        clipped = np.clip(cmd, self.lower, self.upper)
        if np.any(clipped != cmd):
            hits.append("limits")
            cmd = clipped
        for h in hits:
            self.counts[h] += 1
        self.last = cmd
        return cmd.copy(), hits
