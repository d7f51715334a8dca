"""An installed wheel works like the checkout: build simreal's wheel, install it without
dependencies into a fresh venv that borrows the test venv's third-party packages, and run
the CLI from outside the checkout (tasks, shipped configs, gel-pad asset, a short tactile
training, deploy.yaml derivation)."""

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    # build from a copy of the tracked and new files: an in-tree build/ would keep stale modules
    src = tmp / "src"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp),
                    str(src)], check=True, capture_output=True, timeout=600)
    wheel = next(tmp.glob("simreal-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    # the test venv's third-party packages, after the fresh venv's own (the wheel's simreal wins)
    borrowed = [p for p in {*site.getsitepackages(), sysconfig.get_paths()["purelib"]} if Path(p).is_dir()]
    (purelib / "borrowed.pth").write_text("\n".join(borrowed) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=600)
    work = tmp / "elsewhere"
    work.mkdir()
    return {"wheel": wheel, "python": py, "cwd": work}


def run(env, *args, timeout=600):
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([str(env["python"]), "-m", "simreal.cli", *args], cwd=env["cwd"], env=clean,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"simreal {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_wheel_carries_configs_and_assets(wheel_env):
    names = set(zipfile.ZipFile(wheel_env["wheel"]).namelist())
    shipped = {str(p.relative_to(REPO)) for d in ("configs", "assets") for p in (REPO / d).rglob("*")
               if p.is_file() and p.suffix != ".md"}
    assert shipped and {f"simreal/_data/{n}" for n in shipped} <= names, sorted(shipped - names)


def test_installed_wheel_runs_outside_the_checkout(wheel_env, tmp_path):
    where = subprocess.run([str(wheel_env["python"]), "-c", "import simreal; print(simreal.__file__)"],
                           cwd=wheel_env["cwd"], capture_output=True, text=True, check=True).stdout
    assert str(REPO) not in where, f"the fresh venv imported the checkout: {where}"

    assert "franka-peg-place-tactile" in run(wheel_env, "list-tasks")
    policy_yaml = Path(run(wheel_env, "configs", "ros/policy_node.yaml").strip())
    assert policy_yaml.is_file() and REPO not in policy_yaml.parents
    assert "ppo/franka-reach.yaml" in run(wheel_env, "configs")

    out = tmp_path / "deploy.yaml"
    run(wheel_env, "deploy-yaml", "franka-reach", "--out", str(out))
    assert "joint_names" in out.read_text()

    # the tactile task builds its gel pads from the shipped asset; two PPO iterations
    run_dir = tmp_path / "tactile"
    summary = run(wheel_env, "train", "franka-peg-place-tactile", "--num-envs", "4", "--steps", "48",
                  "--set", "ppo.num_steps=6", "--set", "actor.hidden=[16]", "--set", "critic.hidden=[16]",
                  "--run-dir", str(run_dir))
    assert json.loads(summary.strip().splitlines()[-1])["iterations"] == 2
    train_cfg = (run_dir / "config.yaml").read_text()
    assert "franka-peg-place-tactile" in train_cfg
