"""Start simreal's ROS verbs as separate processes (demo, benchmark, tests) and stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def ros_env(domain_id: int | None = None) -> dict:
    """Environment for a private ROS graph: its own domain id (default: from this pid),
    discovery on this host only, one math thread per process."""
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(domain_id if domain_id is not None else free_domain_id())
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("RCUTILS_LOGGING_BUFFERED_STREAM", "0")  # logs reach the file as they happen
    return env


def free_domain_id() -> int:
    """A domain id in 1..100 derived from the pid, so parallel runs rarely share one."""
    return 1 + os.getpid() % 100


def spawn(verb_args: list[str], env: dict, log: str | Path | None = None) -> subprocess.Popen:
    """``python -m simreal.cli <verb_args>`` in its own process group, output to ``log``."""
    out = open(log, "w") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "simreal.cli", *verb_args], env=env, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen, timeout: float = 5.0) -> int:
    """SIGINT (clean shutdown), then SIGKILL after ``timeout``; returns the exit code."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    return proc.returncode
