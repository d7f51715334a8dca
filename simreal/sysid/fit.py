"""Fit an arm's physics (the keys of :mod:`simreal.robots.physics`) to a recording of
position commands and joint states, with MuJoCo's own system-identification toolbox
(``mujoco.sysid``, the ``mujoco[sysid]`` extra).

The robot model is rolled out open loop from the recorded initial state under the recorded
commands (held between messages, as a forward position controller holds them); the residual
is the simulated minus the measured joint positions, the simulated ones shifted by the
command latency. Fitted: the servos' stiffness and damping scales, the latency, and each
joint's armature, friction loss and damping. Joint damping and the servo damping scale are
not separable (the data see kv x scale + damping per joint): a prior holds joint damping near
the model's value, so the scale takes what all joints share.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import mujoco
import numpy as np

from simreal.errors import InputError
from simreal.robots.physics import PER_JOINT, SCALARS, ArmPhysics, apply_to_model, model_values

NOT_IDENTIFIED = {
    "joint_damping": "only each joint's total damping (servo kv x actuator_kv_scale + joint damping) shows in "
                     "position-servo data; joint damping is fitted with a prior at the model's value "
                     f"(+-{1.0} N m s/rad), so kv_scale takes what all joints share",
}
DAMPING_PRIOR = 1.0  # N m s / rad: how far a joint's damping may plausibly be from the model's
WINDOW_S = 0.1  # residuals start this long after the recording's start, so a latency up to it stays inside
MIN_MOTION_RAD = 0.01  # a joint the commands move less than this is not excited


@dataclass
class Recording:
    """Commands (``t_cmd`` s, ``cmd`` rad, arm joints in canonical order) and measured arm
    joint positions (``t_q``, ``q``), on one clock; ``fingers``: the hand's joints at the start."""

    t_cmd: np.ndarray
    cmd: np.ndarray
    t_q: np.ndarray
    q: np.ndarray
    fingers: np.ndarray | None = None

    def check(self, where: str = "recording", min_s: float = 5.0) -> None:
        if len(self.t_cmd) == 0:
            raise InputError(f"{where} has no position commands; record the arm's command topic (simreal excite "
                             f"records it)")
        if len(self.t_q) < 10:
            raise InputError(f"{where} has {len(self.t_q)} joint states with every arm joint; record /joint_states")
        span = min(self.t_cmd[-1], self.t_q[-1]) - max(self.t_cmd[0], self.t_q[0])
        if span < min_s:
            raise InputError(f"{where} has {max(span, 0.0):.1f} s of commands beside joint states; at least {min_s} s "
                             f"are needed to identify anything (simreal excite --duration 30)")
        if not (np.all(np.isfinite(self.cmd)) and np.all(np.isfinite(self.q))):
            raise InputError(f"{where} holds non-finite commands or joint positions")
        if np.ptp(self.cmd, axis=0).max() < MIN_MOTION_RAD:
            raise InputError(f"{where}: the commands do not move the arm (less than {MIN_MOTION_RAD} rad on every "
                             f"joint); nothing to identify")


def _sensor_hook(robot):
    def add(spec: mujoco.MjSpec) -> None:
        for j in robot.joint_names:
            spec.add_sensor(name=f"sysid_q_{j}", type=mujoco.mjtSensor.mjSENS_JOINTPOS,
                            objtype=mujoco.mjtObj.mjOBJ_JOINT, objname=j)

    return add


class ArmFit:
    """The identification problem for one recording: the model, the signals, the residual."""

    def __init__(self, robot, rec: Recording):
        from mujoco import sysid

        from simreal.sim.scene import SceneCfg, build_scene

        self.sysid, self.robot, self.rec = sysid, robot, rec
        self.model = build_scene(SceneCfg(robot=robot.name, spec_hooks=[_sensor_hook(robot)]))
        m = self.model
        self.dof_ids = np.array([m.joint(j).dofadr[0] for j in robot.joint_names])
        self.qpos_ids = np.array([m.joint(j).qposadr[0] for j in robot.joint_names])
        self.ctrl_ids = np.array([m.actuator(a).id for a in robot.actuator_names])
        self.nominal = model_values(m, self.dof_ids, self.ctrl_ids)
        dt = m.opt.timestep
        # from the first command on: the arm was at rest under its previous command, and the
        # first command of an excitation is the pose it measured
        t0 = max(rec.t_cmd[0], rec.t_q[0])
        t_end = min(rec.t_cmd[-1] + 0.5, rec.t_q[-1])
        times = t0 + dt * np.arange(int((t_end - t0) / dt) + 1)
        q_start = np.array([np.interp(t0, rec.t_q, rec.q[:, j]) for j in range(robot.num_joints)])
        ctrl = np.zeros((len(times), m.nu))
        if robot.gripper_actuator:
            ctrl[:, m.actuator(robot.gripper_actuator).id] = robot.gripper_ctrl_open
        # zero-order hold, as the controller holds: a command reaches the first step that starts
        # at or after it (a tolerance keeps a command stamped on a step's start in that step)
        k = np.searchsorted(rec.t_cmd, times + 1e-6 * dt, side="right") - 1
        ctrl[:, self.ctrl_ids] = rec.cmd[np.clip(k, 0, None)]
        qpos = m.qpos0.copy()
        qpos[self.qpos_ids] = q_start
        if robot.gripper_joint_names:
            for i, name in enumerate(robot.gripper_joint_names):
                jnt = m.joint(name)
                qpos[jnt.qposadr[0]] = (rec.fingers[i] if rec.fingers is not None else m.jnt_range[jnt.id][1])
        self.t0 = t0
        self.initial_state = sysid.create_initial_state(m, qpos, np.zeros(m.nv), np.zeros(m.na))
        self.control = sysid.TimeSeries(times - t0, ctrl)
        keep = (rec.t_q >= t0) & (rec.t_q <= t_end)
        names = [f"sysid_q_{j}" for j in robot.joint_names]
        self.measured = sysid.TimeSeries.from_names(rec.t_q[keep] - t0, rec.q[keep], m, names)
        window = (self.measured.times >= WINDOW_S) & (self.measured.times <= times[-1] - t0)
        self.window = sysid.TimeSeries(self.measured.times[window], self.measured.data[window],
                                       self.measured.signal_mapping)
        self.moved = np.ptp(rec.cmd, axis=0) >= MIN_MOTION_RAD
        self.params = self._parameters()

    def drop_outliers(self, params, factor: float = 6.0, pad_s: float = 0.05, floor_rad: float = 1e-5) -> float:
        """Leave out of the residual the moments the fit cannot follow (a stalled loop, a
        dropped burst of messages): samples whose error is above ``factor`` times the median
        (and above ``floor_rad``, below any sensor's resolution), with ``pad_s`` around them.
        Returns the fraction of the window left out."""
        sim = self.residual(params.as_vector(), params)[1][0].data
        err = np.linalg.norm(sim - self.window.data, axis=1)
        t = self.window.times
        bad_t = t[err > max(factor * np.median(err), floor_rad)]
        if bad_t.size == 0:
            return 0.0
        i = np.clip(np.searchsorted(bad_t, t), 1, bad_t.size) - 1  # the nearest bad sample on either side
        nearest = np.minimum(np.abs(t - bad_t[i]), np.abs(t - bad_t[np.minimum(i + 1, bad_t.size - 1)]))
        keep = nearest > pad_s
        self.window = self.sysid.TimeSeries(t[keep], self.window.data[keep], self.window.signal_mapping)
        return float(1.0 - keep.mean())

    def _parameters(self):
        s, n = self.sysid, self.robot.num_joints
        params = s.ParameterDict()
        params.add(s.Parameter("actuator_kp_scale", 1.0, 0.2, 5.0))
        params.add(s.Parameter("actuator_kv_scale", 1.0, 0.2, 5.0))
        params.add(s.Parameter("command_latency_s", 0.005, 0.0, WINDOW_S))
        arm = np.asarray(self.nominal["joint_armature"])
        params.add(s.Parameter("joint_armature", arm, np.full(n, 1e-3), np.full(n, 5.0)))
        params.add(s.Parameter("joint_frictionloss", np.full(n, 0.1), np.zeros(n), np.full(n, 20.0)))
        params.add(s.Parameter("joint_damping", np.asarray(self.nominal["joint_damping"]), np.zeros(n),
                               np.full(n, 50.0)))
        return params

    def physics(self, params) -> ArmPhysics:
        return ArmPhysics(**{k: tuple(float(x) for x in params[k].value) for k in PER_JOINT},
                          **{k: float(params[k].value[0]) for k in SCALARS})

    def build_model(self, params, _spec=None) -> mujoco.MjModel:
        m = copy.copy(self.model)
        apply_to_model(m, self.physics(params), self.dof_ids, self.ctrl_ids)
        return m

    def _shifted(self, params, pred, measured, model, return_pred_all, state=None):
        self.last_rollout = pred
        return self.compare(pred, float(params["command_latency_s"].value[0]), params["joint_damping"].value)

    def compare(self, pred, latency_s: float, damping):
        """(residual, simulated positions at the window's times) of one rollout ``pred``
        shifted by ``latency_s``, with the damping prior."""
        # MuJoCo computes sensors before integrating: the rollout's sample i (stamped with the
        # time after step i) holds the positions at the start of step i, one timestep earlier
        d = latency_s - self.model.opt.timestep
        shifted = self.sysid.TimeSeries(pred.times + d, pred.data, pred.signal_mapping)
        # cubic: the residual is smooth in the latency (linear interpolation would put a kink at
        # every multiple of the timestep, where the optimizer stalls and damping takes the lag)
        sim = shifted.resample(self.window.times, method="cubic")
        # in mrad: the optimizer's gradient tolerance is absolute, and an error of micro-radians
        # (what a clean recording leaves) in radians would stop it before it converged
        data = 1e3 * (sim.data - self.window.data).ravel()
        # the damping prior weighs a deviation of DAMPING_PRIOR like a 0.1 urad RMS error over the
        # data: it only settles the direction the data cannot see (all joints' damping against kv)
        weight = 1e-4 * np.sqrt(data.size) / DAMPING_PRIOR
        prior = weight * (np.asarray(damping) - np.asarray(self.nominal["joint_damping"]))
        return np.concatenate([data, prior]), sim, self.window

    def residual(self, x, params):
        from mujoco.sysid._src.residual import model_residual
        from mujoco.sysid._src.trajectory import SystemTrajectory

        traj = SystemTrajectory(model=self.model, control=self.control, sensordata=self.measured,
                                initial_state=self.initial_state, state=None)
        res, preds, meas = model_residual(x, params, lambda p: self.build_model(p), [traj],
                                          modify_residual=self._shifted, n_threads=2)
        return [res], preds, meas

    def simulate(self, physics: ArmPhysics) -> np.ndarray:
        """Joint positions at the window's times for ``physics`` (before/after the fit)."""
        params = self.params.copy()
        for name in SCALARS:
            params[name].value[:] = getattr(physics, name)
        for name in PER_JOINT:
            params[name].value[:] = getattr(physics, name) or self.nominal[name]
        _, preds, _ = self.residual(params.as_vector(), params)
        return preds[0].data


def fit(rec: Recording, robot, max_iters: int = 40) -> dict:
    """Identify ``robot``'s physics from ``rec``; returns the fitted :class:`ArmPhysics`, a
    95 % half-width per value, the RMS tracking error before and after, and the signals."""
    from mujoco import sysid

    rec.check()
    problem = ArmFit(robot, rec)
    params = problem.params
    typical = {"actuator_kp_scale": 0.2, "actuator_kv_scale": 0.2, "command_latency_s": 0.01,
               "joint_armature": np.maximum(params["joint_armature"].value, 0.02), "joint_frictionloss": 0.3,
               "joint_damping": 1.0}  # the optimizer's per-value scale

    def solve(start):
        scale = np.concatenate([np.broadcast_to(typical[k], p.shape) for k, p in start.parameters.items()
                                if not p.frozen])
        return sysid.optimize(initial_params=start, residual_fn=problem.residual, optimizer="mujoco",
                              verbose=False, max_iters=max_iters, x_scale=scale, eps=1e-6)[0]

    # the latency on a coarse grid (one rollout: latency only shifts it), then the servo gains
    # with it, then everything: a latency far from the start (tens of ms) would otherwise trade
    # against armature and friction
    problem.residual(params.as_vector(), params)
    grid = np.arange(0.0, WINDOW_S, 0.004)
    costs = [float(np.sum(problem.compare(problem.last_rollout, d, params["joint_damping"].value)[0] ** 2))
             for d in grid]
    params["command_latency_s"].value[:] = grid[int(np.argmin(costs))]
    for name in PER_JOINT:
        params[name].frozen = True
    opt = solve(params)
    for name in PER_JOINT:
        opt[name].frozen = False
    opt = solve(opt)
    left_out = problem.drop_outliers(opt)
    if left_out > 0:  # fit again without them, from where the first fit ended
        opt = solve(opt)
    physics = problem.physics(opt)
    # uncertainty from a forward-difference Jacobian at the optimum (residuals correlated in
    # time make this optimistic: treat it as a lower bound)
    x = opt.as_vector()
    r0 = np.concatenate(problem.residual(x, opt)[0])
    steps = 1e-3 * np.concatenate([np.broadcast_to(typical[k], p.shape) for k, p in opt.parameters.items()])
    cols = np.stack([x + np.eye(len(x))[i] * steps[i] for i in range(len(x))], axis=1)
    rj = problem.residual(cols, opt)[0][0]
    jac = (rj - r0[:, None]) / steps[None, :]
    _, half = sysid.calculate_intervals([r0], jac)
    names = [k if p.size == 1 else f"{k}[{i}]" for k, p in opt.parameters.items() for i in range(p.size)]
    uncertainty = dict(zip(names, (float(h) for h in half)))
    nominal_sim = problem.simulate(ArmPhysics())
    fitted_sim = problem.simulate(physics)
    meas = problem.window.data
    return {"physics": physics, "uncertainty": uncertainty,
            "rms_before_rad": float(np.sqrt(np.mean((nominal_sim - meas) ** 2))),
            "rms_after_rad": float(np.sqrt(np.mean((fitted_sim - meas) ** 2))),
            "signals": {"t": problem.window.times, "measured": meas, "before": nominal_sim, "after": fitted_sim},
            "excited_joints": [j for j, m in zip(robot.joint_names, problem.moved) if m],
            "left_out": left_out}


def summary(result: dict) -> dict:
    """The JSON line: each fitted value with its uncertainty, what was not identified, the errors."""
    p, u = result["physics"], result["uncertainty"]
    out = {}
    for key in SCALARS:
        out[key] = {"value": round(getattr(p, key), 6), "pm95": _finite(u[key])}
    for key in PER_JOINT:
        values = getattr(p, key)
        out[key] = {"value": [round(v, 5) for v in values],
                    "pm95": [_finite(u[f"{key}[{i}]"]) for i in range(len(values))]}
    return {"fit": out, "not_identified": NOT_IDENTIFIED, "excited_joints": result["excited_joints"],
            "rms_before_rad": round(result["rms_before_rad"], 6), "rms_after_rad": round(result["rms_after_rad"], 6),
            "left_out_fraction": round(result["left_out"], 4)}


def _finite(x: float):
    return round(x, 6) if math.isfinite(x) else None


def simulate_recording(physics: ArmPhysics | None, excitation, robot_name: str = "franka_panda",
                       rate_hz: float = 100.0, state_rate_hz: float = 500.0) -> Recording:
    """What ``simreal excite`` records on a simulated arm with ``physics``, without ROS:
    commands at ``rate_hz`` taking effect ``physics.command_latency_s`` later, joint states at
    ``state_rate_hz``. For tests and the identification benchmark."""
    from simreal.deploy.sim_arm import SingleArm

    arm = SingleArm(robot_name, physics=physics)
    latency = physics.command_latency_s if physics else 0.0
    dt = arm.timestep
    arm.step(int(1.0 / dt))  # at rest under its servos, as an arm is when an excitation starts
    arm.data.time = 0.0
    fingers = arm.gripper_pos
    start = arm.joint_pos
    n_steps = int((excitation.total_s + 1.0) / dt)
    t_cmd, cmd, t_q, q = [], [], [], []
    pending: list[tuple[float, np.ndarray]] = []
    next_cmd, next_state = 0.5, 0.0
    for k in range(n_steps):
        t = k * dt
        if t >= next_cmd - 1e-12 and next_cmd - 0.5 <= excitation.total_s:
            c = excitation.command(next_cmd - 0.5, start)
            t_cmd.append(t)
            cmd.append(c)
            pending.append((t + latency, c))
            next_cmd += 1.0 / rate_hz
        while pending and pending[0][0] <= t + 1e-12:
            arm.set_command(pending.pop(0)[1])
        if t >= next_state - 1e-12:
            t_q.append(t)
            q.append(arm.joint_pos)
            next_state += 1.0 / state_rate_hz
        arm.step(1)
    return Recording(np.array(t_cmd), np.array(cmd), np.array(t_q), np.array(q), fingers=fingers)


def load_recording(path, robot, command_topic: str = "/forward_position_controller/commands",
                   joint_states_topic: str = "/joint_states", joint_map: dict | None = None) -> Recording:
    """Commands and arm joint positions of an MCAP recording (``simreal excite`` or
    ``simreal record``), by joint name (``joint_map``: robot joint -> recorded name), on the
    recording's log clock."""
    from simreal.deploy.replay import read_recording

    data = read_recording(path, topics=(joint_states_topic, command_topic))
    wire = [(joint_map or {}).get(j, j) for j in robot.joint_names]
    fingers = [(joint_map or {}).get(j, j) for j in robot.gripper_joint_names]
    t_cmd, cmd = [], []
    for t, msg in data[command_topic]:
        values = np.asarray(msg.data, dtype=np.float64)
        if values.shape == (robot.num_joints,):
            t_cmd.append(t * 1e-9)
            cmd.append(values)
    t_q, q, first_fingers, names_seen = [], [], None, set()
    for t, msg in data[joint_states_topic]:
        pos = dict(zip(msg.name, msg.position))
        names_seen.update(msg.name)
        if all(w in pos for w in wire):
            stamp = msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec
            t_q.append(stamp if stamp > 0 else t * 1e-9)  # when the driver sampled it, else when it arrived
            q.append([pos[w] for w in wire])
            if first_fingers is None and fingers and all(f in pos for f in fingers):
                first_fingers = np.array([pos[f] for f in fingers])
    if data[joint_states_topic] and not t_q:
        missing = sorted(set(wire) - names_seen)
        raise InputError(f"{path}: the joint states on {joint_states_topic} lack joints {missing} of robot "
                         f"{robot.name!r}; map names with --joint-map (e.g. joint1=fr3_joint1)")
    if data[command_topic] and not t_cmd:
        raise InputError(f"{path}: no command on {command_topic} has {robot.num_joints} values (one per arm joint)")
    t_q, q = np.array(t_q), np.array(q).reshape(-1, robot.num_joints)
    order = np.argsort(t_q, kind="stable")
    t_q, q = t_q[order], q[order]
    fresh = np.diff(t_q, prepend=-np.inf) > 0  # a sample republished with its stamp counts once
    rec = Recording(np.array(t_cmd), np.array(cmd).reshape(-1, robot.num_joints), t_q[fresh], q[fresh],
                    fingers=first_fingers)
    if len(rec.t_cmd) and len(rec.t_q):
        start = min(rec.t_cmd[0], rec.t_q[0])
        rec.t_cmd, rec.t_q = rec.t_cmd - start, rec.t_q - start
    rec.check(where=str(path))
    return rec


def plot_fit(result: dict, robot, path) -> None:
    """Measured joint positions against the model before and after the fit, per joint, with
    the errors; a 2 s window around the middle of the recording keeps the sines readable."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sig = result["signals"]
    t = sig["t"]
    mid = t[len(t) // 2]
    sel = (t >= mid - 1.0) & (t <= mid + 1.0)
    n = robot.num_joints
    fig, axes = plt.subplots(n, 2, figsize=(12, 1.7 * n), sharex="col")
    for j in range(n):
        ax, err = axes[j, 0], axes[j, 1]
        ax.plot(t[sel], sig["measured"][sel, j], "k-", lw=1.6, label="measured")
        ax.plot(t[sel], sig["before"][sel, j], "r--", lw=1.0, label="model")
        ax.plot(t[sel], sig["after"][sel, j], "b:", lw=1.4, label="fitted")
        ax.set_ylabel(f"{robot.joint_names[j]}\nrad", fontsize=8)
        err.plot(t, 1e3 * (sig["before"][:, j] - sig["measured"][:, j]), "r-", lw=0.6, label="model - measured")
        err.plot(t, 1e3 * (sig["after"][:, j] - sig["measured"][:, j]), "b-", lw=0.6, label="fitted - measured")
        err.set_ylabel("mrad", fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    axes[0, 1].legend(fontsize=7, loc="upper right")
    axes[0, 0].set_title("joint positions (2 s window)")
    axes[0, 1].set_title(f"errors: RMS {1e3 * result['rms_before_rad']:.2f} mrad before, "
                         f"{1e3 * result['rms_after_rad']:.3f} mrad after")
    axes[-1, 0].set_xlabel("s")
    axes[-1, 1].set_xlabel("s")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
