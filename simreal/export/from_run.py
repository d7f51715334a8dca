"""``simreal export RUN_DIR``: a simreal training run becomes a deploy bundle.

The parity set is observations the trained policy actually meets: the deterministic
policy drives the task for a while and every ``stride``-th step's observations are kept.
A recurrent actor's parity set is instead one env's observation sequence from the start of
its episode (the bundle replays it from the zero state), and its ONNX/TorchScript policy
takes and returns its hidden state.
"""

from __future__ import annotations

from pathlib import Path

import torch

from simreal.deploy.from_task import deploy_spec_from_cfg
from simreal.errors import SimrealError
from simreal.export.bundle import Bundle, write_bundle


def export_run(run_dir: str | Path, out: str | Path, which: str = "best", num_envs: int = 32, steps: int = 60,
               stride: int = 6) -> Bundle:
    from simreal.rl.checkpoint import existing_checkpoint, load_checkpoint
    from simreal.rl.evaluate import Policy, load_run

    cfg, env, algo = load_run(run_dir, which, num_envs=num_envs, seed=cfg_seed(run_dir))
    if cfg.task.startswith("gym:"):
        raise SimrealError("export writes bundles for simreal tasks (robots); a gym:<id> run has no robot to deploy")
    actor = algo.actor
    act = Policy(actor)
    obs = env.get_observations()
    samples = []
    for t in range(steps):
        if act.recurrent:
            samples.append(actor.inputs(obs)[:1].clone())  # env 0, every step
        elif t % stride == 0:
            samples.append(actor.inputs(obs).clone())
        obs, _, dones, _ = env.step(act(obs))
        act.reset(dones)
        if act.recurrent and bool(dones[0]):
            break  # the sequence ends with env 0's episode
    example = torch.cat(samples)
    trained = int(load_checkpoint(existing_checkpoint(run_dir, which)).get("env_steps", 0))
    provenance = {"algo": cfg.algo, "seed": cfg.seed, "run_dir": str(run_dir), "checkpoint": which,
                  "training_steps": trained, "planned_steps": int(cfg.steps)}  # the weights' steps, the run's aim
    from simreal.registry import task_params_of

    task_params = task_params_of(cfg.task, cfg.env)
    if task_params:  # what the task's scene is made of (e.g. a twin): the task cell builds the same
        provenance["task_params"] = task_params
    groups = actor.groups if len(actor.groups) > 1 else actor.groups[0]  # several: concatenated in order
    spec = deploy_spec_from_cfg(env.cfg, task_id=cfg.task, group=groups, provenance=provenance)
    return write_bundle(out, actor, spec, example, provenance=provenance)


def cfg_seed(run_dir) -> int:
    """A seed for the parity rollout that differs from training's but is fixed per run."""
    return 777 + sum(map(ord, Path(run_dir).name)) % 1000
