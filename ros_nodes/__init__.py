"""Thin rclpy nodes over simreal.deploy (installed as simreal.ros_nodes); need the [ros] extra."""
