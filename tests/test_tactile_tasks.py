"""The tactile peg tasks: they build, hold the peg, and a privileged script succeeds."""

import pytest
import torch

from simreal.registry import make_env

TASKS = {  # task id: (kind, tactile observation size: 2 fingers x force field or 80x60 RGB)
    "franka-peg-place-tactile": ("place", 2 * 10 * 14 * 3),
    "franka-peg-insert-tactile": ("insert", 2 * 60 * 80 * 3),
}


@pytest.fixture(autouse=True)
def _one_thread(tmp_path_factory, monkeypatch):
    # many small tensor ops per step: on a shared 2-core machine one thread avoids OpenMP barrier waits
    monkeypatch.setenv("SIMREAL_CACHE", str(tmp_path_factory.getbasetemp() / "simreal_cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def scripted_action(env, task):
    """Privileged: move the peg tip over the socket, then down onto (or into) it."""
    from simreal.tasks.franka_peg_tactile.config import PEG, peg_keypoints

    tip = peg_keypoints(env)[:, 2]
    goal = env.buffers["socket"].clone()
    goal[:, 2] = 0.0 if task == "insert" else PEG.socket_height
    d = goal - tip
    a = torch.zeros(env.num_envs, 6)
    in_hole = tip[:, 2] < PEG.socket_height  # inside the hole the walls centre the peg: steering would wind up
    a[:, :2] = torch.where(in_hole.unsqueeze(1), 0.0, (d[:, :2] / 0.005).clamp(-1, 1))
    centred = d[:, :2].norm(dim=-1) < 0.0005
    a[:, 2] = torch.where(centred, (d[:, 2] / 0.005).clamp(-0.25, 0.25), torch.zeros(env.num_envs))
    return a


@pytest.mark.parametrize("task_id", sorted(TASKS))
def test_peg_task_holds_peg_and_script_succeeds(task_id):
    from simreal.tasks.franka_peg_tactile.config import contact_force_totals, inserted, placed

    task, tactile_dim = TASKS[task_id]
    env = make_env(task_id, num_envs=4, seed=1)
    assert env.num_actions == 6
    assert env.obs["tactile"].shape == (4, tactile_dim)
    if task == "insert":  # images by default; force fields and their per-pad summary offered beside them
        assert env.obs["tactile_forces"].shape == (4, TASKS["franka-peg-place-tactile"][1] + 2 * 3)
        assert env.obs["tactile_fields"].shape == (4, TASKS["franka-peg-place-tactile"][1])
    assert env.obs["tactile_summary"].shape == (4, 2 * 3)
    start = (env.body_pos("peg") - env.ee_pos).norm(dim=-1)
    for _ in range(20):
        env.step(torch.zeros(4, 6))
    assert env.counters["episodes"] == 0  # the peg stays in the hand
    assert torch.allclose((env.body_pos("peg") - env.ee_pos).norm(dim=-1), start, atol=0.003)
    forces = contact_force_totals(env).reshape(4, 2, 3)
    assert bool((forces[..., 0] > 0.5).all())  # both gels feel the grip
    done = torch.zeros(4, dtype=torch.bool)
    for _ in range(150):
        _, _, d, _ = env.step(scripted_action(env, task))
        done |= d
    assert not bool(done.any())
    success = placed(env) if task == "place" else inserted(env)
    assert bool(success.all()), success
    assert float(env.obs["tactile"].abs().sum()) > 0


def test_contact_summary_sees_where_the_peg_sits_in_the_hand():
    """The peg's sideways offset across the pads (+-4 mm, hidden from proprioception) is the
    force-weighted contact centroid's x: mirrored on the two pads, which face each other."""
    env = make_env("franka-peg-insert-tactile", num_envs=16, seed=3,
                   obs_groups=["policy", "tactile_forces", "tactile_summary"])
    env.step(torch.zeros(16, 6))
    summary = env.obs["tactile_summary"].reshape(16, 2, 3)  # per pad: total N, centroid x, y (mm)
    assert torch.equal(env.obs["tactile_forces"][:, -6:], env.obs["tactile_summary"])  # the same numbers
    offset_mm = 1000 * ((env.body_pos("peg") - env.ee_pos).unsqueeze(1) @ env.ee_rotmat).squeeze(1)[:, 0]
    assert float(offset_mm.abs().max()) > 2.0  # the draw spans the range
    assert bool((summary[:, :, 0] > 0.5).all())
    torch.testing.assert_close(summary[:, 0, 1], offset_mm, atol=0.5, rtol=0)
    torch.testing.assert_close(summary[:, 1, 1], -offset_mm, atol=0.5, rtol=0)


def test_pad_compliance_is_randomized_per_env():
    from simreal.sensors.tactile.pads import pad_solref

    env = make_env("franka-peg-place-tactile", num_envs=6, seed=2)
    solref = env.backend.param("geom_solref")
    left, right = (env.model.geom(g).id for g in ("left_finger/gel", "right_finger/gel"))
    assert torch.equal(solref[:, left], solref[:, right])
    lo, hi = pad_solref(1.5, 20.0, 0.05)[0], pad_solref(3.5, 20.0, 0.05)[0]
    k = solref[:, left, 0]
    assert bool(((k <= lo) & (k >= hi)).all()) and len(set(k.tolist())) == 6


def test_the_env_owns_the_tactile_sensor_state_and_resets_it_with_its_envs():
    from simreal.sensors.tactile.observations import TactileState

    env = make_env("franka-peg-place-tactile", num_envs=3, seed=0)
    env.step(torch.zeros(env.num_envs, env.num_actions))
    states = [s for s in env.sensors.values() if isinstance(s, TactileState)]
    assert states, f"no tactile state on the env: {list(env.sensors)}"
    st = states[0]
    assert not st.fresh.any()  # one step in: every sensor has slip history
    env._reset_envs(torch.tensor([1]))
    S = len(st.site_ids)
    assert st.fresh.view(3, S)[1].all() and not st.fresh.view(3, S)[[0, 2]].any()


def test_the_mini_variant_shades_with_the_mini_calibration_and_feels_the_same_grip():
    """franka-peg-insert-tactile-mini: the same scene and seed, GelSight Mini pads. Its images
    come from the Mini's own calibration (not the R1.5's); the grip shows in both summaries."""
    groups = ["policy", "tactile", "tactile_summary"]
    r15 = make_env("franka-peg-insert-tactile", num_envs=2, seed=4, obs_groups=groups)
    mini = make_env("franka-peg-insert-tactile-mini", num_envs=2, seed=4, obs_groups=groups)
    for env in (r15, mini):
        env.step(torch.zeros(2, 6))
    assert mini.obs["tactile"].shape == r15.obs["tactile"].shape == (2, 2 * 60 * 80 * 3)
    assert float((mini.obs["tactile"] - r15.obs["tactile"]).abs().mean()) > 0.02  # another gel, another light
    for env in (r15, mini):
        assert bool((env.obs["tactile_summary"].reshape(2, 2, 3)[..., 0] > 0.5).all())
    # the peg's offset across the pads reads the same through either gel (same taxel grid pitch within 2 %)
    torch.testing.assert_close(mini.obs["tactile_summary"].reshape(2, 2, 3)[..., 1],
                               r15.obs["tactile_summary"].reshape(2, 2, 3)[..., 1], atol=0.5, rtol=0)
