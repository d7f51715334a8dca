"""``simreal train / eval / plot / play`` as a user runs them."""

import json
import subprocess
import sys

TINY = ["--num-envs", "16", "--steps", "768", "--set", "actor.hidden=[16]", "--set", "critic.hidden=[16]",
        "--set", "env.episode_length_s=0.4"]


def simreal(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "simreal.cli", *args], capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"simreal {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


def test_train_eval_plot_play(tmp_path):
    run = tmp_path / "run"
    out = simreal("train", "franka-reach", "--algo", "ppo", "--run-dir", str(run), *TINY).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["env_steps"] >= 768 and (run / "config.yaml").is_file() and (run / "metrics.jsonl").is_file()
    assert list((run / "tb").iterdir()), "no TensorBoard events"

    out = simreal("eval", str(run), "--episodes", "8", "--checkpoint", "latest").stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["episodes"] == 8 and set(result) >= {"success_rate", "mean_return", "episodes"}

    simreal("plot", str(run))
    assert (run / "learning_curves.png").stat().st_size > 5000

    movie = tmp_path / "play.mp4"
    simreal("play", str(run), "--out", str(movie), "--num-envs", "1", "--steps", "5", "--checkpoint", "latest")
    assert movie.stat().st_size > 1000

    # resume continues the same run
    more = simreal("train", "--resume", str(run), "--steps", "1536").stdout
    assert json.loads(more.strip().splitlines()[-1])["env_steps"] >= 1536


def test_bad_input_is_one_clear_line(tmp_path):
    proc = simreal("train", "franka-fly", check=False)
    assert proc.returncode == 2 and "valid task ids" in proc.stderr and "Traceback" not in proc.stderr
    proc = simreal("eval", str(tmp_path), check=False)
    assert proc.returncode == 2 and "not a simreal run directory" in proc.stderr
    proc = simreal("train", "franka-reach", "--set", "ppo.lrr=1", check=False)
    assert proc.returncode == 2 and "no key 'lrr'" in proc.stderr


def test_sigterm_saves_a_checkpoint_before_exiting(tmp_path):
    """A preempted or killed training run (SIGTERM) keeps its progress, like Ctrl-C does."""
    import signal
    import time

    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "simreal.cli", "train", "franka-reach", "--num-envs", "16",
                             "--steps", "100000000", "--run-dir", str(run), "--set", "checkpoint_every=100000"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not (run / "metrics.jsonl").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[0]
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, out
    assert "interrupted: saved" in out and (run / "checkpoints" / "latest.pt").is_file(), out
