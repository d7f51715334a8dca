"""Any Gymnasium environment (``gym:<id>``) behind simreal's batched env contract, so
the algorithms can be checked against published results on standard benchmarks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from tensordict import TensorDict

from simreal.errors import InputError, UnknownNameError


class GymVecEnv:
    """``num_envs`` copies via Gymnasium's vector API (same-step auto-reset).

    Observations are flat float32 and appear as both the "policy" and "critic" groups
    (a Gymnasium env has no privileged state). Actions are clipped to the action box.

    ``step`` returns the next episode's first observation for an env whose episode just
    ended (auto-reset); ``extras["final_obs"]`` holds, for every env, the observation this
    step actually reached: the true last observation of an ended episode, ``obs`` for the
    rest. Off-policy learners bootstrap a truncated episode from it (a Gymnasium time
    limit is not a terminal state).
    """

    def __init__(self, env_id: str, num_envs: int = 1, seed: int = 0, device: str = "cpu", **kwargs):
        if kwargs:
            raise InputError(f"env overrides {sorted(kwargs)} are not supported for Gymnasium envs")
        try:
            self.vec = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync",
                                    vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
        except gym.error.Error as err:
            raise UnknownNameError(f"Gymnasium has no environment {env_id!r} ({err})") from err
        space = self.vec.single_action_space
        if not isinstance(space, gym.spaces.Box):
            raise InputError(f"gym:{env_id} has a {type(space).__name__} action space; simreal's algorithms need a Box")
        self.task_id = f"gym:{env_id}"
        self.cfg = {"gym_id": env_id}
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.num_actions = int(np.prod(space.shape))
        self.action_low = torch.as_tensor(space.low, dtype=torch.float32, device=self.device).reshape(-1)
        self.action_high = torch.as_tensor(space.high, dtype=torch.float32, device=self.device).reshape(-1)
        spec = self.vec.spec if self.vec.spec is not None else gym.spec(env_id)
        self.max_episode_length = spec.max_episode_steps or 1000
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long, device=self.device)
        self.counters = {"nan_actions": 0, "diverged": 0, "episodes": 0}
        obs, _ = self.vec.reset(seed=seed)
        self.vec.action_space.seed(seed)
        self.obs = self._wrap(obs)

    def _wrap(self, obs) -> TensorDict:
        x = torch.as_tensor(np.asarray(obs, dtype=np.float32).reshape(self.num_envs, -1), device=self.device)
        return TensorDict({"policy": x, "critic": x}, batch_size=[self.num_envs], device=self.device)

    def get_observations(self) -> TensorDict:
        return self.obs

    def step(self, actions: torch.Tensor):
        if tuple(actions.shape) != (self.num_envs, self.num_actions):
            raise InputError(f"actions must have shape {(self.num_envs, self.num_actions)}, got {tuple(actions.shape)}")
        a = torch.clamp(actions.detach().to(self.device, torch.float32), self.action_low, self.action_high)
        obs, rew, term, trunc, info = self.vec.step(
            a.cpu().numpy().reshape((self.num_envs,) + self.vec.single_action_space.shape))
        self.obs = self._wrap(obs)
        final_obs = self.obs
        if "_final_obs" in info:
            ended = info["_final_obs"]
            reached = np.asarray(obs, dtype=np.float32).reshape(self.num_envs, -1).copy()
            reached[ended] = np.stack([np.asarray(info["final_obs"][i], dtype=np.float32).reshape(-1)
                                       for i in np.flatnonzero(ended)])
            final_obs = self._wrap(reached)
        term_t = torch.as_tensor(term, device=self.device)
        trunc_t = torch.as_tensor(trunc, device=self.device) & ~term_t
        dones = term_t | trunc_t
        self.episode_length_buf += 1
        self.episode_length_buf[dones] = 0
        self.counters["episodes"] += int(dones.sum())
        rewards = torch.as_tensor(rew, dtype=torch.float32, device=self.device)
        return self.obs, rewards, dones, {"time_outs": trunc_t, "final_obs": final_obs}

    def observation_dims(self) -> dict[str, int]:
        return {g: int(v.shape[1]) for g, v in self.obs.items()}

    def close(self) -> None:
        self.vec.close()
