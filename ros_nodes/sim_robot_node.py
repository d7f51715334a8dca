"""A MuJoCo-simulated arm that speaks the topics of a ros2_control arm; with ``--task``, the
whole task cell (arm, hand, objects, perception, episodes: see ``cell_io``; tactile pads'
camera frames: see ``cell_tactile``).

    simreal sim-robot --robot franka_panda [--rate 500] [--ros-args --params-file configs/ros/sim_robot.yaml]
    simreal sim-robot --task franka-lift-ik [--seed 0] [--physics ARM.yaml]

Publishes ``/joint_states`` (arm and gripper joints, sensor_msgs/JointState) at ``rate``;
follows ``std_msgs/Float64MultiArray`` on ``/forward_position_controller/commands``
(arm joints in the robot's canonical order, as a forward position controller configured
with those joints) and ``trajectory_msgs/JointTrajectory`` on
``/joint_trajectory_controller/joint_trajectory`` (matched by joint name, last point) with
the arm's own position servos. Simulated time follows wall time. ``physics_file`` (or
``--physics``): an arm whose joints, servos and command latency differ from the robot model
(:mod:`simreal.robots.physics`); the task cell then draws no arm physics per episode.
Shows the tool pose on ``/sim_robot/ee_pose`` and moves a target marker to ``/target_pose``.
Faults for tests: ``latency_s``, ``noise_std``, ``drop_prob``, ``shuffle_joints``,
``omit_joint``, ``nan_after_s``, and the service ``~/inject_nan`` (SetBool).
"""

from __future__ import annotations

import math
import sys
import time
from collections import deque

import numpy as np
import rclpy
from geometry_msgs.msg import PoseStamped
from rclpy.duration import Duration
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import SetBool
from trajectory_msgs.msg import JointTrajectory

from simreal.deploy.sim_arm import SingleArm
from simreal.deploy.trace import Trace
from simreal.errors import InputError
from simreal.ros_nodes import cell_io, cell_tactile

PARAMS = {
    "robot": "franka_panda",
    "task": "",  # a registered task: simulate its whole scene (the robot is the task's)
    "rate": 500.0,  # Hz, joint state publishing and simulation pacing
    "command_topic": "/forward_position_controller/commands",
    "trajectory_topic": "/joint_trajectory_controller/joint_trajectory",
    "joint_states_topic": "/joint_states",
    "ee_pose_topic": "/sim_robot/ee_pose",
    "target_topic": "/target_pose",
    "initial_joint_pos": [0.0],  # [0.0] (one value): the robot's default pose
    "physics_file": "",  # YAML of this arm's physics (simreal.robots.physics); "": the model's
    "latency_s": 0.0,  # commands take effect this much later (on top of the physics file's)
    "noise_std": 0.0,  # Gaussian noise on published joint positions, rad
    "drop_prob": 0.0,  # probability of not publishing a joint state
    "shuffle_joints": False,  # publish joints in a random (fixed) order
    "omit_joint": "",  # leave this joint out of /joint_states
    "nan_after_s": -1.0,  # from this time on, publish NaN positions (negative: never)
    "seed": 0,
    "trace_file": "",  # with --task: .npz of the actor's true observation (simreal.deploy.trace), at resets and exit
    "trace_period_s": 0.01,
    **cell_io.PARAMS,
    **cell_tactile.PARAMS,
}


class SimRobotNode(Node):
    def __init__(self, overrides: dict | None = None):
        params = [Parameter(k, value=v) for k, v in (overrides or {}).items()]
        super().__init__("simreal_sim_robot", parameter_overrides=params)
        for name, default in PARAMS.items():
            self.declare_parameter(name, default)
        self.p = {name: self.get_parameter(name).value for name in PARAMS}
        init = list(self.p["initial_joint_pos"])
        self.cell = None
        physics = physics_of(self.p)
        self.latency_s = self.p["latency_s"] + (physics.command_latency_s if physics else 0.0)
        if self.p["task"]:
            from simreal.deploy.task_cell import TaskCell

            groups = [g.strip() for g in str(self.p["group"]).split(",")]
            self.arm = self.cell = TaskCell(self.p["task"], seed=self.p["seed"], physics=physics,
                                            group=groups[0] if len(groups) == 1 else groups,
                                            task_params=task_params_of(self.p))
        else:
            self.arm = SingleArm(self.p["robot"], initial_joint_pos=init if len(init) > 1 else None, physics=physics)
        self.rng = np.random.default_rng(self.p["seed"])
        names = list(self.arm.joint_names) + list(self.arm.robot.gripper_joint_names)
        order = list(range(len(names)))
        if self.p["shuffle_joints"]:
            order = list(self.rng.permutation(len(names)))
        if self.p["omit_joint"]:
            order = [i for i in order if names[i] != self.p["omit_joint"]]
        self.order = np.array(order)
        self.wire_names = [names[i] for i in order]
        self.pending: deque[tuple[float, str, object]] = deque()  # (due time, "arm" | "gripper", value)
        self.js_pub = self.create_publisher(JointState, self.p["joint_states_topic"], 10)
        self.ee_pub = self.create_publisher(PoseStamped, self.p["ee_pose_topic"], 10)
        self.create_subscription(Float64MultiArray, self.p["command_topic"], self._on_command, 10)
        self.create_subscription(JointTrajectory, self.p["trajectory_topic"], self._on_trajectory, 10)
        self.create_subscription(PoseStamped, self.p["target_topic"], self._on_target, 10)
        self.create_service(SetBool, "~/inject_nan", self._on_inject_nan)
        self.inject_nan = False
        self.commands_received = 0
        self.io = cell_io.CellIO(self, self.cell, self.p, self._queue_gripper) if self.cell else None
        self.touch = (cell_tactile.CellTactile(self, self.cell, self.io, self.p)
                      if self.cell is not None and self.cell.tactile is not None else None)
        self.trace = None
        if self.p["trace_file"]:
            if self.cell is None:
                raise InputError("parameter trace_file records a task cell's true observations: give --task")
            period = self.p["trace_period_s"]
            if not (isinstance(period, (int, float)) and 0.001 <= period <= 10.0):
                raise InputError(f"parameter trace_period_s must be 0.001 to 10 s, got {period!r}")
            self.trace = Trace({"obs": len(self.cell.true_observation()), "episode": 1})
            self.io.on_reset = self.write_trace
        self._traced = -math.inf
        self.t0 = time.monotonic()
        self.period = 1.0 / self.p["rate"]
        self.create_timer(self.period, self._tick)
        self._ee_every = max(1, int(round(self.p["rate"] / 50)))  # tool pose at ~50 Hz
        self._ticks = 0
        what = f"task {self.p['task']}" if self.cell else self.p["robot"]
        if physics is not None:
            what += f" with the physics of {self.p['physics_file']} ({physics.to_dict()})"
        self.get_logger().info(f"{what}: {len(self.wire_names)} joints on {self.p['joint_states_topic']} "
                               f"at {self.p['rate']:.0f} Hz; commands on {self.p['command_topic']}"
                               + (f"; poses on {self.io.topic_list()}" if self.io else "")
                               + (f"; tactile frames on {self.touch.topic_list()}" if self.touch else ""))

    def _queue(self, q: np.ndarray) -> None:
        if q.shape != (len(self.arm.joint_names),) or not np.all(np.isfinite(q)):
            self.get_logger().warn(f"ignoring command {q.tolist()}: need {len(self.arm.joint_names)} finite values",
                                   throttle_duration_sec=1.0)
            return
        self.commands_received += 1
        self.pending.append((time.monotonic() + self.latency_s, "arm", q))

    def _queue_gripper(self, width: float) -> None:
        self.pending.append((time.monotonic() + self.latency_s, "gripper", width))

    def _on_command(self, msg: Float64MultiArray) -> None:
        self._queue(np.asarray(msg.data, dtype=np.float64))

    def _on_trajectory(self, msg: JointTrajectory) -> None:
        if not msg.points:
            return
        pos = dict(zip(msg.joint_names, msg.points[-1].positions))
        current = self.arm.command()
        self._queue(np.array([pos.get(j, current[i]) for i, j in enumerate(self.arm.joint_names)]))

    def _on_target(self, msg: PoseStamped) -> None:
        if self.cell:
            return  # the cell sets its own goals
        p = msg.pose.position
        self.arm.set_marker((p.x, p.y, p.z))

    def _on_inject_nan(self, request, response):
        self.inject_nan = bool(request.data)
        response.success, response.message = True, f"NaN joint positions {'on' if self.inject_nan else 'off'}"
        return response

    def _apply_due(self, moment: float) -> None:
        """Commands due by ``moment`` (monotonic s) reach the servos."""
        while self.pending and self.pending[0][0] <= moment:
            _, kind, value = self.pending.popleft()
            if kind == "gripper":
                self.cell.set_gripper_width(value)
            else:
                self.arm.set_command(value)
                if self.io:
                    self.io.arm_command_applied()

    def _tick(self) -> None:
        now = time.monotonic()
        # simulated time follows wall time (bounded catch-up after a stall); each command
        # reaches the servos at the simulated moment it was due, however late this tick runs
        dt = self.arm.timestep
        behind = (now - self.t0) - self.arm.time
        n = int(min(max(behind / dt, 0), 50))
        if behind > 50 * dt:
            self.t0 = now - self.arm.time - n * dt
        while n > 0:  # in runs of steps up to the next command due
            self._apply_due(self.t0 + self.arm.time)
            k = n
            if self.pending:
                k = min(n, max(1, math.ceil((self.pending[0][0] - self.t0 - self.arm.time) / dt - 1e-9)))
            self.arm.step(k)
            n -= k
        if self.io:
            self.io.after_step()
        moment = self.t0 + self.arm.time
        if self.trace is not None and moment - self._traced >= self.p["trace_period_s"] - 1e-9:
            self._traced = moment
            self.trace.add(moment, obs=self.cell.true_observation(), episode=self.cell.episodes)
        self._ticks += 1
        if self.p["drop_prob"] > 0 and self.rng.random() < self.p["drop_prob"]:
            return
        q = np.concatenate([self.arm.joint_pos, self.arm.gripper_pos])
        v = np.concatenate([self.arm.joint_vel, np.zeros(len(self.arm.gripper_pos))])
        effort = self.arm.joint_effort
        e = np.zeros(0) if effort is None else np.concatenate([effort, np.zeros(len(self.arm.gripper_pos))])[self.order]
        if self.p["noise_std"] > 0:
            q = q + self.p["noise_std"] * self.rng.standard_normal(q.shape)
        if self.inject_nan or 0 <= self.p["nan_after_s"] <= now - self.t0:
            q = np.full_like(q, np.nan)
        msg = JointState(name=self.wire_names, position=q[self.order].tolist(), velocity=v[self.order].tolist(),
                         effort=e.tolist())
        # stamped with the moment the state was true (as a driver stamps its sample), not this tick's
        late = max(time.monotonic() - (self.t0 + self.arm.time), 0.0)
        msg.header.stamp = (self.get_clock().now() - Duration(seconds=late)).to_msg()
        self.js_pub.publish(msg)
        if self._ticks % self._ee_every == 0:
            pose = PoseStamped()
            pose.header.stamp = msg.header.stamp
            pose.header.frame_id = "world"
            pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = (float(x) for x in self.arm.ee_pos)
            w, x, y, z = (float(c) for c in self.arm.ee_quat)
            pose.pose.orientation.w, pose.pose.orientation.x = w, x
            pose.pose.orientation.y, pose.pose.orientation.z = y, z
            self.ee_pub.publish(pose)


    def write_trace(self) -> None:
        if self.trace is not None and len(self.trace):
            try:
                self.trace.save(self.p["trace_file"])
            except OSError as err:  # the cell runs on; the trace is what is lost
                self.get_logger().error(f"cannot write trace_file {self.p['trace_file']}: {err}")


def task_params_of(p: dict) -> dict:
    """The ``task_params`` parameter (a JSON object) as a dict; InputError naming it."""
    import json

    if not p["task_params"]:
        return {}
    try:
        params = json.loads(p["task_params"])
    except ValueError as e:
        raise InputError(f"parameter task_params must be a JSON object, got {p['task_params']!r} ({e})") from None
    if not isinstance(params, dict):
        raise InputError(f"parameter task_params must be a JSON object, got {p['task_params']!r}")
    return params


def physics_of(p: dict):
    """The ArmPhysics of ``physics_file`` for the node's robot (the task's, with a task), or None."""
    if not p["physics_file"]:
        return None
    from simreal.robots import get_robot
    from simreal.robots.physics import load_physics

    if p["task"]:
        from simreal.registry import task_cfg

        robot = task_cfg(p["task"], **task_params_of(p)).scene.robot
    else:
        robot = p["robot"]
    return load_physics(p["physics_file"], get_robot(robot).num_joints)


def main(overrides: dict | None = None, args: list[str] | None = None) -> int:
    sys.setswitchinterval(2e-4)
    rclpy.init(args=args)
    node = None
    try:
        node = SimRobotNode(overrides)
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.write_trace()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(args=sys.argv))
