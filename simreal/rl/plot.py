"""Learning curves from a run's metrics.jsonl."""

from __future__ import annotations

import json
import re
from pathlib import Path

from simreal.errors import InputError, MissingFileError


def read_metrics(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise MissingFileError(f"{path} not found: is {run_dir} a run directory with at least one logged iteration?")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        raise InputError(f"{path} is empty: the run logged nothing yet")
    return rows


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    plt = _pyplot()
    run_dir = Path(run_dir)
    rows = read_metrics(run_dir)
    panels = curve_panels(rows)
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.2 * len(panels)), sharex=True, squeeze=False)
    for ax, (label, keys) in zip(axes[:, 0], panels):
        for key in keys:
            pts = [(r["env_steps"], r[key]) for r in rows if key in r]
            name = key.split("/rew_")[-1].removeprefix("episode/adr_")
            ax.plot([p[0] for p in pts], [p[1] for p in pts], lw=1.5, label=name)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if len(keys) > 1:
            ax.legend(fontsize=7, ncol=2, loc="upper left")
    axes[-1, 0].set_xlabel("env steps")
    wall = rows[-1].get("time_s")
    fig.suptitle(f"{run_dir.name}" + (f"  ({wall:.0f} s wall-clock)" if wall else ""))
    fig.tight_layout()
    out = Path(out) if out else run_dir / "learning_curves.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def curve_panels(rows: list[dict]) -> list[tuple[str, list[str]]]:
    """(y label, metric keys) per panel: the logged scalars worth a curve, then one panel with
    every reward term's per-episode sum (``episode/rew_*``), which shows what a shaped
    reward is being earned from."""
    panels = [(k.split("/")[-1], [k]) for k in ("episode/return", "episode/success", "train/value_loss",
                                                 "train/critic_loss", "train/entropy", "train/action_std",
                                                 "train/alpha") if any(k in r for r in rows)]
    terms = sorted({k for r in rows for k in r if k.startswith("episode/rew_")})
    if terms:
        panels.insert(1, ("reward terms", terms))
    adr = sorted({k for r in rows for k in r if k.startswith("episode/adr_")})
    if adr:  # the adaptive randomization's ranges (scale factors) over training
        panels.append(("ADR range (scale)", adr))
    return panels


def _trailing_mean(ys: list[float], k: int) -> list[float]:
    """Mean of each point and the up to k-1 points before it."""
    k = max(1, k)
    return [sum(ys[max(0, i - k + 1):i + 1]) / (i + 1 - max(0, i - k + 1)) for i in range(len(ys))]


def run_label(run_dir: str | Path) -> str:
    """A run's name without a trailing seed suffix (``-s1``, ``_seed2``): seeds of one
    setting share a label and a colour."""
    return re.sub(r"[-_](s|seed)\d+$", "", Path(run_dir).name)


def compare_runs(run_dirs: list[str | Path], out: str | Path,
                 metrics: tuple[str, ...] = ("episode/success", "episode/return"), smooth: int = 9) -> Path:
    """One figure, a panel per metric, a line per run against env steps (moving average of
    ``smooth`` logged points); runs that differ only by seed share a colour."""
    plt = _pyplot()
    runs = {Path(d): read_metrics(d) for d in run_dirs}
    logged = [m for m in metrics if any(m in r for rows in runs.values() for r in rows)]
    if not logged:
        raise InputError(f"none of the runs logged {list(metrics)}: nothing to compare")
    metrics = logged
    labels = list(dict.fromkeys(run_label(d) for d in runs))
    colours = {label: f"C{i % 10}" for i, label in enumerate(labels)}
    fig, axes = plt.subplots(len(metrics), 1, figsize=(7, 2.6 * len(metrics)), sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], metrics):
        drawn = set()
        for d, rows in runs.items():
            pts = [(r["env_steps"], r[key]) for r in rows if key in r]
            if not pts:
                continue
            label = run_label(d)
            ax.plot([p[0] for p in pts], _trailing_mean([p[1] for p in pts], smooth), lw=1.3, color=colours[label],
                    label=None if label in drawn else label)
            drawn.add(label)
        ax.set_ylabel(key.split("/")[-1])
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, loc="lower right")
    axes[-1, 0].set_xlabel("env steps")
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
