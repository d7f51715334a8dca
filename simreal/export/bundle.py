"""Deploy bundles: a directory a robot can run without simreal's training stack.

Layout::

    BUNDLE/policy.onnx   input "obs" float32 [batch, obs_dim] -> output "actions" float32
                         [batch, num_actions]; observation normalizer inside; metadata
                         props carry joint names, default pose, action type/scale, period
    BUNDLE/policy.pt     TorchScript, same maths
    BUNDLE/deploy.yaml   simreal.deploy.spec.DeploySpec (joints, period, action, obs terms, limits, provenance)
    BUNDLE/parity.npz    obs [N, obs_dim] and the actions [N, num_actions] the training-time policy gave

Writing (the training runner and ``simreal import-rsl-rl`` call this)::

    write_bundle(out_dir, policy, spec, example_obs, provenance=None, tolerance=1e-5) -> Bundle

    out_dir      directory to create (existing files in it are replaced)
    policy       torch.nn.Module, obs float32 [B, obs_dim] -> deterministic actions [B, num_actions],
                 the observation normalizer inside (e.g. simreal.rl GaussianActor, in eval mode)
    spec         DeploySpec, or a task id such as "franka-reach" (deploy_spec_from_task), or an EnvCfg
    example_obs  [N, obs_dim] observations met in training (tensor or array); the parity set
    provenance   merged into deploy.yaml's provenance (seed, git commit, training steps, ...)

It exports, then loads the result back through ONNX Runtime and TorchScript and raises
ParityError if any action differs from the torch policy's by more than ``tolerance``.

Loading: ``load_bundle(path) -> Bundle`` replays parity.npz through ONNX Runtime and
refuses (ParityError) when any action differs by more than 1e-5; ``bundle.act(obs)``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simreal.deploy.spec import DeploySpec
from simreal.errors import SimrealError

PARITY_TOLERANCE = 1e-5
FILES = ("policy.onnx", "policy.pt", "deploy.yaml", "parity.npz")


class BundleError(SimrealError):
    """A bundle directory that is incomplete or inconsistent."""


class ParityError(BundleError):
    """The exported policy does not reproduce the training-time policy."""


@dataclass
class Bundle:
    path: Path
    spec: DeploySpec
    session: object  # onnxruntime.InferenceSession
    parity_max_abs_diff: float

    def act(self, obs: np.ndarray) -> np.ndarray:
        """obs (obs_dim,) or (B, obs_dim) -> actions (num_actions,) or (B, num_actions), float32."""
        x = np.asarray(obs, dtype=np.float32)
        single = x.ndim == 1
        out = self.session.run(["actions"], {"obs": x[None] if single else x})[0]
        return out[0] if single else out


def _ort_session(path: Path, threads: int = 1):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def load_bundle(path: str | Path, tolerance: float = PARITY_TOLERANCE, threads: int = 1) -> Bundle:
    """Load a bundle and replay its parity set through ONNX Runtime; ParityError if any
    action differs from the recorded training-time action by more than ``tolerance``."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"bundle {path} is not a directory; make one with simreal export or simreal import-rsl-rl")
    missing = [f for f in ("policy.onnx", "deploy.yaml", "parity.npz") if not (path / f).is_file()]
    if missing:
        raise BundleError(f"bundle {path} lacks {missing}; re-export it")
    spec = DeploySpec.load(path / "deploy.yaml")
    session = _ort_session(path / "policy.onnx", threads)
    meta = session.get_modelmeta().custom_metadata_map
    if "joint_names" in meta and json.loads(meta["joint_names"]) != spec.joint_names:
        raise BundleError(f"{path}: policy.onnx was exported for joints {meta['joint_names']} but deploy.yaml lists "
                          f"{spec.joint_names}; the files come from different exports")
    inp = session.get_inputs()[0]
    if inp.shape[-1] != spec.obs_dim:
        raise BundleError(f"{path}: policy.onnx takes {inp.shape[-1]} observations but deploy.yaml's terms add up "
                          f"to {spec.obs_dim}")
    with np.load(path / "parity.npz") as data:
        obs, expected = data["obs"].astype(np.float32), data["actions"].astype(np.float32)
    if obs.ndim != 2 or obs.shape[0] == 0:
        raise BundleError(f"{path}/parity.npz holds no observations")
    got = session.run(["actions"], {"obs": obs})[0]
    if got.shape != expected.shape:
        raise ParityError(f"{path}: policy.onnx gives actions of shape {got.shape}, parity.npz recorded {expected.shape}")
    diff = float(np.max(np.abs(got - expected))) if np.all(np.isfinite(got)) else float("inf")
    if not diff <= tolerance:
        raise ParityError(
            f"bundle {path} refused: policy.onnx differs from the training-time policy on parity.npz by "
            f"{diff:.3g} (> {tolerance:g}); the export lost something (normalizer? weights?). Re-export the bundle."
        )
    return Bundle(path=path, spec=spec, session=session, parity_max_abs_diff=diff)


# ---------------------------------------------------------------------------- writing
def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _resolve_spec(spec) -> DeploySpec:
    if isinstance(spec, DeploySpec):
        return spec.validate()
    if isinstance(spec, str):
        from simreal.deploy.from_task import deploy_spec_from_task

        return deploy_spec_from_task(spec)
    if isinstance(spec, dict):
        return DeploySpec.from_dict(spec)
    from simreal.deploy.from_task import deploy_spec_from_cfg

    return deploy_spec_from_cfg(spec)


def write_bundle(out_dir, policy, spec, example_obs, provenance: dict | None = None,
                 tolerance: float = PARITY_TOLERANCE) -> Bundle:
    """Export ``policy`` into a bundle at ``out_dir`` (see the module docstring)."""
    import copy

    import torch

    spec = copy.deepcopy(_resolve_spec(spec))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    policy = copy.deepcopy(policy).to("cpu").eval()
    obs = torch.as_tensor(np.asarray(example_obs, dtype=np.float32) if not torch.is_tensor(example_obs)
                          else example_obs.detach().to("cpu", torch.float32))
    if obs.ndim != 2 or obs.shape[1] != spec.obs_dim:
        raise BundleError(f"example_obs must be [N, {spec.obs_dim}] (deploy spec's observation terms), got {tuple(obs.shape)}")
    with torch.no_grad():
        actions = policy(obs).float()
    if actions.ndim != 2 or actions.shape[1] != spec.num_actions:
        raise BundleError(f"policy maps [N, {spec.obs_dim}] to {tuple(actions.shape)}, expected [N, {spec.num_actions}]")
    if not torch.isfinite(actions).all():
        raise BundleError("the policy gives non-finite actions on example_obs; it cannot be deployed")

    spec.provenance = {**spec.provenance, **(provenance or {})}
    spec.provenance.setdefault("git_commit", _git_commit())
    spec.provenance["torch_version"] = str(torch.__version__)
    for name in FILES:
        (out / name).unlink(missing_ok=True)

    _export_onnx(policy, obs, out / "policy.onnx", spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(policy, obs[:1], check_trace=False)
    traced.save(str(out / "policy.pt"))
    with torch.no_grad():
        ts_diff = float((torch.jit.load(str(out / "policy.pt"))(obs) - actions).abs().max())
    if not ts_diff <= tolerance:
        raise ParityError(f"policy.pt differs from the policy by {ts_diff:.3g} (> {tolerance:g})")
    np.savez(out / "parity.npz", obs=obs.numpy(), actions=actions.numpy())
    spec.provenance["onnx_sha256"] = hashlib.sha256((out / "policy.onnx").read_bytes()).hexdigest()
    spec.save(out / "deploy.yaml")
    return load_bundle(out, tolerance=tolerance)


def _export_onnx(policy, obs, path: Path, spec: DeploySpec) -> None:
    import onnx
    import torch

    class _Float32Out(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, obs):
            return self.m(obs).float()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Float32Out(policy), (obs[:1],), str(path), input_names=["obs"], output_names=["actions"],
            dynamic_axes={"obs": {0: "batch"}, "actions": {0: "batch"}}, opset_version=17, dynamo=False,
        )
    model = onnx.load(str(path))
    meta = {
        "joint_names": json.dumps(spec.joint_names),
        "default_joint_pos": json.dumps(spec.default_joint_pos),
        "action_type": spec.action.type,
        "action_scale": json.dumps(spec.action.scale),
        "control_period_s": json.dumps(spec.control_period_s),
        "observation_terms": json.dumps([t.name for t in spec.observations]),
        "producer": "simreal.export",
    }
    for k, v in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
