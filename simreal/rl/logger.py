"""Training logs: a live progress line, TensorBoard scalars and metrics.jsonl (for plots)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def _fmt_steps(n: float) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}k"


def _fmt_time(s: float) -> str:
    s = int(max(s, 0))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class TrainLogger:
    def __init__(self, run_dir: Path | None, title: str, total_steps: int, every_s: float = 5.0, enabled: bool = True):
        self.run_dir, self.title, self.total = run_dir, title, total_steps
        self.every_s, self.enabled = every_s, enabled
        self.tty = sys.stderr.isatty()
        self._last_print = 0.0
        self.writer = None
        self._jsonl = None
        if run_dir is not None and enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(run_dir / "tb"))
            except ImportError:  # tensorboard is optional
                self.writer = None
            self._jsonl = open(run_dir / "metrics.jsonl", "a")

    def log(self, step: int, metrics: dict, steps_per_s: float, elapsed_s: float) -> None:
        if not self.enabled:
            return
        if self.writer is not None:
            for key, value in metrics.items():
                if isinstance(value, (int, float)):
                    self.writer.add_scalar(key, value, step)
        if self._jsonl is not None:
            self._jsonl.write(json.dumps({"env_steps": step, "time_s": round(elapsed_s, 2), **metrics}) + "\n")
            self._jsonl.flush()
        now = time.monotonic()
        if self.tty or now - self._last_print >= self.every_s or step >= self.total:
            self._last_print = now
            eta = (self.total - step) / max(steps_per_s, 1e-9)
            parts = [f"[{self.title}] {_fmt_steps(step)}/{_fmt_steps(self.total)} steps",
                     f"{steps_per_s / 1e3:.1f}k steps/s"]
            if "episode/return" in metrics:
                parts.append(f"return {metrics['episode/return']:.2f}")
            if "episode/success" in metrics:
                parts.append(f"success {metrics['episode/success']:.2f}")
            parts.append(f"elapsed {_fmt_time(elapsed_s)}  ETA {_fmt_time(eta)}")
            line = " | ".join(parts)
            print(("\r" + line + "\033[K") if self.tty else line, end="" if self.tty else "\n",
                  file=sys.stderr, flush=True)

    def message(self, text: str) -> None:
        if self.enabled:
            print(("\n" if self.tty else "") + text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty and self.enabled:
            print(file=sys.stderr)
        if self.writer is not None:
            self.writer.close()
        if self._jsonl is not None:
            self._jsonl.close()
