"""``deploy.yaml``: everything a deployment needs to rebuild training's observation and
action maths on a real robot, as plain data.

Joint-indexed lists follow ``joint_names`` (the robot's canonical order). Observation
terms are listed in the order the policy's input vector concatenates them.

Observation sources (what a deployment can measure):
  ``joint_pos_rel``  measured joint positions minus ``default_joint_pos``, rad (num_joints)
  ``joint_pos``      measured joint positions, rad (num_joints)
  ``joint_vel``      measured joint velocities, rad/s (num_joints)
  ``last_action``    the policy's previous raw output (num_actions)
  ``gripper_width``  sum of the finger joint positions (``finger_joint_names``), m (1)
  ``ee_pos``         the tool point by forward kinematics of the bundle's ``kinematics``, m (3)
  ``ee_rot6``        the tool orientation likewise: its rotation matrix's first two columns (6)
  ``pose_position``  position of a pose input (``input``: "target", an object such as "cube"),
                     from a ``geometry_msgs/PoseStamped`` moved into the robot base frame, m (3)
  ``tactile_summary`` per pad of ``tactile.pads``: [normal force N, contact centroid x, y mm]
                     read from the pad's camera frames (``sensor_msgs/Image``) by
                     :mod:`simreal.sensors.tactile.reader`, as training's
                     ``tactile_contact_summary`` computes them (3 per pad)
Each term is multiplied by ``scale``; with ``history`` > 1 the last ``history`` values
are concatenated oldest first (filled with the first value after a reset). ``noise_std``
(per step) and ``bias_std`` (per episode) are the noise training added to the term: for a
perceived pose, the accuracy the robot's perception must reach. ``perceived`` pose inputs
are streamed by perception (a maximum age applies); the others are goals, set once.

Format 1 (bundles before tool-point actions and the gripper) loads as format 2 with
those fields at their defaults.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from simreal.actions import deployable_types
from simreal.deploy.spec_checks import SpecError, check_spec

FORMAT_VERSION = 2
OBS_SOURCES = ("joint_pos_rel", "joint_pos", "joint_vel", "last_action", "gripper_width", "ee_pos",
               "ee_rot6", "pose_position", "tactile_summary")
FK_SOURCES = ("ee_pos", "ee_rot6")  # computed by forward kinematics of the bundle's kinematics


@dataclass
class ObsTermSpec:
    name: str
    source: str
    dim: int
    scale: float = 1.0
    history: int = 1
    input: str | None = None  # for pose_position: which pose input ("target", "cube")
    noise_std: float = 0.0  # training's per-step Gaussian noise on the term (before scale)
    bias_std: float = 0.0  # training's per-episode offset on the term (before scale)
    perceived: bool = False  # pose_position: streamed by perception (a maximum age applies)

    @property
    def total_dim(self) -> int:
        return self.dim * self.history


@dataclass
class GripperSpec:
    """The gripper column (the action's last): > 0 opens, <= 0 closes, as in training. The
    robot side commands a width (m) that moves toward ``open_width`` or ``closed_width`` at
    most ``max_speed`` m/s; the measured width is the sum of the ``finger_joint_names``."""

    open_width: float
    closed_width: float
    max_speed: float


@dataclass
class ActionSpec:
    """The policy's action: ``type`` names a deployable :mod:`simreal.actions` type, whose
    module defines the maths (joint_position_delta: target <- clip(target + scale * clip(a,
    -clip, clip), limits) from the measured pose; joint_position: target <- clip(offset +
    scale * clip(a, -clip, clip), limits), ``offset`` per joint, default: the default pose;
    ee_position_delta / ee_pose_delta: tool-point steps by differential IK on the bundle's
    kinematics, the tool point kept in ``workspace``). ``max_target_error`` keeps each
    joint target within that many rad of the measured joint. ``num_actions`` counts every
    column, the gripper's included."""

    type: str = "joint_position_delta"
    scale: float = 0.05
    clip: float = 1.0
    offset: list[float] | None = None
    num_actions: int = 0
    max_target_error: float | None = None
    workspace: list[list[float]] | None = None  # [[x_lo, x_hi], [y_lo, y_hi], [z_lo, z_hi]] m, base frame
    gripper: GripperSpec | None = None

    @property
    def num_arm(self) -> int:
        return self.num_actions - (1 if self.gripper is not None else 0)


@dataclass
class KinematicsSpec:
    """The arm's kinematics inside the bundle: a kinematics-only MJCF (bodies, joints, the
    tool site; no meshes), for forward kinematics and the tool-point Jacobian."""

    file: str = "kinematics.xml"
    site: str = "ee"


@dataclass
class TactileSpec:
    """The GelSight-style sensors a policy reads, one camera per pad: ``sensor`` names a model
    of :mod:`simreal.sensors.tactile.sensors` (its gel size, stiffness and default
    calibration); ``pads`` name the inputs in the order the policy reads them (each one
    image topic on the robot)."""

    sensor: str
    pads: list[str]


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
    kinematics: KinematicsSpec | None = None  # needed by tool-point actions and ee_pos terms
    # the hand's finger joints in /joint_states (gripper_width terms, the gripper action)
    finger_joint_names: list[str] = field(default_factory=list)
    tactile: TactileSpec | None = None  # needed by tactile_summary terms
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

    def perceived_inputs(self) -> list[str]:
        return sorted({t.input for t in self.observations if t.source == "pose_position" and t.perceived})

    def tactile_pads(self) -> list[str]:
        """The pads whose images the policy reads (``tactile_summary`` terms), in order."""
        uses = any(t.source == "tactile_summary" for t in self.observations)
        return list(self.tactile.pads) if uses and self.tactile is not None else []

    def measured_joint_names(self) -> list[str]:
        """Every joint /joint_states must carry: the arm's, then the fingers'."""
        return [*self.joint_names, *self.finger_joint_names]

    def needs_kinematics(self) -> bool:
        return self.action.type.startswith("ee_") or any(t.source in FK_SOURCES for t in self.observations)

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
        d = upgrade(d)
        d.pop("obs_dim", None)
        try:
            if not isinstance(d.get("action"), dict):
                raise SpecError(f"action must be a mapping (type, scale, clip, offset, num_actions), got "
                                f"{d.get('action')!r}")
            if not isinstance(d.get("observations"), list) or not all(isinstance(t, dict) for t in d["observations"]):
                raise SpecError("observations must be a list of mappings (name, source, dim, scale, history, input)")
            action = dict(d["action"])
            if action.get("gripper") is not None:
                if not isinstance(action["gripper"], dict):
                    raise SpecError(f"action.gripper must be a mapping (open_width, closed_width, max_speed) "
                                    f"or null, got {action['gripper']!r}")
                action["gripper"] = GripperSpec(**action["gripper"])
            d["action"] = ActionSpec(**action)
            d["observations"] = [ObsTermSpec(**t) for t in d["observations"]]
            if d.get("kinematics") is not None:
                if not isinstance(d["kinematics"], dict):
                    raise SpecError(f"kinematics must be a mapping (file, site) or null, got {d['kinematics']!r}")
                d["kinematics"] = KinematicsSpec(**d["kinematics"])
            if d.get("tactile") is not None:
                if not isinstance(d["tactile"], dict):
                    raise SpecError(f"tactile must be a mapping (sensor, pads) or null, got {d['tactile']!r}")
                d["tactile"] = TactileSpec(**d["tactile"])
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


def upgrade(d: dict) -> dict:
    """A deploy spec mapping of an older format as the current one (new fields at their
    defaults); a copy. Used on deploy.yaml and on the ONNX metadata alike."""
    d = dict(d)
    if d.get("format_version") == 1:
        d["format_version"] = 2
        d.setdefault("kinematics", None)
        d.setdefault("finger_joint_names", [])
        if isinstance(d.get("action"), dict):
            d["action"] = {**d["action"], "max_target_error": None, "workspace": None, "gripper": None}
        if isinstance(d.get("observations"), list):
            d["observations"] = [{**t, "noise_std": 0.0, "bias_std": 0.0, "perceived": False}
                                 if isinstance(t, dict) else t for t in d["observations"]]
    return d


def max_step_from_vel_limits(vel_limits, period_s: float) -> list[float]:
    """Per-tick step bound: velocity limit times the control period."""
    return [float(v) * period_s for v in vel_limits]
