"""Automatic domain randomization (ADR; OpenAI et al. 2019, "Solving Rubik's Cube with a
Robot Hand") over the ``scale`` ranges of a task's reset events.

Each adapted event (``randomize_joint_damping``, ``randomize_actuator_gains``, ...: any
reset event with a ``scale=(low, high)`` factor range) is one parameter. Its range starts
at the nominal model (scale 1: no randomization) and each boundary moves on its own:
a share ``boundary_prob`` of the episodes that start draw one parameter at one of its
boundaries (the others from their current ranges); once ``episodes`` such episodes have
ended at a boundary, their success rate decides: at or above ``widen_at`` the boundary
moves out by ``step``, at or below ``narrow_at`` it moves back in (never past nominal),
in between it stays. Ranges never leave ``bounds``. The task's own fixed range is not
used: ADR finds how wide the policy can take it.

Selected per run with ``--set 'env.adr={}'`` (defaults) or e.g.
``--set 'env.adr={events: [joint_damping], step: 0.1}'``. The ranges are logged with the
episode statistics (``episode/adr_<event>_low``/``_high``) and plotted by ``simreal plot``.
"""

from __future__ import annotations

import math

import torch

from simreal.errors import InputError

DEFAULTS = {"events": None, "step": 0.05, "boundary_prob": 0.5, "episodes": 20, "widen_at": 0.8,
            "narrow_at": 0.4, "bounds": (0.25, 4.0)}


def check_adr(raw, events: dict) -> dict:
    """``env.adr`` (a mapping of DEFAULTS' keys) -> the full settings; InputError naming the key."""
    if not isinstance(raw, dict):
        raise InputError(f"env.adr must be a mapping of {sorted(DEFAULTS)}, got {raw!r}")
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise InputError(f"env.adr: unknown keys {unknown}; valid: {sorted(DEFAULTS)}")
    cfg = {**DEFAULTS, **raw}
    eligible = [name for name, ev in events.items() if ev.mode == "reset" and _is_range(ev.params.get("scale"))]
    if cfg["events"] is None:
        cfg["events"] = eligible
    if (not isinstance(cfg["events"], (list, tuple)) or not cfg["events"]
            or not all(isinstance(e, str) for e in cfg["events"])):
        raise InputError(f"env.adr.events must be a non-empty list of event names; this task's adaptable events "
                         f"(reset events with a scale range): {eligible}")
    if len(set(cfg["events"])) != len(cfg["events"]):
        raise InputError(f"env.adr.events names an event twice: {cfg['events']}")
    bad = [e for e in cfg["events"] if e not in eligible]
    if bad:
        raise InputError(f"env.adr.events: {bad} are not reset events with a scale range in this task; "
                         f"adaptable: {eligible}")
    for key, interval in (("step", "(0, 10]"), ("boundary_prob", "(0, 1]"), ("widen_at", "(0, 1]"),
                          ("narrow_at", "[0, 1)")):
        v = cfg[key]
        number = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
        inside = number and ((0 <= v < 1) if key == "narrow_at" else (0 < v <= (10 if key == "step" else 1)))
        if not inside:
            raise InputError(f"env.adr.{key} must be a number in {interval}, got {v!r}")
    if isinstance(cfg["episodes"], bool) or not isinstance(cfg["episodes"], int) or cfg["episodes"] < 1:
        raise InputError(f"env.adr.episodes must be an integer >= 1, got {cfg['episodes']!r}")
    if cfg["narrow_at"] >= cfg["widen_at"]:
        raise InputError(f"env.adr.narrow_at ({cfg['narrow_at']}) must be below widen_at ({cfg['widen_at']})")
    b = cfg["bounds"]
    if not _is_range(b) or not 0.0 < b[0] <= 1.0 <= b[1]:
        raise InputError(f"env.adr.bounds must be [low, high] with 0 < low <= 1 <= high (scale factors), got {b!r}")
    cfg["bounds"] = (float(b[0]), float(b[1]))
    cfg["events"] = list(cfg["events"])
    return cfg


def _is_range(v) -> bool:
    return (isinstance(v, (list, tuple)) and len(v) == 2
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v)
            and v[0] <= v[1])


class ADR:
    """The ranges, the boundary draws of the running episodes and the boundary outcomes."""

    def __init__(self, env, raw: dict):
        self.env = env
        self.cfg = check_adr(raw, env.cfg.events)
        self.names = self.cfg["events"]
        self.ranges = {n: [1.0, 1.0] for n in self.names}
        # per env: which parameter (index into names, -1: none), side (0 low, 1 high) and value it was drawn at
        self.param = torch.full((env.num_envs,), -1, dtype=torch.long)
        self.side = torch.zeros(env.num_envs, dtype=torch.long)
        self.value = torch.zeros(env.num_envs, dtype=torch.float64)
        self.outcomes = {(n, s): [] for n in self.names for s in (0, 1)}
        self.moves = 0

    def apply_reset_events(self, env_ids: torch.Tensor) -> None:
        """The task's reset events for ``env_ids``, the adapted ones on ADR's ranges, then
        one boundary draw for a share of them."""
        env = self.env
        for name, event in env.cfg.events.items():
            if event.mode != "reset":
                continue
            params = {**event.params, "scale": tuple(self.ranges[name])} if name in self.ranges else event.params
            event.func(env, env_ids, **params)
        ids = env_ids.cpu()
        n = ids.numel()
        draw = torch.rand(n, generator=env.rng, device=env.device).cpu() < self.cfg["boundary_prob"]
        which = torch.randint(len(self.names), (n,), generator=env.rng, device=env.device).cpu()
        side = torch.randint(2, (n,), generator=env.rng, device=env.device).cpu()
        self.param[ids] = torch.where(draw, which, -1)
        self.side[ids] = side
        bounds = torch.tensor([self.ranges[n] for n in self.names], dtype=torch.float64)  # (P, 2)
        self.value[ids] = bounds[which, side]
        for i, name in enumerate(self.names):
            for s in (0, 1):
                sel = ids[draw & (which == i) & (side == s)]
                if sel.numel():
                    b = self.ranges[name][s]
                    event = env.cfg.events[name]
                    event.func(env, sel.to(env_ids.device), **{**event.params, "scale": (b, b)})

    def record(self, env_ids: torch.Tensor, success: torch.Tensor) -> None:
        """Episodes of ``env_ids`` ended with ``success`` (num_envs,): feed the boundary buffers."""
        ids = env_ids.cpu()
        ok = success.cpu()[ids]
        for k, e in enumerate(ids.tolist()):
            i = int(self.param[e])
            if i >= 0:
                name, side = self.names[i], int(self.side[e])
                # an episode played at a boundary that has moved since says nothing about the new one
                if float(self.value[e]) == self.ranges[name][side]:
                    self._outcome(name, side, bool(ok[k]))
            self.param[e] = -1

    def _outcome(self, name: str, side: int, success: bool) -> None:
        buf = self.outcomes[(name, side)]
        buf.append(success)
        if len(buf) < self.cfg["episodes"]:
            return
        rate = sum(buf) / len(buf)
        buf.clear()
        r, step, (lo, hi) = self.ranges[name], self.cfg["step"], self.cfg["bounds"]
        if rate >= self.cfg["widen_at"]:
            r[side] = max(lo, r[side] - step) if side == 0 else min(hi, r[side] + step)
        elif rate <= self.cfg["narrow_at"]:
            r[side] = min(1.0, r[side] + step) if side == 0 else max(1.0, r[side] - step)
        else:
            return
        r[side] = round(r[side], 9)  # k steps land on k * step, not on its float drift
        self.moves += 1

    def state_dict(self) -> dict:
        """The ranges and the boundary outcomes so far (plain lists: a checkpoint loads them without pickle)."""
        return {"ranges": {n: list(r) for n, r in self.ranges.items()}, "moves": self.moves,
                "outcomes": {f"{n}/{s}": list(v) for (n, s), v in self.outcomes.items()}}

    def load_state_dict(self, state: dict) -> None:
        """Ranges of the events this run adapts; an event the checkpoint lacks starts at nominal.
        Episodes running now were drawn before the ranges came back: none counts as a boundary one."""
        if not isinstance(state, dict) or not all(isinstance(state.get(k, {}), dict) for k in ("ranges", "outcomes")):
            raise InputError(f"the checkpoint's ADR state is malformed (expected ranges and outcomes mappings), "
                             f"got {type(state).__name__}")
        for name, r in state.get("ranges", {}).items():
            if name in self.ranges and _is_range(r):
                self.ranges[name] = [min(max(float(r[0]), self.cfg["bounds"][0]), 1.0),
                                     max(min(float(r[1]), self.cfg["bounds"][1]), 1.0)]
        for key, v in state.get("outcomes", {}).items():
            name, _, side = str(key).rpartition("/")
            if ((name, int(side) if side in ("0", "1") else -1) in self.outcomes and isinstance(v, list)
                    and all(isinstance(x, bool) for x in v)):
                self.outcomes[(name, int(side))] = list(v)
        moves = state.get("moves", self.moves)
        self.moves = moves if isinstance(moves, int) and not isinstance(moves, bool) else self.moves
        self.param[:] = -1

    def stats(self) -> dict[str, float]:
        """``adr_<event>_low`` / ``_high`` per adapted event."""
        out = {}
        for name, (low, high) in self.ranges.items():
            out[f"adr_{name}_low"], out[f"adr_{name}_high"] = low, high
        return out
