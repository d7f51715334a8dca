"""The deployment state machine, free of ROS: joint states and inputs in, joint position
commands out, with soft start, watchdog, e-stop and the safety filter.

States::

    inactive --activate--> soft_start --(ramp done)--> running
    soft_start/running --(joint states or a required input stale)--> stale_hold --(fresh
        again)--> soft_start (short ramp from the held command to the measured pose, ``resume_s``)
    running --pause--> paused --new_episode--> running (a new episode from the measured pose)
    any --estop--> estop --enable--> soft_start;   any --deactivate--> inactive

``tick(now)`` returns the command to publish, or None for "publish nothing" (inactive,
e-stop, stale inputs: a ros2_control position controller then holds its last command).
Soft start ramps from the measured pose to the default pose, then the policy starts with
its action target at the measured pose and a zero last action, as a training episode does.
Pose inputs (targets, perceived objects) are checked too: finite, inside ``pose_box``, and
with a stamp newer than the last one (a frozen stream is not fresh data). Each has a maximum
age: perceived inputs ``perceived_max_age_periods`` control periods by default, goals
``input_timeout_s`` (0: a goal set once stays valid); ``input_max_age_s`` overrides per input.
Tactile pads (``tactile_summary`` terms) are inputs too, one per pad: the summary [normal
force N, centroid x, y mm] the robot side reads from the pad's newest frame, finite, force
not negative, stamp advancing, at most ``tactile_max_age_s`` old.
The gripper column becomes a width command (``gripper_command`` after each tick).
Joint states are checked for plausibility (named joints once each, finite, inside the
position limits plus ``joint_state_margin_rad``, speeds under ``VEL_PLAUSIBLE_FACTOR`` times the
velocity limit); a rejected message does not count as fresh data.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from simreal.actions import processor_for
from simreal.actions.arm import GripperCommand
from simreal.deploy.observations import ObservationBuilder
from simreal.deploy.safety import SafetyFilter
from simreal.deploy.spec import DeploySpec
from simreal.deploy.spec_checks import CONTROL_PERIOD_RANGE_S, check_number
from simreal.deploy.stats import percentiles_ms
from simreal.deploy.trace import Trace, term_layout
from simreal.deploy.watchdog import Watchdog
from simreal.errors import SimrealError

INACTIVE, SOFT_START, RUNNING, STALE_HOLD, ESTOP, PAUSED = (
    "inactive", "soft_start", "running", "stale_hold", "estop", "paused")


VEL_PLAUSIBLE_FACTOR = 3.0  # a measured speed above this many times the velocity limit is a sensor fault


class MissingJointError(SimrealError):
    pass


class ControllerCfgError(SimrealError):
    """A controller parameter outside its valid range."""


@dataclass
class ControllerCfg:
    soft_start_s: float = 2.0  # ramp time from the measured pose to the default pose
    stale_periods: float = 5.0  # joint states older than this many control periods are stale
    resume_s: float = 0.2  # after stale inputs: ramp from the last command to the measured pose
    input_timeout_s: float = 0.0  # > 0: task inputs (target pose) older than this also count as stale
    smoothing: float = 0.0  # exponential smoothing of commands, 0 = off
    max_step_scale: float = 1.0  # multiplies the bundle's max_step_per_tick (at most 1: only tightens)
    control_period_s: float = 0.0  # 0: the bundle's period
    joint_state_margin_rad: float = 0.1  # joint states this far outside the position limits are refused
    perceived_max_age_periods: float = 2.5  # a perceived pose older than this many periods holds the arm
    tactile_max_age_s: float = 0.1  # a tactile pad's summary older than this holds the arm (3 frames at 30 Hz)
    input_max_age_s: dict = field(default_factory=dict)  # per input (pose or pad), s; overrides the defaults above
    # [x_lo, x_hi, y_lo, y_hi, z_lo, z_hi] m, base frame: pose inputs outside are refused
    pose_box: tuple = (-2.0, 2.0, -2.0, 2.0, -1.0, 2.5)

    def validate(self) -> "ControllerCfg":
        """ControllerCfgError naming the first parameter outside its range."""
        def num(name, lo, hi, lo_open=False, what=""):
            check_number(f"controller parameter {name}", getattr(self, name), lo, hi, lo_open, what,
                         error=ControllerCfgError)

        num("soft_start_s", 0.0, 600.0, what=" s")
        num("stale_periods", 1.0, 1000.0, what=" control periods")
        num("resume_s", 0.0, 600.0, what=" s")
        num("input_timeout_s", 0.0, 3600.0, what=" s (0: off)")
        num("max_step_scale", 0.0, 1.0, lo_open=True, what=" (it scales the bundle's step bound down, never up)")
        num("joint_state_margin_rad", 0.0, 1.0, what=" rad")
        num("perceived_max_age_periods", 1.0, 1000.0, what=" control periods")
        num("tactile_max_age_s", 0.0, 60.0, lo_open=True, what=" s")
        if not isinstance(self.input_max_age_s, dict):
            raise ControllerCfgError(f"controller parameter input_max_age_s must map input names to seconds, "
                                     f"got {self.input_max_age_s!r}")
        for name, age in self.input_max_age_s.items():
            check_number(f"controller parameter input_max_age_s[{name!r}]", age, 0.0, 3600.0, lo_open=True,
                         what=" s", error=ControllerCfgError)
        box = list(self.pose_box)
        if len(box) != 6:
            raise ControllerCfgError(f"controller parameter pose_box needs 6 numbers [x_lo, x_hi, y_lo, y_hi, z_lo, "
                                     f"z_hi], got {box!r}")
        for i in range(3):
            lo = check_number(f"controller parameter pose_box[{2 * i}]", box[2 * i], -100.0, 100.0, what=" m",
                              error=ControllerCfgError)
            check_number(f"controller parameter pose_box[{2 * i + 1}]", box[2 * i + 1], lo, 100.0, lo_open=True,
                         what=" m (above the lower bound)", error=ControllerCfgError)
        if not 0.0 <= self.smoothing < 1.0:
            raise ControllerCfgError(f"controller parameter smoothing is {self.smoothing!r}; it must be in [0, 1)")
        if self.control_period_s != 0:
            num("control_period_s", *CONTROL_PERIOD_RANGE_S, what=" s (or 0: the bundle's period)")
        return self


def missing_joints(spec: DeploySpec, names) -> list[str]:
    have = set(names)
    return [j for j in spec.measured_joint_names() if j not in have]


def missing_joints_message(spec: DeploySpec, names) -> str:
    missing = missing_joints(spec, names)
    return (f"bundle expects joints {missing} but /joint_states has {list(names)}; "
            f"missing joints: {', '.join(missing)}; check the robot's joint names")


class DeployController:
    """policy: callable (obs_dim,) float32 -> (num_actions,) float32; reset_policy: called
    when the policy (re)starts, e.g. to zero a recurrent state (``Bundle.reset_state``)."""

    def __init__(self, spec: DeploySpec, policy, cfg: ControllerCfg | None = None, reset_policy=None,
                 kinematics=None):
        self.spec = spec
        self.policy = policy
        self.reset_policy = reset_policy
        self.cfg = (cfg or ControllerCfg()).validate()
        spec.validate()
        self.period_s = self.cfg.control_period_s or spec.control_period_s
        self.obs_builder = ObservationBuilder(spec, kinematics)
        self.actions = processor_for(spec, kinematics)
        g = spec.action.gripper
        self.gripper = GripperCommand(g, self.period_s) if g is not None else None
        self.gripper_command: float | None = None  # the width to publish after this tick, m
        self.num_arm = spec.action.num_arm
        limits = np.asarray(spec.joint_pos_limits, dtype=np.float64)
        self.lower, self.upper = limits[:, 0], limits[:, 1]
        self.vel_limits = np.asarray(spec.joint_vel_limits, dtype=np.float64)
        # per-tick bound follows the loop period actually run (velocity limit * period)
        step = np.asarray(spec.max_step_per_tick) * (self.period_s / spec.control_period_s) * self.cfg.max_step_scale
        self.safety = SafetyFilter(self.lower, self.upper, step, self.cfg.smoothing)
        self.watchdog = Watchdog(self.cfg.stale_periods * self.period_s)
        self.default = np.asarray(spec.default_joint_pos, dtype=np.float64)
        n = spec.num_joints
        self.joint_pos = np.full(n, np.nan)
        self.joint_vel = np.zeros(n)
        self.joint_stamp = None
        self.finger_pos = np.zeros(len(spec.finger_joint_names))
        self.pads = spec.tactile_pads()
        both = sorted(set(self.pads) & set(spec.pose_inputs()))
        if both:
            raise ControllerCfgError(f"inputs {both} are both pose inputs and tactile pads; rename one")
        self.inputs: dict[str, np.ndarray | None] = {name: None for name in [*spec.pose_inputs(), *self.pads]}
        unknown = sorted(set(self.cfg.input_max_age_s) - set(self.inputs))
        if unknown:
            raise ControllerCfgError(f"input_max_age_s names {unknown}, which this bundle does not read; its "
                                     f"inputs: {sorted(self.inputs)}")
        perceived = set(spec.perceived_inputs())
        perceived_age = self.cfg.perceived_max_age_periods * self.period_s

        def default_age(name: str) -> float:
            if name in self.pads:
                return self.cfg.tactile_max_age_s
            return perceived_age if name in perceived else self.cfg.input_timeout_s

        self.input_max_age = {name: float(self.cfg.input_max_age_s.get(name, default_age(name)))
                              for name in self.inputs}
        self.input_stamps: dict[str, float | None] = {name: None for name in self.inputs}
        self.input_counters = {name: {"received": 0, "rejected": 0, "stale_events": 0} for name in self.inputs}
        self.input_reject_reason = {name: "" for name in self.inputs}
        self.stale_inputs: list[str] = []
        box = np.asarray(self.cfg.pose_box, dtype=np.float64).reshape(3, 2)
        self.pose_lo, self.pose_hi = box[:, 0], box[:, 1]
        self.last_action = np.zeros(spec.num_actions, dtype=np.float32)
        self.state = INACTIVE
        self._ramp_start = None
        self._ramp_goal = self.default
        self._ramp_s = self.cfg.soft_start_s
        self._ramp_t0 = 0.0
        self._stale_from = INACTIVE  # the state a stale gap interrupted
        self._keep_gripper = False  # a resume: the gripper width goes on from its last command
        self._resuming = False  # the soft start under way ramps back to a running policy (not to the default pose)
        self._index_cache: dict[tuple, np.ndarray] = {}
        self.inference_s: deque[float] = deque(maxlen=20000)
        self.action_s: deque[float] = deque(maxlen=20000)  # action processing (the IK of tool-point actions)
        self.counters = {"rejected_joint_states": 0, "stale_events": 0, "nonfinite_actions": 0, "commands": 0,
                         "estops": 0}
        self.last_reject_reason = ""
        self.events: deque[str] = deque(maxlen=50)
        self.trace: Trace | None = None  # start_trace()

    # ------------------------------------------------------------- inputs
    def _index(self, names) -> np.ndarray:
        key = tuple(names)
        idx = self._index_cache.get(key)
        if idx is None:
            missing = missing_joints(self.spec, names)
            if missing:
                raise MissingJointError(missing_joints_message(self.spec, names))
            twice = sorted({j for j in self.spec.measured_joint_names() if list(names).count(j) > 1})
            if twice:
                raise MissingJointError(f"JointState lists joints {twice} more than once; which value is real?")
            pos = {n: i for i, n in enumerate(names)}
            idx = np.array([pos[j] for j in self.spec.measured_joint_names()], dtype=np.int64)
            self._index_cache[key] = idx
        return idx

    def update_joint_state(self, names, positions, velocities, now: float) -> str | None:
        """Map a JointState by name. Returns None if accepted, else why it was rejected
        (a rejected message does not refresh the watchdog)."""
        try:
            idx = self._index(names)
        except MissingJointError as err:
            return self._reject(str(err))
        positions = np.asarray(positions, dtype=np.float64)
        velocities = np.asarray(velocities, dtype=np.float64)
        if len(positions) != len(names):
            return self._reject(f"JointState has {len(names)} names but {len(positions)} positions")
        n = self.spec.num_joints
        q, fingers = positions[idx[:n]], positions[idx[n:]]
        if len(velocities) == len(names):
            v = velocities[idx[:n]]
        else:
            v = np.zeros_like(q)  # no velocities on the wire; joint_vel terms then read zeros
        if not (np.all(np.isfinite(q)) and np.all(np.isfinite(v)) and np.all(np.isfinite(fingers))):
            return self._reject("JointState contains NaN or inf for a bundle joint")
        margin = self.cfg.joint_state_margin_rad
        outside = np.flatnonzero((q < self.lower - margin) | (q > self.upper + margin))
        if outside.size:
            i = int(outside[0])
            return self._reject(f"JointState puts {self.spec.joint_names[i]} at {q[i]:.6g} rad, outside its limits "
                                f"[{self.lower[i]:.4g}, {self.upper[i]:.4g}] by more than {margin:g} rad")
        fast = np.flatnonzero(np.abs(v) > VEL_PLAUSIBLE_FACTOR * self.vel_limits)
        if fast.size:
            i = int(fast[0])
            return self._reject(f"JointState gives {self.spec.joint_names[i]} a speed of {v[i]:.6g} rad/s, over "
                                f"{VEL_PLAUSIBLE_FACTOR:g} x its velocity limit {self.vel_limits[i]:.4g} rad/s")
        self.joint_pos, self.joint_vel, self.joint_stamp, self.finger_pos = q, v, now, fingers
        self.watchdog.feed("joint_states", now)
        return None

    def _reject(self, reason: str) -> str:
        self.counters["rejected_joint_states"] += 1
        self.last_reject_reason = reason
        return reason

    def set_input(self, name: str, value, now: float, stamp: float | None = None) -> str | None:
        """A pose input's position (3,), base frame, m, or a tactile pad's summary (3,);
        ``stamp``: its header time (s), which must advance. Returns None if accepted, else why
        it was refused (a refused sample does not refresh the input's age)."""
        if name not in self.inputs:
            return f"unknown input {name!r}; this bundle reads {sorted(self.inputs)}"
        value = np.asarray(value, dtype=np.float64).reshape(-1)
        reason = None
        what = "summary" if name in self.pads else "position"
        if value.shape != (3,) or not np.all(np.isfinite(value)):
            reason = f"{name}: {what} {value.tolist()} is not 3 finite numbers"
        elif name in self.pads and value[0] < 0:
            reason = f"{name}: normal force {value[0]:.6g} N is negative"
        elif name not in self.pads and (np.any(value < self.pose_lo) or np.any(value > self.pose_hi)):
            reason = (f"{name}: position {np.round(value, 4).tolist()} m is outside pose_box "
                      f"{np.stack([self.pose_lo, self.pose_hi], 1).tolist()}")
        elif stamp is not None and self.input_stamps[name] is not None and stamp <= self.input_stamps[name]:
            reason = f"{name}: stamp {stamp:.6f} s does not advance (last {self.input_stamps[name]:.6f} s): frozen"
        if reason is not None:
            self.input_counters[name]["rejected"] += 1
            self.input_reject_reason[name] = reason
            return reason
        self.inputs[name] = value
        self.input_stamps[name] = stamp
        self.input_counters[name]["received"] += 1
        self.watchdog.feed(name, now)
        return None

    # ------------------------------------------------------------- transitions
    def activate(self, now: float) -> None:
        self._begin_soft_start(now)

    def deactivate(self) -> None:
        self._set(INACTIVE)

    def estop(self) -> None:
        self.counters["estops"] += 1
        self._set(ESTOP)

    def enable(self, now: float) -> None:
        """Leave e-stop (or inactive) through the soft start."""
        self._begin_soft_start(now)

    def pause(self) -> bool:
        """Stop commanding between episodes (the arm's controller holds). Allowed while the
        policy runs, holds for a stale input or ramps back after one (an episode ending in a
        hold must not leave the policy to resume during the next reset); False otherwise (not
        during the soft start to the default pose, nor after an e-stop)."""
        if not self._policy_underway():
            return False
        self._set(PAUSED)
        return True

    def _policy_underway(self) -> bool:
        """The policy runs, or holds for a stale input or ramps back to it after one."""
        if self.state == STALE_HOLD:
            return self._stale_from == RUNNING or (self._stale_from == SOFT_START and self._resuming)
        return self.state == RUNNING or (self.state == SOFT_START and self._resuming)

    def new_episode(self, now: float) -> str | None:
        """Start a new episode at the measured pose, as a training episode starts: the step
        bound counts from the measured pose, action target there, zero last action, empty
        history, gripper from its measured width. Allowed when running or paused with fresh
        joint states; returns why not otherwise."""
        if self.state not in (RUNNING, PAUSED):
            return f"cannot start an episode in state {self.state} (running or paused needed)"
        if self.watchdog.stale(["joint_states"], now):
            return "joint states are stale"
        self.safety.reset(self.joint_pos.copy())
        self._keep_gripper = False
        self._start_policy()
        return None

    def _set(self, state: str) -> None:
        if state != self.state:
            self.events.append(f"{self.state} -> {state}")
        self.state = state

    def _begin_soft_start(self, now: float) -> None:
        """From the measured pose (nothing commanded yet, or after e-stop) to the default pose."""
        self._ramp_start = self.joint_pos.copy()
        self._ramp_goal = self.default
        self._ramp_s = self.cfg.soft_start_s
        self._ramp_t0 = now
        self._keep_gripper = False
        self._resuming = False
        self.safety.reset(self._ramp_start)
        self._set(SOFT_START)

    def _resume(self, now: float) -> None:
        """Fresh data after a gap. The ramp starts at the last command (the arm's controller
        held it) and the step bound still counts from it: a measured pose that moved, or a
        glitch, cannot make the next command jump. A running policy ramps to the measured pose
        and restarts from it, its gripper width going on from its last command (the fingers
        held it: a hand closed on an object does not loosen), and so does one whose ramp back was
        interrupted (a flapping input never sends the arm home); an interrupted soft start goes
        on to the default pose."""
        last = self.safety.last
        if last is None:  # nothing commanded yet
            self._begin_soft_start(now)
            return
        to_default = not self._policy_underway()
        self._resuming = not to_default
        self._ramp_start = last.copy()
        self._ramp_goal = self.default.copy() if to_default else np.clip(self.joint_pos, self.lower, self.upper)
        self._ramp_s = self.cfg.soft_start_s if to_default else self.cfg.resume_s
        self._ramp_t0 = now
        self._keep_gripper = not to_default
        self._set(SOFT_START)

    def _start_policy(self) -> None:
        self.actions.reset(self.joint_pos)
        if self.gripper is not None and not self._keep_gripper:
            self.gripper.reset(float(np.sum(self.finger_pos)))
        self._keep_gripper = self._resuming = False
        self.obs_builder.reset()
        self.last_action = np.zeros(self.spec.num_actions, dtype=np.float32)
        if self.reset_policy is not None:
            self.reset_policy()
        self._set(RUNNING)

    # ------------------------------------------------------------- the loop
    def tick(self, now: float) -> np.ndarray | None:
        self.gripper_command = None
        if self.state in (INACTIVE, ESTOP, PAUSED):
            return None
        stale_inputs = self._stale_inputs(now)
        if self.watchdog.stale(["joint_states"], now) or stale_inputs:
            if self.state != STALE_HOLD:
                self.counters["stale_events"] += 1
                for name in stale_inputs:
                    self.input_counters[name]["stale_events"] += 1
                self._stale_from = self.state
                self._set(STALE_HOLD)
            self.stale_inputs = stale_inputs
            return None
        self.stale_inputs = []
        if self.state == STALE_HOLD:
            self._resume(now)
        if self.state == SOFT_START and not np.all(np.isfinite(self._ramp_start)):
            self._begin_soft_start(now)  # activated before any joint state arrived
        if self.state == SOFT_START:
            cmd = self._soft_start_command(now)
        else:
            cmd = self._policy_command(now)
        if cmd is not None:
            self.counters["commands"] += 1
        return cmd

    def _stale_inputs(self, now: float) -> list[str]:
        """Inputs received once whose last accepted sample is older than their maximum age."""
        return [k for k, age in self.input_max_age.items()
                if age > 0 and self.inputs[k] is not None and self.watchdog.age(k, now) > age]

    def _soft_start_command(self, now: float) -> np.ndarray | None:
        a = min(max((now - self._ramp_t0) / max(self._ramp_s, 1e-9), 0.0), 1.0)
        s = a * a * (3.0 - 2.0 * a)  # smoothstep: zero velocity at both ends
        cmd, _ = self.safety.filter(self._ramp_start + s * (self._ramp_goal - self._ramp_start))
        if a >= 1.0 and cmd is not None and np.allclose(cmd, self._ramp_goal, rtol=0.0, atol=1e-9):
            self._start_policy()  # the ramp is over and the step bound let the command arrive
        return cmd

    def _policy_command(self, now: float) -> np.ndarray | None:
        if any(v is None for v in self.inputs.values()):
            return None if self.safety.last is None else self.safety.last.copy()  # hold until a target arrives
        obs = self.obs_builder.build(self.joint_pos, self.joint_vel, self.inputs, self.last_action, self.finger_pos)
        t0 = time.perf_counter()
        action = np.asarray(self.policy(obs), dtype=np.float32).reshape(-1)
        self.inference_s.append(time.perf_counter() - t0)
        if action.shape[0] != self.spec.num_actions or not np.all(np.isfinite(action)):
            self.counters["nonfinite_actions"] += 1
            return None if self.safety.last is None else self.safety.last.copy()
        t0 = time.perf_counter()
        target = self.actions.process(action[: self.num_arm], self.joint_pos)
        self.action_s.append(time.perf_counter() - t0)
        cmd, hits = self.safety.filter(target)
        if hits:
            self.actions.sync(cmd)
        if self.gripper is not None:
            self.gripper_command = self.gripper.process(float(action[self.num_arm]))
        self.last_action = action
        if self.trace is not None:
            self.trace.add(now, obs=obs, action=action, command=cmd,
                           ages=[self.watchdog.age(k, now) for k in self.trace.meta["age_names"]])
        return cmd

    def start_trace(self) -> Trace:
        """Record each policy tick from now on (:mod:`simreal.deploy.trace`): its observation,
        action, command, and the age (s since arrival) of the joint states and of each input."""
        layout = term_layout(self.spec)
        ages = ["joint_states", *self.inputs]
        self.trace = Trace({"obs": self.spec.obs_dim, "action": self.spec.num_actions,
                            "command": self.spec.num_joints, "ages": len(ages)},
                           meta={"terms": [n for n, _, _ in layout], "bounds": [[a, b] for _, a, b in layout],
                                 "age_names": ages})
        return self.trace

    # ------------------------------------------------------------- reporting
    def observation_age(self, now: float) -> float:
        return self.watchdog.age("joint_states", now)

    def status(self, now: float) -> dict:
        inf, act = percentiles_ms(self.inference_s), percentiles_ms(self.action_s)
        return {
            "state": self.state,
            "observation_age_ms": self.observation_age(now) * 1e3,
            "inference_p50_ms": inf["p50"],
            "inference_p99_ms": inf["p99"],
            "action_p50_ms": act["p50"],
            "action_p99_ms": act["p99"],
            "safety_interventions": dict(self.safety.counts),
            **self.counters,
            "last_reject_reason": self.last_reject_reason,
            "stale_inputs": list(self.stale_inputs),
            "inputs": {name: {"age_ms": (self.watchdog.age(name, now) * 1e3 if self.inputs[name] is not None
                                         else None), "max_age_ms": self.input_max_age[name] * 1e3,
                              **self.input_counters[name], "last_reject_reason": self.input_reject_reason[name]}
                       for name in self.inputs},
            "gripper_width_m": float(np.sum(self.finger_pos)) if self.spec.finger_joint_names else None,
        }
