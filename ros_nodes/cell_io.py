"""The task cell's ROS side, attached to the sim-robot node when it runs ``--task``: the
object and goal poses out, the gripper width in, ``~/reset`` and each episode's outcome.

Poses go out as ``geometry_msgs/PoseStamped`` (frame ``pose_frame``) on the topics a policy
node reads by default (``/objects/<name>/pose``; a goal named ``target`` on ``target_topic``)
at ``perception_rate``. An episode starts at the first arm command after ``~/reset``; once
it has run the task's episode length, the task's success test decides it and a JSON line
goes out on ``episode_topic`` (``std_msgs/String``). Pose faults for tests: ``pose_fault``
(``silence``: publish nothing; ``freeze``: repeat the last message, stamp included; ``nonfinite``: NaN;
``away``: 10 m off) on ``pose_fault_input`` from ``pose_fault_after_s`` into each episode
for ``pose_fault_for_s`` (negative: to its end).
"""

from __future__ import annotations

import json

import numpy as np
from geometry_msgs.msg import PoseStamped
from std_msgs.msg import Float64MultiArray, String
from std_srvs.srv import Trigger

from simreal.deploy.inputs import input_topics
from simreal.errors import InputError

PARAMS = {
    "group": "policy",  # the actor's observation group(s), comma-separated: what the policy perceives
    "task_params": "",  # JSON object: the task's own parameters (e.g. {"twin": DIR}), as a bundle's provenance has
    "gripper_topic": "/gripper_controller/commands",  # [width m] or one position per finger joint
    "perception_rate": 100.0,  # Hz, object and goal poses
    "pose_frame": "world",
    "episode_topic": "/task_cell/episode",
    "pose_fault": "",  # silence | freeze | nonfinite | away
    "pose_fault_input": "",
    "pose_fault_after_s": 1.0,
    "pose_fault_for_s": 0.5,
}
FAULTS = ("", "silence", "freeze", "nonfinite", "away")


class CellIO:
    def __init__(self, node, cell, p: dict, queue_gripper):
        self.node, self.cell, self.p = node, cell, p
        names = [s.name for s in cell.sources]
        rate = p["perception_rate"]
        if not (isinstance(rate, (int, float)) and 0.1 <= rate <= 10000):
            raise InputError(f"parameter perception_rate must be 0.1 to 10000 Hz, got {rate!r}")
        if p["pose_fault"] not in FAULTS:
            raise InputError(f"parameter pose_fault must be one of {list(FAULTS)}, got {p['pose_fault']!r}")
        if p["pose_fault"] and p["pose_fault_input"] not in names:
            raise InputError(f"parameter pose_fault_input must name one of the task's pose inputs {names}, "
                             f"got {p['pose_fault_input']!r}")
        self.topics = input_topics(names, p["target_topic"], {})
        self.pubs = {n: node.create_publisher(PoseStamped, t, 10) for n, t in self.topics.items()}
        self.last_msg: dict[str, PoseStamped] = {}
        self.episode_pub = node.create_publisher(String, p["episode_topic"], 10)
        self.fingers = len(cell.robot.gripper_joint_names)
        self._queue_gripper = queue_gripper
        node.create_subscription(Float64MultiArray, p["gripper_topic"], self._on_gripper, 10)
        node.create_service(Trigger, "~/reset", self._on_reset)
        node.create_timer(1.0 / p["perception_rate"], self._publish_poses)
        self.episode_t0: float | None = None  # cell time of the first arm command of this episode
        self.reported = False
        self.results: list[dict] = []
        self.on_reset = None  # called before each reset (the node writes its trace)

    def topic_list(self) -> str:
        return ", ".join(f"{t} ({n})" for n, t in self.topics.items())

    # ------------------------------------------------------------- in
    def _on_gripper(self, msg: Float64MultiArray) -> None:
        data = np.asarray(msg.data, dtype=np.float64)
        if data.shape not in ((1,), (self.fingers,)) or not np.all(np.isfinite(data)):
            self.node.get_logger().warn(f"ignoring gripper command {data.tolist()}: need [width] or "
                                        f"{self.fingers} finite finger positions", throttle_duration_sec=1.0)
            return
        self._queue_gripper(float(data.sum()))

    def _on_reset(self, request, response):
        if self.on_reset is not None:
            self.on_reset()
        self.cell.reset()
        self.episode_t0, self.reported = None, False
        self.node.pending.clear()
        self.last_msg.clear()
        response.success = True
        response.message = f"episode {self.cell.episodes} of {self.cell.task_id}"
        return response

    def arm_command_applied(self) -> None:
        if self.episode_t0 is None:
            self.episode_t0 = self.cell.time

    # ------------------------------------------------------------- out
    def after_step(self) -> None:
        """Decide the episode once it has run its length."""
        if self.episode_t0 is None or self.reported:
            return
        if self.cell.time - self.episode_t0 < self.cell.episode_length_s - 0.5 * self.cell.timestep:
            return
        self.reported = True
        result = {"episode": self.cell.episodes, "task": self.cell.task_id, "success": self.cell.success(),
                  "time_s": round(self.cell.time - self.episode_t0, 4),
                  "true_poses": {k: np.round(v, 4).tolist() for k, v in self.cell.true_poses().items()},
                  "gripper_width_m": round(float(self.cell.gripper_pos.sum()), 4)}
        self.results.append(result)
        self.episode_pub.publish(String(data=json.dumps(result)))
        self.node.get_logger().info(f"episode {result['episode']}: {'success' if result['success'] else 'failure'}")

    def fault_now(self, fault: str, target: str, name: str, after_s: float, for_s: float) -> str:
        """``fault`` if it applies to ``name`` at this moment of the episode (from ``after_s``
        into it for ``for_s``, negative: to its end), else ""."""
        if not fault or name != target or self.episode_t0 is None:
            return ""
        t = self.cell.time - self.episode_t0 - after_s
        return fault if t >= 0 and (for_s < 0 or t < for_s) else ""

    def _fault_active(self, name: str) -> str:
        p = self.p
        return self.fault_now(p["pose_fault"], p["pose_fault_input"], name, p["pose_fault_after_s"],
                              p["pose_fault_for_s"])

    def _publish_poses(self) -> None:
        stamp = self.node.get_clock().now().to_msg()
        for name, pos in self.cell.poses().items():
            fault = self._fault_active(name)
            if fault == "silence":
                continue
            if fault == "freeze" and name in self.last_msg:
                self.pubs[name].publish(self.last_msg[name])
                continue
            if fault == "nonfinite":
                pos = np.full(3, np.nan)
            elif fault == "away":
                pos = pos + np.array([10.0, 0.0, 0.0])
            msg = PoseStamped()
            msg.header.stamp = stamp
            msg.header.frame_id = self.p["pose_frame"]
            msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(x) for x in pos)
            msg.pose.orientation.w = 1.0
            self.pubs[name].publish(msg)
            self.last_msg[name] = msg
