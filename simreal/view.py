"""``simreal view``: look at a task (and, later, a policy) offscreen, as PNG or MP4."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from simreal.errors import InputError
from simreal.registry import make_env
from simreal.sim.render import BatchRenderer, tile


def render_task(task: str, out: str, num_envs: int = 4, steps: int = 100, seed: int = 0, width: int = 480,
                height: int = 360, policy: Callable[[object], torch.Tensor] | None = None,
                env_overrides: dict | None = None) -> Path:
    """Render ``num_envs`` envs of ``task`` tiled in one picture.

    ``.png``: the first frame after reset. ``.mp4``: ``steps`` control steps at the
    control rate, driven by ``policy(obs) -> actions`` or, without one, small random actions.
    A policy with a ``reset(dones)`` method (a recurrent one) hears of every episode end.
    """
    path = Path(out)
    if path.suffix.lower() not in (".png", ".mp4"):
        raise InputError(f"--out must end in .png or .mp4, got {out!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    env = make_env(task, num_envs=num_envs, seed=seed, **(env_overrides or {}))
    renderer = BatchRenderer(env.backend, width, height)
    ids = list(range(num_envs))
    try:
        if path.suffix.lower() == ".png":
            from PIL import Image

            Image.fromarray(tile(renderer.render(ids))).save(path)
            return path
        import imageio.v2 as imageio

        gen = torch.Generator().manual_seed(seed)
        fps = max(1, round(1.0 / env.step_dt))
        with imageio.get_writer(path, fps=fps, codec="libx264", quality=7, macro_block_size=8) as writer:
            obs = env.get_observations()
            for _ in range(steps):
                writer.append_data(tile(renderer.render(ids)))
                if policy is not None:
                    actions = policy(obs)
                else:
                    actions = 0.5 * torch.randn(num_envs, env.num_actions, generator=gen)
                obs, _, dones, _ = env.step(actions)
                if hasattr(policy, "reset"):
                    policy.reset(dones)
        return path
    finally:
        renderer.close()
