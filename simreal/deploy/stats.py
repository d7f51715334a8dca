"""Loop timing: tick intervals against the nominal period, missed deadlines, percentiles."""

from __future__ import annotations

from collections import deque

import numpy as np


def percentiles_ms(values, qs=(50, 99)) -> dict:
    """{"p50": ..., "p99": ...} in milliseconds of values in seconds (None if empty)."""
    if len(values) == 0:
        return {f"p{q}": None for q in qs}
    arr = np.asarray(values, dtype=np.float64) * 1e3
    return {f"p{q}": float(np.percentile(arr, q)) for q in qs}


class LoopStats:
    """Record each tick's start time; a deadline counts as missed when a tick comes more
    than half a period late (the slot it should have filled has passed) or when the work
    of a tick takes longer than the period."""

    def __init__(self, period_s: float, window: int = 20000):
        self.period_s = period_s
        self.intervals: deque[float] = deque(maxlen=window)
        self.work: deque[float] = deque(maxlen=window)
        self.ticks = 0
        self.missed_deadlines = 0
        self._last: float | None = None

    def tick(self, now: float) -> None:
        if self._last is not None:
            dt = now - self._last
            self.intervals.append(dt)
            if dt > 1.5 * self.period_s:
                self.missed_deadlines += 1
        self._last = now
        self.ticks += 1

    def work_done(self, seconds: float) -> None:
        self.work.append(seconds)
        if seconds > self.period_s:
            self.missed_deadlines += 1

    def reset_timing(self) -> None:
        """Forget the previous tick (after a pause, so the gap is not counted)."""
        self._last = None

    def summary(self) -> dict:
        intervals = np.asarray(self.intervals, dtype=np.float64)
        err = np.abs(intervals - self.period_s)
        pe = percentiles_ms(err)
        return {
            "period_ms": self.period_s * 1e3,
            "ticks": self.ticks,
            "period_mean_ms": float(intervals.mean() * 1e3) if len(intervals) else None,
            "period_err_p50_ms": pe["p50"],
            "period_err_p99_ms": pe["p99"],
            "period_err_p99_frac": (pe["p99"] / (self.period_s * 1e3)) if pe["p99"] is not None else None,
            "work_p99_ms": percentiles_ms(self.work)["p99"],
            "missed_deadlines": self.missed_deadlines,
        }
