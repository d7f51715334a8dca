"""The policy node: an rclpy LifecycleNode over ``simreal.deploy.DeployController``.

    simreal deploy BUNDLE [--ros-args --params-file configs/ros/policy_node.yaml]

configure: load the bundle (parity check), wait for /joint_states and check it carries
every joint the bundle needs (arm and fingers), wait for every perceived pose input
(``/objects/<name>/pose``) and a first summary from every tactile pad's images
(``ros_nodes/tactile_inputs.py``); activate: soft start, then the policy on a timer at the
bundle's control period; deactivate: stop commanding (the controller holds).
Pose inputs (``geometry_msgs/PoseStamped``) are moved into ``base_frame`` by the static
``frames``; the gripper column goes out as a width on ``gripper_topic``.
Services ``~/estop`` (Trigger), ``~/enable`` (SetBool), ``~/pause`` and ``~/new_episode``
(Trigger: stop between episodes; start one from the measured pose), ``~/recapture_reference``
(Trigger, tactile bundles); diagnostics on /diagnostics, one status for the loop and one per
input (pose or tactile pad).
With ``autostart`` (default) the node configures and activates itself and exits with
status 2 when configuration fails; set it false under a lifecycle manager.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import rclpy
from builtin_interfaces.msg import Duration
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import SetBool, Trigger
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from simreal.deploy.controller import (
    ESTOP,
    RUNNING,
    STALE_HOLD,
    ControllerCfg,
    DeployController,
    missing_joints,
    missing_joints_message,
)
from simreal.deploy.inputs import StaticFrames, input_topics, parse_mapping
from simreal.deploy.stats import LoopStats
from simreal.errors import SimrealError

from . import tactile_inputs

PARAMS = {
    "bundle": "",
    "control_period_s": 0.0,  # 0: the bundle's period
    "soft_start_s": 2.0,
    "stale_periods": 5.0,
    "resume_s": 0.2,
    "input_timeout_s": 0.0,  # > 0: a target pose older than this is stale too (for streamed targets)
    "smoothing": 0.0,
    "max_step_scale": 1.0,
    "output": "position",  # "position": Float64MultiArray; "trajectory": JointTrajectory
    "command_topic": "/forward_position_controller/commands",
    "trajectory_topic": "/joint_trajectory_controller/joint_trajectory",
    "joint_states_topic": "/joint_states",
    "target_topic": "/target_pose",
    "input_topics": [""],  # "name=topic" per pose input; default /objects/<name>/pose ("target": target_topic)
    "input_max_age_s": [""],  # "name=seconds" per pose input (default: 2.5 periods if perceived, else input_timeout_s)
    "perceived_max_age_periods": 2.5,
    "pose_box": [-2.0, 2.0, -2.0, 2.0, -1.0, 2.5],  # m, base frame: pose inputs outside it are refused
    "base_frame": "world",  # the robot base frame; poses stamped "" or base_frame are in it
    "frames": [""],  # "frame x y z qw qx qy qz": a static frame's pose in base_frame
    "gripper_topic": "/gripper_controller/commands",  # Float64MultiArray, the gripper width command
    "gripper_output": "width",  # width: [width m]; joints: one position per finger joint (width / fingers)
    "joint_map": [""],  # "bundle_joint=robot_joint", e.g. joint1=fr3_joint1 (arm and fingers)
    "configure_timeout_s": 10.0,
    "diagnostics_period_s": 1.0,
    "autostart": True,
    "realtime_priority": 0,  # > 0: SCHED_FIFO at this priority for the whole process (Linux; root or CAP_SYS_NICE)
    "joint_state_margin_rad": 0.1,  # joint states further than this outside the limits are refused
    "stats_skip_s": 1.0,  # loop timing statistics start this long after activation
    "stats_file": "",  # JSON written with the diagnostics and at exit (benchmarks, tests)
    "trace_file": "",  # .npz of each policy tick's observation, action and command (simreal.deploy.trace),
    # written at each pause and at exit
    **tactile_inputs.PARAMS,
}
# the parameters that are DeployController settings (ControllerCfg fields, validated there)
CONTROLLER_PARAMS = ("soft_start_s", "stale_periods", "resume_s", "input_timeout_s", "smoothing", "max_step_scale",
                     "control_period_s", "joint_state_margin_rad", "perceived_max_age_periods", "pose_box",
                     "tactile_max_age_s")


class PolicyNode(LifecycleNode):
    def __init__(self, bundle: str | None = None):
        super().__init__("simreal_policy")
        for name, default in PARAMS.items():
            self.declare_parameter(name, default)
        if bundle:
            self.set_parameters([Parameter("bundle", value=bundle)])
        self.p = {name: self.get_parameter(name).value for name in PARAMS}
        self.lock = threading.Lock()
        self.controller: DeployController | None = None
        self.loop: LoopStats | None = None
        self.configure_error = ""
        self._seen_names: tuple[str, ...] | None = None
        self.to_robot: dict[str, str] = {}
        self._loop_thread: threading.Thread | None = None
        self._loop_stop = threading.Event()
        self._diag_timer = None
        self._stats_reset_at: float | None = None
        self._io_group = MutuallyExclusiveCallbackGroup()
        self._seen_inputs: set[str] = set()
        self._pose_subs: list = []
        self.tactile: tactile_inputs.TactileInputs | None = None
        self.topics: dict[str, str] = {}
        self.frames = None
        self.to_bundle: dict[str, str] = {}  # robot joint name -> bundle joint name (joint_map)
        # joint states are listened to from the start, so configure can check the joint names
        self.create_subscription(JointState, self.p["joint_states_topic"], self._on_joint_state,
                                 qos_profile_sensor_data, callback_group=self._io_group)
        self.create_service(Trigger, "~/estop", self._on_estop)
        self.create_service(SetBool, "~/enable", self._on_enable)
        self.create_service(Trigger, "~/pause", self._on_pause)
        self.create_service(Trigger, "~/new_episode", self._on_new_episode)
        self.gripper_pub = None
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        if self.p["output"] == "trajectory":
            self.cmd_pub = self.create_publisher(JointTrajectory, self.p["trajectory_topic"], 10)
        elif self.p["output"] == "position":
            self.cmd_pub = self.create_publisher(Float64MultiArray, self.p["command_topic"], 10)
        else:
            raise SimrealError(f"parameter output must be 'position' or 'trajectory', got {self.p['output']!r}")

    # ---------------------------------------------------------------- inputs
    def _on_joint_state(self, msg: JointState) -> None:
        now = time.monotonic()
        names = [self.to_bundle.get(n, n) for n in msg.name] if self.to_bundle else msg.name
        with self.lock:
            self._seen_names = tuple(names)
            if self.controller is not None:
                self.controller.update_joint_state(names, msg.position, msg.velocity, now)

    def _on_pose(self, name: str, msg: PoseStamped) -> None:
        now = time.monotonic()
        p = msg.pose.position
        stamp = msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec
        with self.lock:
            c = self.controller
            if c is None:
                return
            try:
                pos = self.frames.to_base(msg.header.frame_id, (p.x, p.y, p.z))
            except SimrealError as err:
                c.input_counters[name]["rejected"] += 1
                c.input_reject_reason[name] = f"{name}: {err}"
                return
            if c.set_input(name, pos, now, stamp if stamp > 0 else None) is None:
                self._seen_inputs.add(name)

    # ---------------------------------------------------------------- lifecycle
    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            return self._configure()
        except Exception as err:  # whatever it is, the reason reaches the log and the exit message
            return self._fail(f"{type(err).__name__}: {err}" if not isinstance(err, SimrealError) else str(err))

    def _configure(self) -> TransitionCallbackReturn:
        from simreal.export.bundle import load_bundle

        if not self.p["bundle"]:
            return self._fail("no bundle given: simreal deploy BUNDLE_DIR (or -p bundle:=DIR)")
        try:
            ages = parse_mapping(self.p["input_max_age_s"], "input_max_age_s", float)
            cfg = ControllerCfg(**{k: self.p[k] for k in CONTROLLER_PARAMS}, input_max_age_s=ages).validate()
            self.frames = StaticFrames(self.p["base_frame"], self.p["frames"])
            joint_map = parse_mapping(self.p["joint_map"], "joint_map")
            if self.p["gripper_output"] not in ("width", "joints"):
                raise SimrealError(f"parameter gripper_output must be 'width' or 'joints', got "
                                   f"{self.p['gripper_output']!r}")
        except TypeError as err:  # a parameter of the wrong type, e.g. a string
            return self._fail(f"controller parameters: {err}")
        except SimrealError as err:
            return self._fail(str(err))
        try:
            bundle = load_bundle(self.p["bundle"])
        except SimrealError as err:
            return self._fail(f"cannot load bundle: {err}")
        spec = bundle.spec
        unknown = sorted(set(joint_map) - set(spec.measured_joint_names()))
        if unknown:
            return self._fail(f"joint_map names {unknown}, which are not bundle joints {spec.measured_joint_names()}")
        with self.lock:
            self.to_bundle = {robot: ours for ours, robot in joint_map.items()}
            self.to_robot = joint_map
            self._seen_names = None  # names seen before the map applied
        try:
            self.topics = input_topics(spec.pose_inputs(), self.p["target_topic"],
                                       parse_mapping(self.p["input_topics"], "input_topics"))
        except SimrealError as err:
            return self._fail(str(err))
        for name, topic in self.topics.items():
            self._pose_subs.append(self.create_subscription(
                PoseStamped, topic, lambda msg, name=name: self._on_pose(name, msg), qos_profile_sensor_data,
                callback_group=self._io_group))
        if spec.action.gripper is not None and self.gripper_pub is None:
            self.gripper_pub = self.create_publisher(Float64MultiArray, self.p["gripper_topic"], 10)
        deadline = time.monotonic() + self.p["configure_timeout_s"]
        first_seen = None
        while time.monotonic() < deadline:  # joint states arrive on another thread
            with self.lock:
                names = self._seen_names
            if names is not None:
                if not missing_joints(spec, names):
                    break
                first_seen = first_seen or time.monotonic()
                if time.monotonic() > first_seen + 1.0:  # a second of messages without the joints: fail
                    break
            time.sleep(0.02)
        if names is None:
            return self._fail(f"no message on {self.p['joint_states_topic']} within {self.p['configure_timeout_s']} s; "
                              f"is the robot (or simreal sim-robot) running on this ROS_DOMAIN_ID?")
        if missing_joints(spec, names):
            return self._fail(missing_joints_message(spec, names))
        with self.lock:
            self.bundle = bundle
            try:
                self.controller = DeployController(spec, bundle.act, cfg, reset_policy=bundle.reset_state,
                                                   kinematics=bundle.kinematics)
            except SimrealError as err:
                return self._fail(str(err))
            self.loop = LoopStats(self.controller.period_s)
            if self.p["trace_file"]:
                self.controller.start_trace()
        if spec.tactile_pads():
            try:
                self.tactile = tactile_inputs.TactileInputs(self, spec, self.p, self._io_group)
            except SimrealError as err:
                return self._fail(str(err))
            self.topics.update(self.tactile.topics)
        waiting = self._wait_for_perceived(spec, deadline)
        tactile_waiting = self.tactile.wait_ready(deadline) if self.tactile is not None else []
        if tactile_waiting:
            with self.lock:
                self.controller = None
            return self._fail("no tactile summary within configure_timeout_s from " + ", ".join(tactile_waiting)
                              + "; is the sensor publishing sensor_msgs/Image there? (simreal sim-robot --task TASK "
                              "--group policy,tactile_summary renders a task's pads)")
        if waiting:
            with self.lock:
                self.controller = None
            return self._fail("no valid pose within configure_timeout_s on " + ", ".join(
                f"{self.topics[n]} (input {n!r})" for n in waiting) + "; is the perception (or simreal sim-robot "
                "--task) publishing geometry_msgs/PoseStamped there, in a known frame?")
        self.get_logger().info(f"configured: bundle {bundle.path} (parity max diff {bundle.parity_max_abs_diff:.2g}), "
                               f"{spec.num_joints} joints, period {self.controller.period_s * 1e3:.1f} ms")
        return TransitionCallbackReturn.SUCCESS

    def _wait_for_perceived(self, spec, deadline: float) -> list[str]:
        """Perceived inputs still without a valid pose at ``deadline`` (goals may come later)."""
        need = set(spec.perceived_inputs())
        while time.monotonic() < deadline:
            with self.lock:
                if need <= self._seen_inputs:
                    return []
            time.sleep(0.02)
        with self.lock:
            return sorted(need - self._seen_inputs)

    def _fail(self, message: str) -> TransitionCallbackReturn:
        self.configure_error = message
        if self.tactile is not None:  # a later configure subscribes afresh
            self.tactile.close()
            self.tactile = None
        self.get_logger().error(f"configure failed: {message}")
        return TransitionCallbackReturn.FAILURE

    def on_activate(self, state) -> TransitionCallbackReturn:
        with self.lock:
            self.controller.activate(time.monotonic())
            self.loop.reset_timing()
            self._stats_reset_at = time.monotonic() + self.p["stats_skip_s"]
        if self._loop_thread is None:
            self._loop_stop.clear()
            self._loop_thread = threading.Thread(target=self._run_loop, name="policy_loop", daemon=True)
            self._loop_thread.start()
            self._diag_timer = self.create_timer(self.p["diagnostics_period_s"], self._publish_diagnostics,
                                                 callback_group=self._io_group)
        self.get_logger().info("activated: soft start to the default pose")
        return super().on_activate(state)

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        with self.lock:
            self.controller.deactivate()
        self.get_logger().info("deactivated: holding (no commands)")
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._stop_timers()
        self.write_trace()
        with self.lock:
            self.controller = None
        for sub in self._pose_subs:
            self.destroy_subscription(sub)
        self._pose_subs, self._seen_inputs = [], set()
        if self.tactile is not None:
            self.tactile.close()
            self.tactile = None
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        self._stop_timers()
        self.write_stats()
        return TransitionCallbackReturn.SUCCESS

    def _stop_timers(self) -> None:
        self._loop_stop.set()
        if self._loop_thread is not None:
            self._loop_thread.join(timeout=1.0)
        if self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
        self._loop_thread = self._diag_timer = None

    # ---------------------------------------------------------------- services
    def _on_estop(self, request, response):
        with self.lock:
            if self.controller is not None:
                self.controller.estop()
            sent = self.controller.counters["commands"] if self.controller is not None else 0
        response.success = True
        response.message = f"e-stop after command {sent}: no commands until ~/enable true (which soft-starts)"
        self.get_logger().warn(response.message)
        return response

    def _on_enable(self, request, response):
        with self.lock:
            if self.controller is None:
                response.success, response.message = False, "not configured"
                return response
            if request.data:
                self.controller.enable(time.monotonic())
                response.message = "enabled: soft start"
            else:
                self.controller.estop()
                response.message = "disabled: no commands"
        response.success = True
        return response

    def _on_pause(self, request, response):
        with self.lock:
            ok = self.controller is not None and self.controller.pause()
            state = self.controller.state if self.controller is not None else "unconfigured"
        response.success = ok
        response.message = "paused: no commands until ~/new_episode" if ok else f"not running (state {state})"
        self.write_trace()
        return response

    def _on_new_episode(self, request, response):
        with self.lock:
            why = "not configured" if self.controller is None else self.controller.new_episode(time.monotonic())
        response.success = why is None
        response.message = why or "new episode from the measured pose"
        return response

    # ---------------------------------------------------------------- the loop
    def _run_loop(self) -> None:
        """Ticks on absolute deadlines (k * period from the start) in a thread of its own,
        so executor load does not drift the period; a tick later than a whole period
        re-aligns the schedule instead of bursting to catch up."""
        period = self.controller.period_s
        next_t = time.monotonic()
        while not self._loop_stop.is_set() and rclpy.ok():
            self._tick()
            next_t += period
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif -delay > period:
                next_t = time.monotonic()

    def _tick(self) -> None:
        t0 = time.monotonic()
        with self.lock:
            c = self.controller
            if c is None:
                return
            if self._stats_reset_at is not None and t0 >= self._stats_reset_at:
                self.loop = LoopStats(c.period_s)  # forget start-up transients
                c.inference_s.clear()
                self._stats_reset_at = None
            self.loop.tick(t0)
            before = c.state
            cmd = c.tick(t0)
            if cmd is not None:  # under the lock: nothing goes out after an e-stop returns
                self._publish(cmd, c)
            if c.gripper_command is not None:
                self._publish_gripper(c.gripper_command, c)
            self.loop.work_done(time.monotonic() - t0)
            # Logged under the lock: no status message reports the new state before the log has it.
            if c.state != before and c.state == STALE_HOLD:
                what = [f"joint states stale (age {c.observation_age(t0) * 1e3:.0f} ms > "
                        f"{c.watchdog.timeout_s * 1e3:.0f} ms)"] if not c.stale_inputs else []
                what += [f"input {n} stale on {self.topics.get(n, '?')} (age {c.watchdog.age(n, t0) * 1e3:.0f} ms > "
                         f"{c.input_max_age[n] * 1e3:.0f} ms)" for n in c.stale_inputs]
                self.get_logger().error(f"{'; '.join(what)}: holding, no commands until fresh data")
            elif before == STALE_HOLD and c.state != STALE_HOLD:
                self.get_logger().warn("fresh data again: ramping back to the held command")

    def _publish(self, cmd, c: DeployController) -> None:
        if self.p["output"] == "position":
            self.cmd_pub.publish(Float64MultiArray(data=[float(x) for x in cmd]))
        else:
            ns = int(c.period_s * 1e9)
            point = JointTrajectoryPoint(positions=[float(x) for x in cmd],
                                         time_from_start=Duration(sec=ns // 10**9, nanosec=ns % 10**9))
            names = [self.to_robot.get(j, j) for j in c.spec.joint_names]
            self.cmd_pub.publish(JointTrajectory(joint_names=names, points=[point]))

    def _publish_gripper(self, width: float, c: DeployController) -> None:
        fingers = len(c.spec.finger_joint_names)
        data = [width] if self.p["gripper_output"] == "width" else [width / fingers] * fingers
        self.gripper_pub.publish(Float64MultiArray(data=[float(x) for x in data]))

    def status(self) -> dict:
        with self.lock:
            if self.controller is None:
                return {"state": "unconfigured", "configure_error": self.configure_error}
            out = {**self.controller.status(time.monotonic()), **self.loop.summary()}
        if self.tactile is not None:
            out["tactile"] = self.tactile.status()
        return out

    def _publish_diagnostics(self) -> None:
        s = self.status()
        level = DiagnosticStatus.OK if s["state"] == RUNNING else DiagnosticStatus.WARN
        if s["state"] in (ESTOP, STALE_HOLD):
            level = DiagnosticStatus.ERROR
        values = [KeyValue(key=k, value=json.dumps(v) if not isinstance(v, str) else v) for k, v in s.items()]
        status = DiagnosticStatus(level=level, name="simreal_policy: loop", hardware_id=self.get_name(),
                                  message=s["state"], values=values)
        statuses = [status]
        for name, inp in (s.get("inputs") or {}).items():
            stale = name in s.get("stale_inputs", [])
            never = inp["age_ms"] is None
            lvl = DiagnosticStatus.ERROR if stale else DiagnosticStatus.WARN if never else DiagnosticStatus.OK
            text = "stale: holding the arm" if stale else "never received" if never else "fresh"
            statuses.append(DiagnosticStatus(
                level=lvl, name=f"simreal_policy: input {name}", hardware_id=self.topics.get(name, ""),
                message=text, values=[KeyValue(key=k, value=json.dumps(v) if not isinstance(v, str) else v)
                                      for k, v in inp.items()]))
        msg = DiagnosticArray(status=statuses)
        msg.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(msg)
        self.write_stats(s)

    def write_trace(self) -> None:
        with self.lock:
            c = self.controller
            if c is None or c.trace is None or not len(c.trace):
                return
            copy = c.trace.copy()  # written outside the lock
        try:
            copy.save(self.p["trace_file"])
        except OSError as err:  # the policy runs on; the trace is what is lost
            self.get_logger().error(f"cannot write trace_file {self.p['trace_file']}: {err}",
                                    throttle_duration_sec=10.0)

    def write_stats(self, s: dict | None = None) -> None:
        if self.p["stats_file"]:
            s = s or self.status()
            path = Path(self.p["stats_file"])
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(s))
            tmp.replace(path)


def main(bundle: str | None = None, args: list[str] | None = None) -> int:
    # the loop thread must get the GIL soon after it wakes: Python's default hand-over
    # interval (5 ms) would be a quarter of a 50 Hz period of jitter
    sys.setswitchinterval(2e-4)
    rclpy.init(args=args)
    try:
        node = PolicyNode(bundle)
    except Exception as err:  # a parameter of the wrong type or value: say which, no traceback
        print(f"simreal deploy: error: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
        rclpy.try_shutdown()
        return 2
    set_realtime(node, node.p["realtime_priority"])  # before the executor and loop threads exist
    executor = make_executor(node.p["autostart"])
    executor.add_node(node)
    spin = threading.Thread(target=_spin, args=(executor,), daemon=True)
    spin.start()
    code = 0
    try:
        if node.p["autostart"]:
            node.trigger_configure()
            if node.controller is None:
                print(f"simreal deploy: error: configure failed: {node.configure_error}", file=sys.stderr, flush=True)
                code = 2
            else:
                node.trigger_activate()
        while code == 0 and rclpy.ok() and spin.is_alive():
            spin.join(timeout=0.2)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.write_stats()
        node._stop_timers()
        node.write_trace()
        executor.shutdown(timeout_sec=2.0)
        spin.join(timeout=2.0)
        node.destroy_node()
        rclpy.try_shutdown()
    return code


def set_realtime(node, priority: int) -> None:
    """SCHED_FIFO for this thread and the threads it starts later (the loop, the executor),
    as ros2_control runs its control loop; refused without the privilege (then a warning)."""
    if priority <= 0:
        return
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        node.get_logger().info(f"real-time scheduling: SCHED_FIFO priority {priority}")
    except (OSError, AttributeError) as err:
        node.get_logger().warn(f"realtime_priority {priority} refused ({err}); running with normal scheduling")


def make_executor(autostart: bool):
    """With autostart, configure runs on the main thread, so one executor thread will do
    (less Python per message than the multi-threaded one). Under a lifecycle manager,
    configure runs in a service callback and waits for /joint_states, which then need a
    second executor thread. The control loop always has a thread of its own."""
    if autostart:
        return SingleThreadedExecutor()
    return MultiThreadedExecutor(num_threads=3)


def _spin(executor) -> None:
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass


if __name__ == "__main__":
    sys.exit(main(args=sys.argv))
