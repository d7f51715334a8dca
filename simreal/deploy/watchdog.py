"""Input freshness: each required input has a last-seen time; older than the timeout is stale."""

from __future__ import annotations


class Watchdog:
    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self.last_seen: dict[str, float] = {}

    def feed(self, name: str, now: float) -> None:
        self.last_seen[name] = now

    def age(self, name: str, now: float) -> float:
        """Seconds since ``name`` was last fed (inf if never)."""
        t = self.last_seen.get(name)
        return float("inf") if t is None else now - t

    def stale(self, names, now: float) -> list[str]:
        return [n for n in names if self.age(n, now) > self.timeout_s]
