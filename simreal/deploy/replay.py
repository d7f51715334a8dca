"""``simreal replay FILE.mcap``: feed a recording's position commands into the simulator at
their recorded times, starting from the first recorded joint state, and compare the
simulated joints with the recorded /joint_states (by name). No ROS needed: the MCAP
file carries its own message definitions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simreal.errors import MissingFileError, SimrealError

JOINT_STATES = "/joint_states"
COMMANDS = "/forward_position_controller/commands"


def read_recording(path: str | Path, topics=(JOINT_STATES, COMMANDS)) -> dict[str, list[tuple[int, object]]]:
    """{topic: [(log_time_ns, decoded message), ...]} for the given topics."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"recording {path} does not exist")
    out: dict[str, list] = {t: [] for t in topics}
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        for _schema, channel, message, decoded in reader.iter_decoded_messages(topics=list(topics)):
            out[channel.topic].append((message.log_time, decoded))
    return out


def replay(path: str | Path, robot: str = "franka_panda") -> dict:
    from simreal.deploy.sim_arm import SingleArm

    rec = read_recording(path)
    states, commands = rec[JOINT_STATES], rec[COMMANDS]
    if not states:
        raise SimrealError(f"{path} has no {JOINT_STATES} messages; record with simreal record while the robot runs")
    arm = SingleArm(robot)
    names = list(arm.joint_names)

    def arm_values(msg, field):
        pos = dict(zip(msg.name, getattr(msg, field)))
        missing = [j for j in names if j not in pos]
        if missing:
            raise SimrealError(f"recorded joint states lack joints {missing} of robot {robot!r}")
        return np.array([pos[j] for j in names], dtype=np.float64)

    # start where the first command found the robot
    start_ns = commands[0][0] if commands else states[0][0]
    first = max((s for s in states if s[0] <= start_ns), default=states[0], key=lambda s: s[0])
    arm.reset(arm_values(first[1], "position"))
    arm.data.qvel[arm.dof_ids] = arm_values(first[1], "velocity") if len(first[1].velocity) else 0.0
    t0 = first[0]
    events = [(t, 0, m) for t, m in commands if t >= t0] + [(t, 1, m) for t, m in states if t > t0]
    events.sort(key=lambda e: (e[0], e[1]))
    errors = []
    for t, kind, msg in events:
        target_time = (t - t0) * 1e-9
        n = int(round((target_time - arm.time) / arm.timestep))
        arm.step(max(n, 0))
        if kind == 0:
            data = np.asarray(msg.data, dtype=np.float64)
            if data.shape == (len(names),) and np.all(np.isfinite(data)):
                arm.set_command(data)
        else:
            recorded = arm_values(msg, "position")
            if np.all(np.isfinite(recorded)):
                errors.append(arm.joint_pos - recorded)
    err = np.asarray(errors) if errors else np.zeros((0, len(names)))
    rms = np.sqrt(np.mean(err**2, axis=0)) if len(err) else np.full(len(names), np.nan)
    return {
        "recording": str(path),
        "commands": len([c for c in commands if c[0] >= t0]),
        "joint_states_compared": int(len(err)),
        "duration_s": (events[-1][0] - t0) * 1e-9 if events else 0.0,
        "rms_error_rad": float(np.sqrt(np.mean(err**2))) if len(err) else float("nan"),
        "max_error_rad": float(np.abs(err).max()) if len(err) else float("nan"),
        "rms_error_per_joint_rad": {j: float(r) for j, r in zip(names, rms)},
    }
