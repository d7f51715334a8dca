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

from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from simreal.actions import deployable_types
from simreal.deploy.spec_checks import SpecError, check_spec

FORMAT_VERSION = 1
OBS_SOURCES = ("joint_pos_rel", "joint_pos", "joint_vel", "last_action", "pose_position")


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
    """The policy's action: ``type`` names a deployable :mod:`simreal.actions` type, whose
    module defines the maths (joint_position_delta: target <- clip(target + scale * clip(a,
    -clip, clip), limits) from the measured pose; joint_position: target <- clip(offset +
    scale * clip(a, -clip, clip), limits), ``offset`` per joint, default: the default pose)."""

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
        """Check the whole spec; SpecError naming the first bad field and its value. Every
        number must be finite and in a physical range (``BOUNDS``), limits ordered, the
        default pose and the action offset inside the limits, the step bound no larger than
        what the velocity limits allow in one period."""
        check_spec(self, FORMAT_VERSION, OBS_SOURCES, deployable_types())
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
            if not isinstance(d.get("action"), dict):
                raise SpecError(f"action must be a mapping (type, scale, clip, offset, num_actions), got "
                                f"{d.get('action')!r}")
            if not isinstance(d.get("observations"), list) or not all(isinstance(t, dict) for t in d["observations"]):
                raise SpecError("observations must be a list of mappings (name, source, dim, scale, history, input)")
            d["action"] = ActionSpec(**d["action"])
            d["observations"] = [ObsTermSpec(**t) for t in d["observations"]]
            spec = cls(**d)
        except TypeError as err:
            raise SpecError(f"deploy.yaml is missing or has an unknown field: {err}") from None
        return spec.validate()

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "DeploySpec":
        path = Path(path)
        if not path.is_file():
            raise SpecError(f"deploy spec {path} does not exist")
        try:
            data = yaml.safe_load(path.read_text())
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            raise SpecError(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise SpecError(f"{path} is not a deploy.yaml mapping")
        return cls.from_dict(data)


def max_step_from_vel_limits(vel_limits, period_s: float) -> list[float]:
    """Per-tick step bound: velocity limit times the control period."""
    return [float(v) * period_s for v in vel_limits]
