"""Environment layer: invariants over every registered task, auto-reset, bad input."""

import pytest
import torch

from simreal.registry import list_tasks, make_env, task_cfg

TASK_IDS = [spec.id for spec in list_tasks()]
N = 8


def _rollout(env, steps, seed=0):
    gen = torch.Generator().manual_seed(seed)
    trace = []
    for _ in range(steps):
        obs, rew, done, extras = env.step(2 * torch.rand(env.num_envs, env.num_actions, generator=gen) - 1)
        trace.append((obs.clone(), rew.clone(), done.clone()))
    return trace


def test_both_franka_tasks_are_registered():
    assert {"franka-reach", "franka-lift"} <= set(TASK_IDS)


@pytest.mark.parametrize("task", TASK_IDS)
def test_task_invariants(task):
    env = make_env(task, num_envs=N, seed=3, episode_length_s=2.0)  # episodes end within 200 steps
    cfg = env.cfg
    assert set(env.obs.keys()) >= {"policy", "critic"}
    assert not cfg.observations["critic"].noisy, "the critic group must be noise-free"
    # declared shapes: each group is the concatenation of its terms
    for group_name, group in cfg.observations.items():
        dims = [term.func(env, **term.params).shape for term in group.terms.values()]
        assert all(d[0] == N and len(d) == 2 for d in dims), dims
        assert env.obs[group_name].shape == (N, sum(d[1] for d in dims))
    # 200 steps of random actions: nothing non-finite, episodes end and restart
    trace = _rollout(env, 200)
    for obs, rew, done in trace:
        for value in obs.values():
            assert torch.isfinite(value).all()
        assert torch.isfinite(rew).all()
    assert env.counters["episodes"] > 0, "200 steps should end at least one episode"
    assert env.counters["diverged"] == 0


@pytest.mark.parametrize("task", TASK_IDS)
def test_critic_is_noise_free_and_policy_noisy(task):
    env = make_env(task, num_envs=N, seed=0)
    first = env._compute_obs()
    second = env._compute_obs()  # same state, fresh noise draw
    assert torch.equal(first["critic"], second["critic"])
    assert not torch.equal(first["policy"], second["policy"])


@pytest.mark.parametrize("task", TASK_IDS)
def test_seed_reproduces_trajectory(task):
    a = _rollout(make_env(task, num_envs=N, seed=7), 30)
    b = _rollout(make_env(task, num_envs=N, seed=7), 30)
    c = _rollout(make_env(task, num_envs=N, seed=8), 30)
    for (oa, ra, da), (ob, rb, db) in zip(a, b):
        assert torch.equal(oa["policy"], ob["policy"]) and torch.equal(ra, rb) and torch.equal(da, db)
    assert not torch.equal(a[-1][0]["critic"], c[-1][0]["critic"])


def test_time_out_is_not_termination_and_envs_auto_reset():
    env = make_env("franka-reach", num_envs=N, episode_length_s=0.2)  # 10 control steps
    assert env.max_episode_length == 10
    for step in range(10):
        _, _, done, extras = env.step(torch.zeros(N, env.num_actions))
        if step < 9:
            assert not done.any()
    assert done.all() and extras["time_outs"].all()
    assert set(extras["episode"]) >= {"success", "rew_distance", "length_s"}
    assert torch.all(env.episode_length_buf == 0)
    assert extras["episode_success"].dtype == torch.bool


def test_termination_is_not_time_out():
    env = make_env("franka-lift", num_envs=N)
    cube = env.free_joint_qpos_slice("cube_joint")
    env.backend.qpos[2, cube.start + 2] = -0.5  # push the cube through the floor in env 2
    env.backend.forward()
    _, _, done, extras = env.step(torch.zeros(N, env.num_actions))
    assert done[2] and not extras["time_outs"][2]
    assert done.sum() == 1


def test_success_is_reported_per_episode():
    env = make_env("franka-reach", num_envs=N, episode_length_s=0.04)  # 2 control steps
    env.buffers["target"][:] = env.ee_pos  # put every target at the tool: success by construction
    env.buffers["target"][N // 2 :] += 0.3  # ... except for the second half
    env.step(torch.zeros(N, env.num_actions))
    _, _, done, extras = env.step(torch.zeros(N, env.num_actions))
    assert done.all()
    assert extras["episode_success"].tolist() == [True] * (N // 2) + [False] * (N // 2)
    assert extras["episode"]["success"].item() == pytest.approx(0.5)


def test_wrong_action_shape_names_both_shapes():
    env = make_env("franka-reach", num_envs=N)
    with pytest.raises(ValueError, match=r"\(8, 7\).*got \(8, 6\)"):
        env.step(torch.zeros(N, 6))


def test_nan_actions_reset_only_that_env():
    env = make_env("franka-lift", num_envs=N)
    for _ in range(3):
        env.step(torch.zeros(N, env.num_actions))
    actions = torch.zeros(N, env.num_actions)
    actions[1, 3] = float("nan")
    actions[4, 0] = float("inf")
    obs, rew, done, extras = env.step(actions)
    assert extras["nan_actions"] == 2 and env.counters["nan_actions"] == 2
    assert done.tolist() == [i in (1, 4) for i in range(N)]
    assert env.episode_length_buf.tolist() == [0 if i in (1, 4) else 4 for i in range(N)]
    assert all(torch.isfinite(v).all() for v in obs.values()) and torch.isfinite(rew).all()
    assert torch.isfinite(env.backend.ctrl).all()


def test_diverging_simulation_is_reset_and_counted():
    env = make_env("franka-reach", num_envs=N)
    env.backend.qvel[3, 0] = float("nan")
    env.backend.qvel[5, 1] = 1e6
    obs, rew, done, extras = env.step(torch.zeros(N, env.num_actions))
    assert extras["diverged"] == 2
    assert done[3] and done[5] and done.sum() == 2
    assert all(torch.isfinite(v).all() for v in obs.values()) and torch.isfinite(rew).all()
    assert torch.isfinite(env.backend.qvel).all()


def test_unknown_task_lists_valid_ids():
    with pytest.raises(KeyError, match="franka-reach"):
        make_env("franka-fly")
    with pytest.raises(ValueError, match="unknown env config fields"):
        task_cfg("franka-reach", num_env=3)


def test_reset_randomization_lands_per_env():
    env = make_env("franka-lift", num_envs=64)
    kp = env.backend.param("actuator_gainprm")[:, env.arm_ctrl_ids, 0]
    kp_nominal = env.backend.nominal_param("actuator_gainprm")[env.arm_ctrl_ids, 0]
    factor = kp / kp_nominal
    assert factor.min() >= 0.8 - 1e-9 and factor.max() <= 1.2 + 1e-9
    assert factor.std() > 0.05  # different envs, different gains
    kv = -env.backend.param("actuator_biasprm")[:, env.arm_ctrl_ids, 2]
    torch.testing.assert_close(kv / -env.backend.nominal_param("actuator_biasprm")[env.arm_ctrl_ids, 2], factor)
    cube = env.model.body("cube").id
    mass = env.backend.param("body_mass")[:, cube]
    assert 0.025 - 1e-9 <= mass.min() and mass.max() <= 0.1 + 1e-9 and mass.std() > 0.005
    # resetting a subset re-draws only that subset
    before = env.backend.param("body_mass")[:, cube].clone()
    env._reset_envs(torch.tensor([0, 1]))
    after = env.backend.param("body_mass")[:, cube]
    assert torch.equal(after[2:], before[2:]) and not torch.equal(after[:2], before[:2])


@pytest.mark.parametrize("task", ["franka-reach", "franka-lift-ik"])  # joint deltas, tool-point deltas
def test_action_latency_delays_the_command(task):
    """Two envs of one seed draw the same delays; one is pushed once, the other is not: each
    env's joint target leaves its twin's on the step its delay says."""
    from simreal.envs.env import ManipulationEnv

    envs = []
    for _ in range(2):
        cfg = task_cfg(task, num_envs=N)
        cfg.actions.max_latency_steps = 2
        envs.append(ManipulationEnv(cfg))
    pushed, still = envs
    latency = pushed.action.delay.latency.clone()
    assert torch.equal(latency, still.action.delay.latency) and set(latency.tolist()) == {0, 1, 2}
    moved_at = torch.full((N,), -1)
    push = torch.zeros(N, pushed.num_actions)
    push[:, 0] = 1.0
    for step in range(3):
        pushed.step(push if step == 0 else torch.zeros_like(push))
        still.step(torch.zeros_like(push))
        moved = (pushed.action.target - still.action.target).abs().amax(dim=1) > 1e-5
        moved_at[(moved_at < 0) & moved] = step
    assert torch.equal(moved_at, latency)


def test_observation_bias_is_per_episode():
    env = make_env("franka-lift", num_envs=N)
    bias = env._obs_bias[("policy", "cube_pos")]
    assert bias.shape == (N, 3) and bias.abs().max() > 0
    kept = bias[1:].clone()
    env._reset_envs(torch.tensor([0]))
    assert torch.equal(env._obs_bias[("policy", "cube_pos")][1:], kept)


@pytest.mark.slow
@pytest.mark.warp
def test_same_task_runs_on_the_warp_backend():
    """The task code is engine-agnostic: franka-lift on MuJoCo Warp (its CPU device here)
    starts where the CPU backend starts and steps without NaN."""
    pytest.importorskip("mujoco_warp")
    warp_env = make_env("franka-lift", num_envs=4, backend="mujoco_warp", device="cpu", seed=0)
    cpu_env = make_env("franka-lift", num_envs=4, seed=0)
    torch.testing.assert_close(warp_env.obs["critic"], cpu_env.obs["critic"], atol=1e-5, rtol=0)
    for _ in range(30):
        obs, rew, _, _ = warp_env.step(2 * torch.rand(4, warp_env.num_actions) - 1)
    assert torch.isfinite(obs["policy"]).all() and torch.isfinite(rew).all()
    assert warp_env.counters["diverged"] == 0


def test_only_requested_observation_groups_are_computed():
    from simreal.rl.config import default_cfg
    from simreal.rl.factory import groups_read

    env = make_env("franka-reach", num_envs=2, obs_groups=["policy"])
    assert list(env.get_observations().keys()) == ["policy"]
    assert list(env.step(torch.zeros(2, env.num_actions))[0].keys()) == ["policy"]
    with pytest.raises(KeyError, match="not in this task; it has \\['policy', 'critic'\\]"):
        make_env("franka-reach", num_envs=2, obs_groups=["tactile"])
    # a privileged teacher on the tactile task reads no tactile group, so none is rendered
    teacher = default_cfg("franka-peg-insert-tactile", "ppo", {"actor": {"groups": ["policy", "critic"]}})
    assert groups_read(teacher) == ["policy", "critic"]
