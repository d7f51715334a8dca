"""``deploy.yaml``: everything a deployment needs to rebuild training's observation and
action maths on a real robot, as plain data.

Joint-indexed lists follow ``joint_names`` (the robot's canonical order). Observation
terms are listed in the order the policy's input vector concatenates them.

Observation sources (what a deployment can measure):
  ``joint_pos_rel``  measured joint positions minus ``default_joint_pos``, rad (num_joints)
  ``joint_pos``      measured joint positions, rad (num_joints)
  ``joint_vel``      measured joint velocities, rad/s (num_joints)
  ``last_action``    the policy's previous raw output (num_actions)
  ``pose_position``  position of a pose input (``input``, e.g. "target", from a
                     ``geometry_msgs/PoseStamped`` in the robot base frame), m (3)
Each term is multiplied by ``scale``; with ``history`` > 1 the last ``history`` values
are concatenated oldest first (filled with the first value after a reset).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from simreal.errors import SimrealError

FORMAT_VERSION = 1
OBS_SOURCES = ("joint_pos_rel", "joint_pos", "joint_vel", "last_action", "pose_position")
ACTION_TYPES = ("joint_position_delta", "joint_position")


class SpecError(SimrealError):
    """A deploy.yaml that is incomplete or inconsistent."""


@dataclass
class ObsTermSpec:
    name: str
    source: str
    dim: int
    scale: float = 1.0
    history: int = 1
    input: str | None = None  # for pose_position: which pose input ("target")

    @property
    def total_dim(self) -> int:
        return self.dim * self.history


@dataclass
class ActionSpec:
    """joint_position_delta: target <- clip(target + scale * clip(a, -clip, clip), limits),
    the target starting at the measured pose (as ``simreal.envs.actions``).
    joint_position: target <- clip(offset + scale * clip(a, -clip, clip), limits);
    ``offset`` (per joint) defaults to the default pose."""

    type: str = "joint_position_delta"
    scale: float = 0.05
    clip: float = 1.0
    offset: list[float] | None = None
    num_actions: int = 0


@dataclass
class DeploySpec:
    robot: str
    joint_names: list[str]
    default_joint_pos: list[float]
    control_period_s: float
    action: ActionSpec
    observations: list[ObsTermSpec]
    joint_pos_limits: list[list[float]]  # [[lower, upper], ...] rad
    joint_vel_limits: list[float]  # rad/s
    max_step_per_tick: list[float]  # rad; the safety filter's per-tick bound on command change
    provenance: dict = field(default_factory=dict)
    # recurrent policies: their state tensors by name, per-sample shape, in ONNX input order
    # ("<name>_in" -> "<name>_out"); None for feed-forward policies
    recurrent_state: dict[str, list[int]] | None = None
    format_version: int = FORMAT_VERSION

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def obs_dim(self) -> int:
        return sum(t.total_dim for t in self.observations)

    @property
    def num_actions(self) -> int:
        return self.action.num_actions

    def pose_inputs(self) -> list[str]:
        return sorted({t.input for t in self.observations if t.source == "pose_position"})

    def validate(self) -> "DeploySpec":
        n = self.num_joints
        if self.format_version != FORMAT_VERSION:
            raise SpecError(f"deploy.yaml format_version {self.format_version} is not supported (this simreal reads {FORMAT_VERSION})")
        if n == 0 or len(set(self.joint_names)) != n:
            raise SpecError(f"joint_names must be non-empty and unique, got {self.joint_names}")
        for key in ("default_joint_pos", "joint_pos_limits", "joint_vel_limits", "max_step_per_tick"):
            if len(getattr(self, key)) != n:
                raise SpecError(f"{key} has {len(getattr(self, key))} entries but there are {n} joint_names; "
                                f"give one per joint in joint_names order")
        if not self.control_period_s > 0:
            raise SpecError(f"control_period_s must be > 0, got {self.control_period_s}")
        if self.action.type not in ACTION_TYPES:
            raise SpecError(f"action.type {self.action.type!r} is not deployable; supported: {list(ACTION_TYPES)}")
        if self.action.num_actions != n:
            raise SpecError(f"action.num_actions is {self.action.num_actions} but the arm has {n} joints; "
                            f"only one action per arm joint is deployable")
        if self.action.offset is not None and len(self.action.offset) != n:
            raise SpecError(f"action.offset needs {n} values, got {len(self.action.offset)}")
        expected = {"joint_pos_rel": n, "joint_pos": n, "joint_vel": n, "last_action": self.action.num_actions,
                    "pose_position": 3}
        for t in self.observations:
            if t.source not in OBS_SOURCES:
                raise SpecError(f"observation term {t.name!r}: unknown source {t.source!r}; supported: {list(OBS_SOURCES)}")
            if t.dim != expected[t.source]:
                raise SpecError(f"observation term {t.name!r} ({t.source}) has dim {t.dim}, expected {expected[t.source]}")
            if t.history < 1:
                raise SpecError(f"observation term {t.name!r}: history must be >= 1")
            if t.source == "pose_position" and not t.input:
                raise SpecError(f"observation term {t.name!r}: pose_position needs 'input' (e.g. target)")
        for (lo, hi), name in zip(self.joint_pos_limits, self.joint_names):
            if not lo < hi:
                raise SpecError(f"joint {name!r}: position limits {lo}..{hi} are empty")
        return self

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict:
        d = asdict(self)
        d["obs_dim"] = self.obs_dim  # informative; recomputed on load
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DeploySpec":
        d = dict(d)
        d.pop("obs_dim", None)
        try:
            d["action"] = ActionSpec(**d["action"])
            d["observations"] = [ObsTermSpec(**t) for t in d["observations"]]
            spec = cls(**d)
        except (KeyError, TypeError) as err:
            raise SpecError(f"deploy.yaml is missing or has an unknown field: {err}") from None
        spec.joint_pos_limits = [[float(lo), float(hi)] for lo, hi in spec.joint_pos_limits]
        spec.joint_vel_limits = [float(v) for v in spec.joint_vel_limits]
        spec.max_step_per_tick = [float(v) for v in spec.max_step_per_tick]
        return spec.validate()

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "DeploySpec":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"deploy spec {path} does not exist")
        data = yaml.safe_load(path.read_text())
        if not isinstance(data, dict):
            raise SpecError(f"{path} is not a deploy.yaml mapping")
        return cls.from_dict(data)


def max_step_from_vel_limits(vel_limits, period_s: float) -> list[float]:
    """Per-tick step bound: velocity limit times the control period (inf stays inf)."""
    return [float(v) * period_s if math.isfinite(v) else math.inf for v in vel_limits]
