"""A safe excitation of an arm's joints for system identification, free of ROS.

Each joint follows a multisine around the robot's default pose: the harmonics of a
``period_s`` base frequency up to ``max_freq_hz``, dealt out to the joints in turn (joint
``j`` gets harmonics ``j+1, j+1+n, j+1+2n, ...`` for ``n`` joints) so no two joints share a
frequency and each joint's response can be told apart, with Schroeder phases for a low crest
factor and amplitudes falling as ``1/sqrt(f)``. The amplitudes are scaled so that, by
construction (sum of the sines' peaks), every joint stays within ``amplitude_rad`` of the
default pose and ``margin_rad`` inside its limits, and moves at most ``speed_fraction`` of its
velocity limit. The excitation starts wherever the arm is: a smoothstep move to the default
pose (``move_s``), the multisine faded in and out over ``fade_s``, and the default pose held
at the end. A per-tick step bound and the limit clamp are applied on top, so no command ever
exceeds them whatever the arm's starting pose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simreal.errors import InputError


@dataclass(frozen=True)
class ExcitationCfg:
    duration_s: float = 30.0  # the multisine, fades included (the move to the default pose comes first)
    amplitude_rad: float = 0.2  # at most this far from the default pose, per joint
    speed_fraction: float = 0.3  # of each joint's velocity limit
    max_freq_hz: float = 3.0
    period_s: float = 10.0  # base period: the lowest frequency is 1 / period_s
    move_s: float = 3.0  # smoothstep from the measured pose to the default pose
    fade_s: float = 2.0
    margin_rad: float = 0.1  # kept from every joint limit

    def check(self) -> None:
        for name in ("duration_s", "amplitude_rad", "speed_fraction", "max_freq_hz", "period_s", "move_s", "fade_s",
                     "margin_rad"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise InputError(f"excitation {name} must be finite and non-negative, got {v!r}")
        if self.duration_s < 2 * self.fade_s + 1.0:
            raise InputError(f"excitation duration_s {self.duration_s} s leaves no time between the {self.fade_s} s "
                             f"fades; give at least {2 * self.fade_s + 1.0} s (30 s or more to identify anything)")
        if not 0 < self.speed_fraction <= 0.5:
            raise InputError(f"excitation speed_fraction must be in (0, 0.5] of the velocity limits, "
                             f"got {self.speed_fraction}")
        if not 0 < self.amplitude_rad <= 0.5:
            raise InputError(f"excitation amplitude_rad must be in (0, 0.5] rad, got {self.amplitude_rad}")
        if self.period_s <= 0 or self.max_freq_hz * self.period_s < 1:
            raise InputError(f"excitation max_freq_hz {self.max_freq_hz} is below the base frequency "
                             f"1/period_s = {1 / max(self.period_s, 1e-9):.3g} Hz")


class Excitation:
    """``command(t, start)``: the joint targets at ``t`` seconds after the start, for an arm
    that was at ``start`` (rad) at ``t = 0``; ``total_s``: when it is over."""

    def __init__(self, robot, cfg: ExcitationCfg = ExcitationCfg(), control_period_s: float = 0.01):
        cfg.check()
        self.cfg = cfg
        n = robot.num_joints
        self.default = np.asarray(robot.default_joint_pos, dtype=np.float64)
        lim = np.asarray(robot.joint_pos_limits, dtype=np.float64)
        self.names = robot.joint_names
        self.hard_lower, self.hard_upper = lim[:, 0], lim[:, 1]
        self.lower, self.upper = lim[:, 0] + cfg.margin_rad, lim[:, 1] - cfg.margin_rad
        if np.any(self.default < self.lower) or np.any(self.default > self.upper):
            raise InputError(f"robot {robot.name!r}: its default pose is within {cfg.margin_rad} rad of a limit")
        vmax = cfg.speed_fraction * np.asarray(robot.joint_vel_limits, dtype=np.float64)
        self.max_step = vmax * control_period_s
        harmonics = np.arange(1, int(cfg.max_freq_hz * cfg.period_s) + 1)
        self.freqs, self.amps, self.phases = [], [], []
        room = np.minimum(cfg.amplitude_rad, np.minimum(self.upper - self.default, self.default - self.lower))
        for j in range(n):
            k = harmonics[j::n]
            if k.size == 0:
                raise InputError(f"excitation: max_freq_hz * period_s = {harmonics.size} harmonics cannot give each "
                                 f"of the {n} joints its own; raise max_freq_hz or period_s")
            f = k / cfg.period_s
            shape = f ** -0.5
            scale = min(room[j] / shape.sum(), vmax[j] / (2 * np.pi * (shape * f).sum()))
            self.freqs.append(f)
            self.amps.append(scale * shape)
            m = np.arange(1, k.size + 1)
            self.phases.append(-np.pi * m * (m - 1) / k.size)  # Schroeder
        self.t_sine = cfg.move_s
        self.total_s = cfg.move_s + cfg.duration_s
        self._last: np.ndarray | None = None

    def refuse(self, q, slack_rad: float = 0.1) -> str | None:
        """Why a measured pose cannot be trusted (non-finite, or beyond a joint limit by more than
        ``slack_rad``, as a glitching encoder reads), or None."""
        q = np.asarray(q, dtype=np.float64)
        if not np.all(np.isfinite(q)):
            return "joint states are not finite"
        out = (q < self.hard_lower - slack_rad) | (q > self.hard_upper + slack_rad)
        if np.any(out):
            j = int(np.argmax(out))
            return f"joint {self.names[j]} reads {q[j]:.3f} rad, beyond its limits [{self.hard_lower[j]:.3f}, " \
                   f"{self.hard_upper[j]:.3f}]"
        return None

    def multisine(self, t: float) -> np.ndarray:
        """Offsets from the default pose at multisine time ``t`` (no fades), rad."""
        return np.array([np.sum(a * np.sin(2 * np.pi * f * t + p)) for f, a, p in
                         zip(self.freqs, self.amps, self.phases)])

    def _ideal(self, t: float, start: np.ndarray) -> np.ndarray:
        c = self.cfg
        if t < c.move_s:
            a = t / max(c.move_s, 1e-9)
            return start + a * a * (3 - 2 * a) * (self.default - start)
        ts = t - c.move_s
        if ts >= c.duration_s:
            return self.default.copy()
        fade = min(ts / max(c.fade_s, 1e-9), (c.duration_s - ts) / max(c.fade_s, 1e-9), 1.0)
        fade = fade * fade * (3 - 2 * fade)
        return self.default + fade * self.multisine(ts)

    def command(self, t: float, start) -> np.ndarray:
        """The bounded target: within the limits (less the margin, or no further out than the
        last command while it comes back in), never beyond the joint limits, and one step bound
        of the last."""
        start = np.clip(np.asarray(start, dtype=np.float64), self.hard_lower, self.hard_upper)
        q = self._ideal(t, start)
        if self._last is None:
            self._last = start
        q = np.clip(q, self._last - self.max_step, self._last + self.max_step)
        q = np.clip(q, np.minimum(self.lower, self._last), np.maximum(self.upper, self._last))
        self._last = q
        return q.copy()
