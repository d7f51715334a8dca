"""The ``simreal`` console script, run as a user would."""

import json
import subprocess
import sys

import pytest


def simreal(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "simreal.cli", *args], capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"simreal {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_list_tasks():
    out = simreal("list-tasks").stdout
    assert "franka-reach" in out and "franka-lift" in out


def test_unknown_task_exits_with_valid_ids():
    proc = simreal("view", "franka-fly", "--out", "x.png", check=False)
    assert proc.returncode == 2
    assert "franka-reach" in proc.stderr and "franka-lift" in proc.stderr


def test_bench_sim_prints_json_last_line():
    proc = simreal("bench", "sim", "--task", "franka-reach", "--num-envs", "32", "--seconds", "0.4", "--rounds", "1")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("env_steps_per_s", "raw_env_steps_per_s", "ratio", "num_envs", "device"):
        assert key in result
    assert result["num_envs"] == 32 and result["env_steps_per_s"] > 0 and 0 < result["ratio"] < 2


def test_view_png_shows_the_scene(tmp_path):
    from PIL import Image

    out = tmp_path / "lift.png"
    simreal("view", "franka-lift", "--out", str(out), "--num-envs", "4", "--width", "160", "--height", "120")
    img = Image.open(out)
    assert img.size == (320, 240)  # 2 x 2 tiles
    lo, hi = img.convert("L").getextrema()
    assert hi - lo > 50  # not a blank frame


def test_view_mp4(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    out = tmp_path / "reach.mp4"
    simreal("view", "franka-reach", "--out", str(out), "--num-envs", "1", "--steps", "10", "--width", "160",
            "--height", "120")
    assert out.stat().st_size > 1000


def test_rollout_main_job_reports_what_happened(tmp_path):
    picture = tmp_path / "reach.png"
    proc = simreal("rollout", "franka-reach", "--num-envs", "16", "--steps", "160", "--picture", str(picture))
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["episodes"] == 16 and result["diverged"] == 0 and result["success_rate"] is not None
    assert "episodes ended" in proc.stdout and picture.stat().st_size > 1000
