"""`simreal tactile press|calibrate` and `simreal bench tactile` through the CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("taxim")


def run(args, cache, timeout=600):
    env = {**os.environ, "SIMREAL_CACHE": str(cache)}
    out = subprocess.run([sys.executable, "-m", "simreal.cli", *args], capture_output=True, text=True, env=env,
                         timeout=timeout)
    return out


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("simreal_cache")


def test_press_writes_npz_and_png(tmp_path, cache):
    out = run(["tactile", "press", "--sensor", "gelsight_r15", "--indenter", "sphere", "--size-mm", "4",
               "--depth-mm", "0.5", "--slide-mm", "0.3", "--width", "320", "--taxels", "12x16",
               "--out", str(tmp_path / "p.npz"),
               "--png", str(tmp_path / "p.png")], cache)
    assert out.returncode == 0, out.stderr
    data = np.load(tmp_path / "p.npz")
    assert data["depth_mm"].shape == (240, 320) and data["rgb"].shape == (240, 320, 3)
    assert data["rgb"].dtype == np.uint8 and data["forces"].shape == (12, 16, 3)
    assert float(data["mm_per_px"]) == pytest.approx(0.059, rel=1e-6)
    assert data["forces"][..., 0].sum() > 0 and data["forces"][..., 1].sum() > 0  # slid along +x
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_press_bad_inputs(tmp_path, cache):
    out = run(["tactile", "press", "--indenter", "torus", "--depth-mm", "0.2", "--out", str(tmp_path / "x.npz")], cache)
    assert out.returncode == 2 and "unknown indenter 'torus'" in out.stderr
    out = run(["tactile", "press", "--indenter", str(tmp_path / "nope.stl"), "--depth-mm", "0.2",
               "--out", str(tmp_path / "x.npz")], cache)
    assert out.returncode == 2 and "does not exist" in out.stderr
    out = run(["tactile", "press", "--sensor", "digit", "--depth-mm", "0.2", "--out", str(tmp_path / "x.npz")], cache)
    assert out.returncode == 2 and "simreal tactile calibrate --sensor digit" in out.stderr


def test_calibrate_from_own_frames(tmp_path, cache):
    from simreal.sensors.tactile.calibration import taxim_data_path

    src = np.load(taxim_data_path("gelsight_mini"))
    frames = tmp_path / "frames.npz"
    np.savez(frames, f0=src["f0"], imgs=src["imgs"][:8], touch_center=src["touch_center"][:8],
             touch_radius=src["touch_radius"][:8])
    out = run(["tactile", "calibrate", "--sensor", "digit", "--data", str(frames), "--ball-radius-mm", "2",
               "--mm-per-px", "0.0295", "--out", str(tmp_path / "digit.npz")], cache)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["fit_frames"] == 6 and result["held_out_frames"] == 2
    out = run(["tactile", "press", "--sensor", "digit", "--depth-mm", "0.3",
               "--calibration", str(tmp_path / "digit.npz"), "--out", str(tmp_path / "d.npz")], cache)
    assert out.returncode == 0, out.stderr


def test_bench_tactile_prints_json(cache):
    out = run(["bench", "tactile", "--num-envs", "8", "--seconds", "0.2", "--no-taxim"], cache)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["rgb_frames_per_s"] > 0 and result["taxel_updates_per_s"] > 0
    assert result["ratio_vs_taxim"] is None and "not run" in result["taxim_note"]


@pytest.mark.slow
def test_bench_tactile_against_taxim(cache):
    pytest.importorskip("jax")
    out = run(["bench", "tactile", "--num-envs", "16", "--seconds", "1"], cache)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["taxim_frames_per_s"] > 0 and result["ratio_vs_taxim"] > 1
