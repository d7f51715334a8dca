"""Turn a checkpoint written by rsl_rl's runner (Isaac Lab, mjlab, rsl_rl itself) into a
simreal bundle, with the observation normalizer folded into the exported graph.

The actor is rebuilt in plain torch from the checkpoint's tensors (rsl_rl need not be
installed): ``(obs - mean) / (std + eps)`` then the MLP. Supported: rsl_rl >= 4
``actor_state_dict`` (``MLPModel``: ``obs_normalizer._mean/_std``, ``mlp.N``; Gaussian or
heteroscedastic-Gaussian heads) and rsl_rl <= 3 ``model_state_dict`` (``actor.N``,
``actor_obs_normalizer``). Not stored in a checkpoint, so given or looked up: the
activation (``--activation``, else Isaac Lab's ``params/agent.yaml`` next to the
checkpoint, else rsl_rl's default "elu") and the normalizer's eps (rsl_rl's 1e-2).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from simreal.deploy.spec import DeploySpec
from simreal.export.bundle import Bundle, BundleError, write_bundle

ACTIVATIONS = ("elu", "selu", "relu", "crelu", "lrelu", "tanh", "sigmoid", "softplus", "gelu", "swish",
               "mish", "identity")


def _activation(name: str):
    import torch.nn as nn

    table = {"elu": nn.ELU, "selu": nn.SELU, "relu": nn.ReLU, "crelu": nn.CELU, "lrelu": nn.LeakyReLU,
             "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "softplus": nn.Softplus, "gelu": nn.GELU, "swish": nn.SiLU,
             "mish": nn.Mish, "identity": nn.Identity}
    if name.lower() not in table:
        raise BundleError(f"unknown activation {name!r}; rsl_rl's names are {list(ACTIVATIONS)}")
    return table[name.lower()]()


def _split_state(ckpt: dict) -> tuple[dict, dict, str]:
    """(normalizer tensors {mean, std}, {layer index: (weight, bias)}, format name)."""
    if "actor_state_dict" in ckpt:
        sd, prefix, norm = ckpt["actor_state_dict"], "mlp.", "obs_normalizer."
        fmt = "rsl_rl>=4 actor_state_dict"
    elif "model_state_dict" in ckpt:
        sd, prefix, norm = ckpt["model_state_dict"], "actor.", "actor_obs_normalizer."
        fmt = "rsl_rl<=3 model_state_dict"
        if "obs_norm_state_dict" in ckpt:
            sd = {**sd, **{norm + k: v for k, v in ckpt["obs_norm_state_dict"].items()}}
    else:
        raise BundleError(f"not an rsl_rl runner checkpoint: keys {sorted(ckpt)}; expected 'actor_state_dict' "
                          f"(rsl_rl >= 4) or 'model_state_dict' (older)")
    if any(k.startswith(("rnn.", "memory_a.", "memory.")) for k in sd):
        raise BundleError("recurrent rsl_rl actors are not importable yet; only MLP actors are")
    layers: dict[int, list] = {}
    for k, v in sd.items():
        m = re.fullmatch(re.escape(prefix) + r"(\d+)\.(weight|bias)", k)
        if m:
            layers.setdefault(int(m.group(1)), [None, None])[m.group(2) == "bias"] = v
    if not layers:
        raise BundleError(f"no MLP layers named {prefix}N.weight in the checkpoint ({fmt})")
    normalizer = {}
    if norm + "_mean" in sd:
        normalizer = {"mean": sd[norm + "_mean"].reshape(-1), "std": sd[norm + "_std"].reshape(-1)}
    return normalizer, dict(sorted(layers.items())), fmt


def actor_from_checkpoint(ckpt: dict, activation: str = "elu", num_actions: int | None = None, eps: float = 1e-2):
    """A torch module obs [B, obs_dim] -> deterministic actions [B, num_actions]."""
    import torch
    import torch.nn as nn

    normalizer, layers, fmt = _split_state(ckpt)

    class Normalize(nn.Module):
        def __init__(self, mean, std):
            super().__init__()
            self.register_buffer("mean", mean.float().clone())
            self.register_buffer("std", std.float().clone())

        def forward(self, x):
            return (x - self.mean) / (self.std + eps)

    class TakeMean(nn.Module):  # heteroscedastic heads output (mean, std) stacked; the mean is first
        def __init__(self, n):
            super().__init__()
            self.n = n

        def forward(self, x):
            return x[..., : self.n]

    mods: list[nn.Module] = [Normalize(**normalizer)] if normalizer else []
    items = list(layers.values())
    for i, (w, b) in enumerate(items):
        lin = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
        with torch.no_grad():
            lin.weight.copy_(w)
            if b is not None:
                lin.bias.copy_(b)
        mods.append(lin)
        if i < len(items) - 1:
            mods.append(_activation(activation))
    out_dim = items[-1][0].shape[0]
    if num_actions is not None and out_dim != num_actions:
        if out_dim == 2 * num_actions:
            mods.append(TakeMean(num_actions))
        else:
            raise BundleError(f"the checkpoint's actor outputs {out_dim} values but deploy.yaml has "
                              f"{num_actions} actions; check the deploy.yaml's joints and action term")
    model = nn.Sequential(*mods).eval()
    model.obs_dim = items[0][0].shape[1]
    model.format = fmt
    return model


def _find_activation(checkpoint: Path) -> str | None:
    """Isaac Lab writes the runner config to params/agent.yaml beside the checkpoints."""
    import yaml

    for cand in (checkpoint.parent / "params" / "agent.yaml", checkpoint.parent / "agent.yaml"):
        if cand.is_file():
            try:
                cfg = yaml.safe_load(cand.read_text()) or {}
            except yaml.YAMLError:
                continue
            for key in ("actor", "policy"):
                if isinstance(cfg.get(key), dict) and cfg[key].get("activation"):
                    return str(cfg[key]["activation"])
    return None


def _parity_obs(spec: DeploySpec, model, normalizer_stats, n: int = 256, seed: int = 0) -> tuple[np.ndarray, str]:
    """Observations for the parity set: from the task's env if simreal has it, else samples
    around the normalizer's statistics."""
    import torch

    task = spec.provenance.get("task")
    if task:
        try:
            from simreal.registry import make_env

            env = make_env(task, num_envs=32, seed=seed)
        except KeyError:
            env = None
        if env is not None:
            group = spec.provenance.get("obs_group", "policy")
            rows = []
            with torch.no_grad():
                obs = env.get_observations()
                for _ in range(n // 32):
                    rows.append(obs[group].clone())
                    obs, *_ = env.step(model(obs[group]).clamp(-10, 10))
            return torch.cat(rows).numpy(), f"env {task} ({group} group), imported policy acting"
    g = np.random.default_rng(seed)
    if normalizer_stats:
        mean, std = (normalizer_stats[k].float().numpy() for k in ("mean", "std"))
    else:
        mean, std = np.zeros(spec.obs_dim, np.float32), np.ones(spec.obs_dim, np.float32)
    return (mean + std * g.standard_normal((n, spec.obs_dim))).astype(np.float32), "normalizer mean +- std samples"


def import_rsl_rl(checkpoint, out_dir, deploy_yaml=None, task: str | None = None, activation: str | None = None,
                  eps: float = 1e-2) -> Bundle:
    """``checkpoint``: rsl_rl ``model_*.pt``; the deployment description from ``deploy_yaml``
    (a file) or ``task`` (a simreal task id). Returns the loaded, parity-checked bundle."""
    from simreal.rl.checkpoint import load_torch_file

    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise BundleError(f"checkpoint {checkpoint} does not exist")
    if (deploy_yaml is None) == (task is None):
        raise BundleError("give exactly one of --deploy-yaml FILE or --task TASK (simreal deploy-yaml TASK writes one)")
    if deploy_yaml is not None:
        spec = DeploySpec.load(deploy_yaml)
    else:
        from simreal.deploy.from_task import deploy_spec_from_task

        spec = deploy_spec_from_task(task)
    ckpt = load_torch_file(checkpoint, "rsl_rl checkpoint")
    if not isinstance(ckpt, dict):
        raise BundleError(f"{checkpoint} holds a {type(ckpt).__name__}, not an rsl_rl runner checkpoint (a dict)")
    act = activation or _find_activation(checkpoint) or "elu"
    model = actor_from_checkpoint(ckpt, act, spec.num_actions, eps)
    if model.obs_dim != spec.obs_dim:
        raise BundleError(
            f"the checkpoint's actor takes {model.obs_dim} observations but deploy.yaml's terms "
            f"{[(t.name, t.total_dim) for t in spec.observations]} add up to {spec.obs_dim}; the deploy.yaml does not "
            f"describe this policy"
        )
    normalizer, _, _ = _split_state(ckpt)
    obs, parity_source = _parity_obs(spec, model, normalizer)
    provenance = {
        "source": "rsl_rl",
        "checkpoint": str(checkpoint.resolve()),
        "checkpoint_sha256": hashlib.sha256(checkpoint.read_bytes()).hexdigest(),
        "checkpoint_format": model.format,
        "training_iterations": int(ckpt.get("iter", -1)),
        "activation": act,
        "normalizer_eps": eps,
        "parity_observations": parity_source,
    }
    return write_bundle(out_dir, model, spec, obs, provenance)
