"""Learning curves from a run's metrics.jsonl."""

from __future__ import annotations

import json
from pathlib import Path


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {run_dir} a run directory with at least one logged iteration?")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        raise ValueError(f"{path} is empty: the run logged nothing yet")
    panels = curve_panels(rows)
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.2 * len(panels)), sharex=True, squeeze=False)
    for ax, (label, keys) in zip(axes[:, 0], panels):
        for key in keys:
            pts = [(r["env_steps"], r[key]) for r in rows if key in r]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], lw=1.5, label=key.split("/rew_")[-1])
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
    return panels
