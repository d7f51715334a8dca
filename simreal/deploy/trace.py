"""Observation traces: what a deployed policy saw, beside what was true.

The policy node (``trace_file``) records each policy tick's time, observation, action and
command; a task cell (``simreal sim-robot --task ... -p trace_file:=...``) records the actor's
observation as training's env computes it, without noise, every ``trace_period_s``. Both clocks
are the host's monotonic clock, so :func:`compare` lines the two up and says, per
observation term, how far the robot side's values are from the truth and how late they are
(the shift of the truth that fits best). Files are plain ``.npz`` (no pickle), rewritten
atomically at each episode boundary (the node's ``~/pause``, the cell's ``~/reset``) and at
exit, so a crash loses at most the episode under way.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

import numpy as np

from simreal.errors import InputError

MAX_ROWS = 200_000  # about 67 min at 50 Hz; older rows are dropped
LAGS_S = np.arange(0.0, 0.2001, 0.005)  # the shifts of the truth that compare tries


class Trace:
    """Rows of equal-length float vectors per field, stamped with monotonic seconds."""

    def __init__(self, fields: dict[str, int], max_rows: int = MAX_ROWS, meta: dict | None = None):
        self.fields = dict(fields)
        self.max_rows = int(max_rows)
        self.meta = {k: np.asarray(v) for k, v in (meta or {}).items()}  # saved beside the rows
        self.t: deque[float] = deque(maxlen=self.max_rows)  # the oldest rows go first
        self.rows: dict[str, deque[np.ndarray]] = {k: deque(maxlen=self.max_rows) for k in fields}

    def add(self, t: float, **values) -> None:
        self.t.append(float(t))
        for k, n in self.fields.items():
            v = values.get(k)
            self.rows[k].append(np.full(n, np.nan, np.float32) if v is None else
                                np.asarray(v, dtype=np.float32).reshape(n))

    def copy(self) -> "Trace":
        out = Trace(self.fields, self.max_rows, self.meta)
        out.t.extend(self.t)
        for k, r in self.rows.items():
            out.rows[k].extend(r)
        return out

    def __len__(self) -> int:
        return len(self.t)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"t": np.asarray(self.t, dtype=np.float64)}
        for k, n in self.fields.items():
            out[k] = np.stack(self.rows[k]) if self.rows[k] else np.zeros((0, n), np.float32)
        return out

    def save(self, path: str | Path) -> None:
        """Atomic: a reader never sees a half-written file."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez(f, **self.arrays(), **self.meta)
        os.replace(tmp, path)


def term_layout(spec) -> list[tuple[str, int, int]]:
    """(term name, start, end) of each observation term in the policy's input vector."""
    out, i = [], 0
    for t in spec.observations:
        out.append((t.name, i, i + t.total_dim))
        i += t.total_dim
    return out


def load(path: str | Path) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no trace file {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as err:
        raise InputError(f"{path} is not a trace (.npz of arrays): {type(err).__name__}: {err}") from None
    if "t" not in data or "obs" not in data or len(data["t"]) != len(data["obs"]):
        raise InputError(f"{path} is not a simreal trace: it needs arrays 't' and 'obs' of equal length")
    return data


def _at(t_truth: np.ndarray, truth: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The latest truth row at or before each time (and which times have one)."""
    i = np.searchsorted(t_truth, t, side="right") - 1
    ok = i >= 0
    return truth[np.clip(i, 0, None)], ok


def compare(policy: dict, cell: dict, layout: list[tuple[str, int, int]], skip: tuple[str, ...] = ("last_action",)
            ) -> list[dict]:
    """Per term: mean and 99th-percentile absolute gap of the robot side's values against the
    truth at the same moment, the best-fitting lag (the truth that many ms earlier fits
    best) and the gap at that lag, in the term's units (after its scale)."""
    t, obs = policy["t"], policy["obs"].astype(np.float64)
    tc, truth = cell["t"], cell["obs"].astype(np.float64)
    if obs.shape[1] != truth.shape[1]:
        raise InputError(f"the traces do not match: the policy's observations have {obs.shape[1]} values, the "
                         f"cell's {truth.shape[1]}; were they recorded for the same bundle and groups?")
    inside = (t >= tc[0]) & (t <= tc[-1]) if len(tc) else np.zeros(len(t), bool)
    t, obs = t[inside], obs[inside]
    if len(t) == 0:
        raise InputError("the traces do not overlap in time: record both in the same run")
    rows = []
    for name, a, b in layout:
        if name in skip:
            continue
        gaps = []
        for lag in LAGS_S:
            ref, ok = _at(tc, truth[:, a:b], t - lag)
            gaps.append(np.abs(obs[ok, a:b] - ref[ok]))
        means = [g.mean() if g.size else np.inf for g in gaps]
        best = int(np.argmin(means))
        g0 = gaps[0]
        rows.append({"term": name, "mean_gap": float(g0.mean()), "p99_gap": float(np.percentile(g0, 99)),
                     "truth_scale": float(np.abs(truth[:, a:b]).mean()), "lag_ms": float(LAGS_S[best] * 1e3),
                     "gap_at_lag": float(means[best])})
    return rows


def format_table(rows: list[dict]) -> str:
    lines = [f"{'term':<16}{'mean |gap|':>12}{'p99 |gap|':>12}{'mean |truth|':>14}{'best lag ms':>13}"
             f"{'gap at lag':>12}"]
    for r in rows:
        lines.append(f"{r['term']:<16}{r['mean_gap']:>12.4g}{r['p99_gap']:>12.4g}{r['truth_scale']:>14.4g}"
                     f"{r['lag_ms']:>13.0f}{r['gap_at_lag']:>12.4g}")
    return "\n".join(lines)


def plot(policy: dict, cell: dict, layout, out: str | Path, window_s: float = 10.0) -> Path:
    """Each term's values, robot side against truth, over the first ``window_s`` of overlap."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = max(policy["t"][0], cell["t"][0])
    sel_p = (policy["t"] >= t0) & (policy["t"] <= t0 + window_s)
    sel_c = (cell["t"] >= t0) & (cell["t"] <= t0 + window_s)
    fig, axes = plt.subplots(len(layout), 1, figsize=(9, 1.8 * len(layout)), sharex=True, squeeze=False)
    for ax, (name, a, b) in zip(axes[:, 0], layout):
        for j in range(a, b):
            line, = ax.plot(cell["t"][sel_c] - t0, cell["obs"][sel_c, j], lw=1.0)
            ax.plot(policy["t"][sel_p] - t0, policy["obs"][sel_p, j], ".", ms=2, color=line.get_color())
        ax.set_ylabel(name, fontsize=8)
    axes[0, 0].set_title("lines: truth (task cell); dots: what the policy saw")
    axes[-1, 0].set_xlabel("s")
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
