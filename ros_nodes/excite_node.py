"""Excite an arm for system identification and record it.

    simreal excite --duration 30 --out rec.mcap [--amplitude 0.2] [--speed 0.3] [--rate 100]
                   [--ros-args -p command_topic:=... -p joint_map:=[joint1=fr3_joint1, ...]]

Waits for ``/joint_states`` with every arm joint, then streams the bounded multisine of
:mod:`simreal.deploy.excitation` (from the measured pose, to the default pose, around it,
back) as ``std_msgs/Float64MultiArray`` on ``command_topic`` (a ros2_control forward
position controller of the arm joints, in the robot's canonical order) and records the
commands and joint states to an MCAP file (``simreal record``'s format). Stale or invalid
joint states (none for ``stale_s``, non-finite, a joint missing) stop the commands at once:
the controller holds its last command, the recording so far is kept, and the exit status is 1.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from simreal.deploy.excitation import Excitation, ExcitationCfg
from simreal.deploy.inputs import parse_mapping
from simreal.robots import get_robot
from simreal.ros_nodes.recorder import Recorder

PARAMS = {
    "robot": "franka_panda",
    "command_topic": "/forward_position_controller/commands",
    "joint_states_topic": "/joint_states",
    "joint_map": [""],  # robot_joint=wire_joint, e.g. joint1=fr3_joint1
    "stale_s": 0.1,  # joint states older than this stop the excitation
    "startup_timeout_s": 30.0,
}


class ExciteNode(Node):
    def __init__(self, cfg: ExcitationCfg, rate_hz: float, overrides: dict | None = None):
        params = [Parameter(k, value=v) for k, v in (overrides or {}).items()]
        super().__init__("simreal_excite", parameter_overrides=params)
        for name, default in PARAMS.items():
            self.declare_parameter(name, default)
        self.p = {name: self.get_parameter(name).value for name in PARAMS}
        self.robot = get_robot(self.p["robot"])
        wire = parse_mapping(self.p["joint_map"], "joint_map")
        self.wire_names = [wire.get(j, j) for j in self.robot.joint_names]
        self.period = 1.0 / rate_hz
        self.excitation = Excitation(self.robot, cfg, control_period_s=self.period)
        self.q: np.ndarray | None = None
        self.t_state = -np.inf
        self.reason = ""
        self.pub = self.create_publisher(Float64MultiArray, self.p["command_topic"], 10)
        self.create_subscription(JointState, self.p["joint_states_topic"], self._on_state, 50)

    def _on_state(self, msg: JointState) -> None:
        pos = dict(zip(msg.name, msg.position))
        missing = [w for w in self.wire_names if w not in pos]
        q = np.array([pos.get(w, np.nan) for w in self.wire_names], dtype=np.float64)
        problem = f"joint states lack {missing}" if missing else self.excitation.refuse(q)
        if problem:
            self.reason = problem
            return  # not fresh: the watchdog stops the excitation
        self.q, self.t_state = q, time.monotonic()


def run(out: str, cfg: ExcitationCfg, rate_hz: float = 100.0, overrides: dict | None = None,
        args: list[str] | None = None) -> int:
    rclpy.init(args=args)
    node, rec = ExciteNode(cfg, rate_hz, overrides), None
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    status = 1
    try:
        rec = Recorder(out, {node.p["joint_states_topic"]: "sensor_msgs/msg/JointState",
                             node.p["command_topic"]: "std_msgs/msg/Float64MultiArray"})
        executor.add_node(rec)
        deadline = time.monotonic() + node.p["startup_timeout_s"]
        while node.q is None and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        if node.q is None:
            print(f"simreal excite: no usable {node.p['joint_states_topic']} with joints {node.wire_names} within "
                  f"{node.p['startup_timeout_s']} s ({node.reason or 'nothing received'}); nothing commanded",
                  file=sys.stderr, flush=True)
            return 1
        start, ex = node.q.copy(), node.excitation
        t0 = time.monotonic()
        next_tick, next_report = t0, t0
        print(f"simreal excite: {ex.total_s:.0f} s ({ex.cfg.move_s:.0f} s to the default pose, then the multisine) "
              f"at {rate_hz:.0f} Hz on {node.p['command_topic']}", flush=True)
        while True:
            now = time.monotonic()
            if now - node.t_state > node.p["stale_s"]:
                print(f"simreal excite: stopped at {now - t0:.1f} s: joint states stale for {now - node.t_state:.2f} s "
                      f"({node.reason or 'none arrived'}); the controller holds the last command; "
                      f"recording kept in {out}", file=sys.stderr, flush=True)
                return 1
            t = now - t0
            node.pub.publish(Float64MultiArray(data=ex.command(min(t, ex.total_s), start).tolist()))
            if t >= ex.total_s:
                status = 0
                return 0
            if now >= next_report:
                print(f"simreal excite: {t:.0f}/{ex.total_s:.0f} s", flush=True)
                next_report += 5.0
            next_tick += node.period
            while (left := next_tick - time.monotonic()) > 0:
                executor.spin_once(timeout_sec=left)
    except (KeyboardInterrupt, ExternalShutdownException):
        print("simreal excite: interrupted; the controller holds the last command", file=sys.stderr, flush=True)
        return 130
    finally:
        if rec is not None:
            for _ in range(5):  # the last messages in flight
                executor.spin_once(timeout_sec=0.02)
            rec.close()
            print(f"recorded {rec.count} messages to {out}" + ("" if status == 0 else " (incomplete)"), flush=True)
            rec.destroy_node()
        node.destroy_node()
        rclpy.try_shutdown()
