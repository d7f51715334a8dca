"""Deploy bundles: a directory a robot can run without simreal's training stack.

Layout::

    BUNDLE/policy.onnx   input "obs" float32 [batch, obs_dim] -> output "actions" float32
                         [batch, num_actions]; observation normalizer inside; metadata
                         props carry joint names, default pose, action type/scale, period
    BUNDLE/policy.pt     TorchScript, same maths
    BUNDLE/deploy.yaml   simreal.deploy.spec.DeploySpec (joints, period, action, obs terms, limits, provenance)
    BUNDLE/parity.npz    obs [N, obs_dim] and the actions [N, num_actions] the training-time policy gave
    BUNDLE/kinematics.xml  the arm's kinematics-only MJCF (tool-point actions, ee_pos terms only)

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

Recurrent policies declare ``recurrent_state_shapes = {"h": (layers, hidden), ...}`` and map
``forward(obs, *states) -> (actions, *new_states)`` (states [B, *shape]); the ONNX graph
then has inputs ``obs, h_in, ...`` and outputs ``actions, h_out, ...`` (hidden state
explicit), deploy.yaml lists ``recurrent_state``, and parity.npz holds one sequence
replayed from the zero state.

Loading: ``load_bundle(path) -> Bundle`` validates deploy.yaml, checks that policy.onnx and
parity.npz are the files it was exported with (sha256) and that the ONNX metadata's
``deploy_spec`` equals deploy.yaml (safety limits may be tightened), replays parity.npz
through ONNX Runtime and refuses (ParityError) when any action differs by more than 1e-5;
every fault is a BundleError naming the file and field. ``bundle.act(obs)``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simreal.deploy.spec import DeploySpec, SpecError, upgrade
from simreal.errors import InputError, SimrealError

PARITY_TOLERANCE = 1e-5
FILES = ("policy.onnx", "policy.pt", "deploy.yaml", "parity.npz", "kinematics.xml")


class BundleError(SimrealError):
    """A bundle directory that is incomplete or inconsistent."""


class ParityError(BundleError):
    """The exported policy does not reproduce the training-time policy."""


@dataclass
class Bundle:
    """A loaded bundle. ``act`` runs the ONNX policy; a recurrent policy carries its state
    from call to call (batch of one) until ``reset_state``."""

    path: Path
    spec: DeploySpec
    session: object  # onnxruntime.InferenceSession
    parity_max_abs_diff: float
    state: dict | None = None
    kinematics: object = None  # simreal.deploy.kinematics.Kinematics, when the spec needs it

    def reset_state(self) -> None:
        """Zero the recurrent state (at the start of an episode / of the policy)."""
        rs = self.spec.recurrent_state
        self.state = {k: np.zeros((1, *shape), np.float32) for k, shape in rs.items()} if rs else None

    def act(self, obs: np.ndarray) -> np.ndarray:
        """obs (obs_dim,) or (B, obs_dim) -> actions (num_actions,) or (B, num_actions), float32."""
        x = np.asarray(obs, dtype=np.float32)
        single = x.ndim == 1
        x = x[None] if single else x
        if self.spec.recurrent_state:
            if x.shape[0] != 1:
                raise InputError("a recurrent bundle acts on one observation at a time")
            if self.state is None:
                self.reset_state()
            names = list(self.spec.recurrent_state)
            feeds = {"obs": x, **{f"{k}_in": self.state[k] for k in names}}
            out = self.session.run(["actions"] + [f"{k}_out" for k in names], feeds)
            self.state = dict(zip(names, out[1:]))
            out = out[0]
        else:
            out = self.session.run(["actions"], {"obs": x})[0]
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
    """Load a bundle and check it as a whole; BundleError naming the file and field on any
    fault. Checks: deploy.yaml valid (``DeploySpec.validate``); policy.onnx and parity.npz
    the files this deploy.yaml was written with (``provenance.onnx_sha256``,
    ``parity_sha256``); every field the ONNX metadata carries equal to deploy.yaml's, except
    the safety limits, which deploy.yaml may tighten but not widen; the parity set replayed
    through ONNX Runtime (ParityError if any action differs by more than ``tolerance``)."""
    path = Path(path)
    if not path.is_dir():
        from simreal.data import shipped_policies

        raise BundleError(f"bundle {path} is not a directory; make one with simreal export or simreal import-rsl-rl, "
                          f"or name a shipped one: {shipped_policies()}")
    missing = [f for f in ("policy.onnx", "deploy.yaml", "parity.npz") if not (path / f).is_file()]
    if missing:
        raise BundleError(f"bundle {path} lacks {missing}; re-export it")
    try:
        spec = DeploySpec.load(path / "deploy.yaml")
    except SpecError as err:
        raise BundleError(f"bundle {path}: deploy.yaml refused: {err}") from None
    _check_hashes(path, spec)
    kinematics = _load_kinematics(path, spec)
    try:
        session = _ort_session(path / "policy.onnx", threads)
    except Exception as err:  # onnxruntime raises its own Fail/InvalidGraph/... types
        raise BundleError(f"bundle {path}: ONNX Runtime cannot load policy.onnx ({type(err).__name__}: "
                          f"{str(err).splitlines()[0][:300] if str(err) else ''})") from None
    _check_metadata(path, spec, session.get_modelmeta().custom_metadata_map)
    _check_io(path, spec, session)
    obs, expected = _parity_set(path, spec)
    bundle = Bundle(path=path, spec=spec, session=session, parity_max_abs_diff=float("nan"), kinematics=kinematics)
    if spec.recurrent_state:  # one sequence from the zero state
        bundle.reset_state()
        got = np.stack([bundle.act(o) for o in obs])
        bundle.reset_state()
    else:
        got = session.run(["actions"], {"obs": obs})[0]
    if got.shape != expected.shape:
        raise ParityError(f"{path}: policy.onnx gives actions of shape {got.shape}, parity.npz recorded "
                          f"{expected.shape}")
    diff = float(np.max(np.abs(got - expected))) if np.all(np.isfinite(got)) else float("inf")
    if not diff <= tolerance:
        raise ParityError(
            f"bundle {path} refused: policy.onnx differs from the training-time policy on parity.npz by "
            f"{diff:.3g} (> {tolerance:g}); the export lost something (normalizer? weights?). Re-export the bundle."
        )
    bundle.parity_max_abs_diff = diff
    return bundle


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hashed_files(spec: DeploySpec) -> list[tuple[str, str]]:
    files = [("policy.onnx", "onnx_sha256"), ("parity.npz", "parity_sha256")]
    if spec.kinematics is not None:
        files.append((spec.kinematics.file, "kinematics_sha256"))
    return files


def _load_kinematics(path: Path, spec: DeploySpec):
    if spec.kinematics is None:
        return None
    from simreal.deploy.kinematics import Kinematics

    try:
        return Kinematics.load(path / spec.kinematics.file, spec.kinematics.site, spec.joint_names)
    except InputError as err:
        raise BundleError(f"bundle {path}: {spec.kinematics.file}: {err}") from None


def _check_hashes(path: Path, spec: DeploySpec) -> None:
    for name, key in _hashed_files(spec):
        if not (path / name).is_file():
            raise BundleError(f"bundle {path} lacks {name} (deploy.yaml's kinematics names it); re-export it")
        want = spec.provenance.get(key)
        if not want:
            raise BundleError(f"bundle {path}: deploy.yaml's provenance has no {key} (a bundle from an older simreal, "
                              f"or hand-made); re-export it with simreal export or simreal import-rsl-rl")
        if _sha256(path / name) != want:
            raise BundleError(f"bundle {path}: {name} is not the file this deploy.yaml was exported with "
                              f"(sha256 differs from provenance.{key}); the files come from different exports. "
                              f"Re-export the bundle")


def _spec_metadata(spec: DeploySpec) -> dict:
    """What policy.onnx carries of its deploy.yaml: every field but provenance."""
    d = spec.to_dict()
    d.pop("provenance")
    d.pop("obs_dim")
    return d


def _check_metadata(path: Path, spec: DeploySpec, meta: dict) -> None:
    if "deploy_spec" not in meta:
        raise BundleError(f"bundle {path}: policy.onnx carries no deploy_spec metadata (exported by an older simreal "
                          f"or another tool); re-export it with simreal export or simreal import-rsl-rl")
    try:
        exported = json.loads(meta["deploy_spec"])
    except json.JSONDecodeError:
        raise BundleError(f"bundle {path}: policy.onnx's deploy_spec metadata is not JSON") from None
    if not isinstance(exported, dict):
        raise BundleError(f"bundle {path}: policy.onnx's deploy_spec metadata is not a mapping")
    exported = upgrade(exported)
    here = json.loads(json.dumps(_spec_metadata(spec)))  # the same JSON round trip
    for key in sorted(set(exported) | set(here)):
        a, b = exported.get(key), here.get(key)
        if key in SAFETY_FIELDS:
            _check_tighter(path, key, a, b)
        elif a != b:
            raise BundleError(f"bundle {path}: deploy.yaml's {key} is {b!r} but policy.onnx was exported with "
                              f"{a!r}; the policy would read or act differently than it was trained to. Re-export")


SAFETY_FIELDS = ("joint_pos_limits", "joint_vel_limits", "max_step_per_tick")


def _check_tighter(path: Path, key: str, exported, here) -> None:
    """deploy.yaml may narrow the safety limits the policy was exported with, never widen them."""
    e, h = np.asarray(exported, dtype=np.float64), np.asarray(here, dtype=np.float64)
    if e.shape != h.shape:
        raise BundleError(f"bundle {path}: deploy.yaml's {key} has shape {h.shape}, policy.onnx's {e.shape}")
    wider = (h[:, 0] < e[:, 0]) | (h[:, 1] > e[:, 1]) if key == "joint_pos_limits" else h > e
    if np.any(wider):
        i = int(np.flatnonzero(wider)[0])
        raise BundleError(f"bundle {path}: deploy.yaml widens {key}[{i}] to {h[i].tolist()} beyond the exported "
                          f"{e[i].tolist()}; limits may only be tightened")


def _check_io(path: Path, spec: DeploySpec, session) -> None:
    names = list(spec.recurrent_state or {})
    want_in, want_out = ["obs"] + [f"{k}_in" for k in names], ["actions"] + [f"{k}_out" for k in names]
    got_in, got_out = [i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()]
    if got_in != want_in or got_out != want_out:
        raise BundleError(f"bundle {path}: policy.onnx has inputs {got_in} and outputs {got_out}; deploy.yaml needs "
                          f"{want_in} -> {want_out}")
    width = session.get_inputs()[0].shape[-1]
    if width != spec.obs_dim:
        raise BundleError(f"{path}: policy.onnx takes {width} observations but deploy.yaml's terms add up "
                          f"to {spec.obs_dim}")


def _parity_set(path: Path, spec: DeploySpec) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path / "parity.npz", allow_pickle=False) as data:
            obs, expected = data["obs"].astype(np.float32), data["actions"].astype(np.float32)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise BundleError(f"bundle {path}: parity.npz is unreadable or lacks obs/actions arrays "
                          f"({type(err).__name__}: {err})") from None
    if obs.ndim != 2 or obs.shape[0] == 0 or obs.shape[1] != spec.obs_dim:
        raise BundleError(f"{path}/parity.npz holds observations of shape {obs.shape}, "
                          f"expected [N > 0, {spec.obs_dim}]")
    if not np.all(np.isfinite(obs)):
        raise BundleError(f"{path}/parity.npz holds non-finite observations")
    return obs, expected


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
        raise BundleError(f"example_obs must be [N, {spec.obs_dim}] (deploy spec's observation terms), got "
                          f"{tuple(obs.shape)}")
    state_shapes = _recurrent_state_shapes(policy)
    spec.recurrent_state = {k: list(v) for k, v in state_shapes.items()} or None
    with torch.no_grad():
        actions = _reference_actions(policy, obs, state_shapes)
    if actions.ndim != 2 or actions.shape[1] != spec.num_actions:
        raise BundleError(f"policy maps [N, {spec.obs_dim}] to {tuple(actions.shape)}, "
                          f"expected [N, {spec.num_actions}]")
    if not torch.isfinite(actions).all():
        raise BundleError("the policy gives non-finite actions on example_obs; it cannot be deployed")

    spec.provenance = {**spec.provenance, **(provenance or {})}
    spec.provenance.setdefault("git_commit", _git_commit())
    spec.provenance["torch_version"] = str(torch.__version__)
    for name in FILES:
        (out / name).unlink(missing_ok=True)

    example = (obs[:1],) + tuple(torch.zeros(1, *shape) for shape in state_shapes.values())
    _export_onnx(policy, example, out / "policy.onnx", spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(policy, example, check_trace=False)
    traced.save(str(out / "policy.pt"))
    with torch.no_grad():
        ts_diff = float((_reference_actions(torch.jit.load(str(out / "policy.pt")), obs, state_shapes)
                         - actions).abs().max())
    if not ts_diff <= tolerance:
        raise ParityError(f"policy.pt differs from the policy by {ts_diff:.3g} (> {tolerance:g})")
    np.savez(out / "parity.npz", obs=obs.numpy(), actions=actions.numpy())
    if spec.kinematics is not None:
        from simreal.sim.scene import kinematics_xml

        (out / spec.kinematics.file).write_text(kinematics_xml(spec.robot))
    for name, key in _hashed_files(spec):
        spec.provenance[key] = _sha256(out / name)
    spec.save(out / "deploy.yaml")
    return load_bundle(out, tolerance=tolerance)


def _recurrent_state_shapes(policy) -> dict:
    """A recurrent policy declares ``recurrent_state_shapes`` ({name: per-sample shape}) and
    maps ``forward(obs, *states) -> (actions, *new_states)``; states are [B, *shape]."""
    shapes = getattr(policy, "recurrent_state_shapes", None) or {}
    return {str(k): tuple(int(d) for d in v) for k, v in shapes.items()}


def _reference_actions(policy, obs, state_shapes: dict):
    """Actions of ``policy`` on obs [N, obs_dim]; a recurrent policy steps through obs as one
    sequence from the zero state."""
    import torch

    if not state_shapes:
        return policy(obs).float()
    states = tuple(torch.zeros(1, *s) for s in state_shapes.values())
    actions = []
    for i in range(obs.shape[0]):
        out = policy(obs[i : i + 1], *states)
        actions.append(out[0].float())
        states = tuple(out[1:])
    return torch.cat(actions)


def _export_onnx(policy, example: tuple, path: Path, spec: DeploySpec) -> None:
    import onnx
    import torch

    names = list(spec.recurrent_state or {})

    class _Float32Out(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, *args):
            out = self.m(*args)
            return out.float() if not names else tuple(o.float() for o in out)

    inputs = ["obs"] + [f"{k}_in" for k in names]
    outputs = ["actions"] + [f"{k}_out" for k in names]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Float32Out(policy), example, str(path), input_names=inputs, output_names=outputs,
            dynamic_axes={n: {0: "batch"} for n in inputs + outputs}, opset_version=17, dynamo=False,
        )
    model = onnx.load(str(path))
    meta = {
        "joint_names": json.dumps(spec.joint_names),
        "default_joint_pos": json.dumps(spec.default_joint_pos),
        "action_type": spec.action.type,
        "action_scale": json.dumps(spec.action.scale),
        "control_period_s": json.dumps(spec.control_period_s),
        "observation_terms": json.dumps([t.name for t in spec.observations]),
        "deploy_spec": json.dumps(_spec_metadata(spec)),  # load_bundle compares it with deploy.yaml field by field
        "producer": "simreal.export",
    }
    for k, v in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
