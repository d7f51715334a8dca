"""Record deployment topics to an MCAP file in rosbag2's layout (CDR messages, ``ros2msg``
schemas), readable by ``ros2 bag``, Foxglove, ``mcap-ros2-support`` and ``simreal replay``.

    simreal record --out run.mcap [--duration 30] [--topic /name:pkg/msg/Type]
"""

from __future__ import annotations

import sys
import time

import rclpy
from mcap.writer import CompressionType, Writer
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from simreal.errors import InputError
from simreal.ros_nodes.msgdefs import schema_text

DEFAULT_TOPICS = {
    "/joint_states": "sensor_msgs/msg/JointState",
    "/forward_position_controller/commands": "std_msgs/msg/Float64MultiArray",
    "/joint_trajectory_controller/joint_trajectory": "trajectory_msgs/msg/JointTrajectory",
    "/target_pose": "geometry_msgs/msg/PoseStamped",
    "/sim_robot/ee_pose": "geometry_msgs/msg/PoseStamped",
    "/diagnostics": "diagnostic_msgs/msg/DiagnosticArray",
}


def get_message(type_name: str):
    """The Python class of ``pkg/msg/Type``."""
    import importlib

    pkg, _, name = type_name.partition("/msg/")
    return getattr(importlib.import_module(f"{pkg}.msg"), name)


class Recorder(Node):
    def __init__(self, path: str, topics: dict[str, str]):
        super().__init__("simreal_recorder")
        self._file = open(path, "wb")
        self.writer = Writer(self._file, compression=CompressionType.ZSTD)
        self.writer.start(profile="ros2", library="simreal record")
        self.count = 0
        # best effort matches reliable and best-effort publishers
        qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT)
        for topic, type_name in topics.items():
            schema = self.writer.register_schema(name=type_name, encoding="ros2msg",
                                                 data=schema_text(type_name).encode())
            channel = self.writer.register_channel(topic=topic, message_encoding="cdr", schema_id=schema)
            self.create_subscription(get_message(type_name), topic, self._callback(channel), qos, raw=True)

    def _callback(self, channel: int):
        def write(data: bytes) -> None:
            now = time.time_ns()
            self.writer.add_message(channel_id=channel, log_time=now, publish_time=now, data=data, sequence=self.count)
            self.count += 1

        return write

    def close(self) -> None:
        self.writer.finish()
        self._file.close()


def main(out: str, duration: float = 0.0, extra_topics: list[str] = (), args: list[str] | None = None) -> int:
    topics = dict(DEFAULT_TOPICS)
    for item in extra_topics:
        name, _, type_name = item.partition(":")
        if "/msg/" not in type_name:
            raise InputError(f"--topic wants NAME:pkg/msg/Type, got {item!r}")
        topics[name] = type_name
    rclpy.init(args=args)
    node = Recorder(out, topics)
    end = time.monotonic() + duration if duration > 0 else float("inf")
    try:
        while rclpy.ok() and time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.close()
        print(f"recorded {node.count} messages to {out}", flush=True)
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
