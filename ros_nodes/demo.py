"""End-to-end reach over ROS 2: the sim-robot and the policy node as separate processes,
a sequence of target poses from here, and the success rate.

    simreal deploy-demo BUNDLE --targets 5
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from simreal.ros_nodes.launch import free_domain_id, ros_env, spawn, stop

# the franka-reach task's target box (tasks/franka_reach/config.py), robot base frame, m
TARGET_LOW = (0.35, -0.3, 0.15)
TARGET_HIGH = (0.65, 0.3, 0.55)


class Probe:
    """An in-process rclpy node: publishes targets, watches the tool pose and diagnostics."""

    def __init__(self, domain_id: int, watch_commands: bool = True):
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from geometry_msgs.msg import PoseStamped
        from std_msgs.msg import Float64MultiArray

        self.rclpy = rclpy
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node("simreal_probe", context=self.context)
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.ee = None
        self.policy_status: dict = {}
        self.commands: list[tuple[float, list[float]]] = []
        self.target_pub = self.node.create_publisher(PoseStamped, "/target_pose", 10)
        self.node.create_subscription(PoseStamped, "/sim_robot/ee_pose", self._on_ee, 10)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)
        if watch_commands:
            self.node.create_subscription(Float64MultiArray, "/forward_position_controller/commands",
                                          lambda m: self.commands.append((time.monotonic(), list(m.data))), 10)
        self._PoseStamped = PoseStamped

    def _on_ee(self, msg) -> None:
        p = msg.pose.position
        self.ee = np.array([p.x, p.y, p.z])

    def _on_diag(self, msg) -> None:
        for st in msg.status:
            if st.name == "simreal_policy: loop":
                self.policy_status = {kv.key: kv.value for kv in st.values}

    def spin(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=min(0.02, max(end - time.monotonic(), 0)))

    def wait_for(self, predicate, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return True
            self.executor.spin_once(timeout_sec=0.05)
        return predicate()

    def call(self, srv_type, name: str, request, timeout: float = 10.0):
        """Call a service and wait for the response (None on timeout)."""
        client = self.node.create_client(srv_type, name)
        try:
            if not self.wait_for(client.service_is_ready, timeout):
                return None
            future = client.call_async(request)
            self.wait_for(future.done, timeout)
            return future.result() if future.done() else None
        finally:
            self.node.destroy_client(client)

    def publish_target(self, pos) -> None:
        msg = self._PoseStamped()
        msg.header.frame_id = "world"
        msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(x) for x in pos)
        msg.pose.orientation.w = 1.0
        self.target_pub.publish(msg)

    def hold_target(self, pos, seconds: float) -> None:
        """Publish the target at 10 Hz for ``seconds`` (late joiners get it too)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.publish_target(pos)
            self.spin(min(0.1, max(end - time.monotonic(), 0)))

    def record(self, msg_type, topic: str) -> list:
        """Every message on ``topic`` from now on, as (arrival time.monotonic(), msg)."""
        out: list = []
        self.node.create_subscription(msg_type, topic, lambda m: out.append((time.monotonic(), m)), 100)
        return out

    def subscribe_json(self, topic: str, callback) -> None:
        """Call ``callback(dict)`` with each JSON message on a std_msgs/String ``topic``."""
        from std_msgs.msg import String

        self.node.create_subscription(String, topic, lambda m: callback(json.loads(m.data)), 10)

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        self.rclpy.try_shutdown(context=self.context)


def sample_targets(n: int, seed: int = 0) -> np.ndarray:
    g = np.random.default_rng(seed)
    return g.uniform(TARGET_LOW, TARGET_HIGH, size=(n, 3))


def run_demo(bundle, targets: int = 5, seconds_per_target: float = 4.0, radius: float = 0.03, seed: int = 0,
             physics: str | Path | None = None, policy_params: list[str] | None = None,
             sim_params: list[str] | None = None,
             log_dir: str | Path | None = None, startup_timeout: float = 60.0, verbose: bool = True,
             domain_id: int | None = None) -> dict:
    """Returns {"success_rate", "distances_m", "targets", ...}."""
    domain = domain_id if domain_id is not None else free_domain_id()
    env = ros_env(domain)
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="simreal_demo_"))
    log_dir.mkdir(parents=True, exist_ok=True)
    stats = log_dir / "policy_stats.json"
    hidden = ["--physics", str(Path(physics).resolve())] if physics else []
    sim = spawn(["sim-robot", *hidden, "--ros-args", *(sim_params or [])], env, log_dir / "sim_robot.log")
    probe = Probe(domain)
    policy = None
    distances = []
    try:
        if not probe.wait_for(lambda: probe.ee is not None or sim.poll() is not None, startup_timeout) or sim.poll():
            raise RuntimeError(f"the sim-robot did not start (exit {sim.poll()}); log: "
                               f"{(log_dir / 'sim_robot.log').read_text()[-2000:]}")
        policy = spawn(["deploy", str(bundle), "--ros-args", *(policy_params or []), "-p", f"stats_file:={stats}"],
                       env, log_dir / "policy.log")
        ok = probe.wait_for(lambda: probe.policy_status.get("state") == "running" or policy.poll() is not None,
                            startup_timeout)
        if not ok or policy.poll() is not None:
            raise RuntimeError(f"the policy node did not start (exit {policy.poll()}); log: "
                               f"{(log_dir / 'policy.log').read_text()[-2000:]}")
        goals = sample_targets(targets, seed)
        for i, goal in enumerate(goals):
            probe.hold_target(goal, seconds_per_target)
            d = float(np.linalg.norm(probe.ee - goal)) if probe.ee is not None else float("inf")
            distances.append(d)
            if verbose:
                print(f"target {i + 1}/{targets} {np.round(goal, 3).tolist()}: final distance {d * 100:.1f} cm "
                      f"{'reached' if d < radius else 'missed'}", flush=True)
    finally:
        probe.close()
        if policy is not None:
            stop(policy)
        stop(sim)
    status = json.loads(stats.read_text()) if stats.is_file() else {}
    success = float(np.mean([d < radius for d in distances])) if distances else None
    result = {"success_rate": success, "targets": targets, "radius_m": radius,
              "physics": str(physics) if physics else None,
              "distances_m": [round(d, 4) for d in distances], "seconds_per_target": seconds_per_target,
              "policy": {k: status.get(k) for k in ("period_err_p99_ms", "missed_deadlines", "inference_p99_ms",
                                                     "safety_interventions", "stale_events", "commands")},
              "logs": str(log_dir)}
    if verbose:
        print(f"success rate {success} ({sum(d < radius for d in distances)}/{len(distances)} targets within "
              f"{radius * 100:.0f} cm)", flush=True)
    return result
