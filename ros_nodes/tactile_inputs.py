"""The policy node's tactile inputs: one ``sensor_msgs/Image`` stream per pad of the
bundle's ``tactile`` section, read into the summaries its ``tactile_summary`` terms hold.

Topics default to ``/tactile/<pad>/image_raw`` (``tactile_topics``: ``pad=topic``). Frames
are checked on arrival (encoding, size, stamp: :class:`simreal.deploy.tactile.PadReader`)
and the newest checked frame of each pad is read by a worker thread of its own, so neither
the control loop nor the executor waits for the reader; a summary counts from the moment
its frame arrived. The service ``~/recapture_reference`` (``std_srvs/Trigger``) takes a new
no-contact reference from each pad's next frames (open the gripper first); until it is
taken the pad gives no summary, and a running policy holds.
"""

from __future__ import annotations

import threading
import time

from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_srvs.srv import Trigger

from simreal.deploy.inputs import parse_mapping
from simreal.deploy.tactile import PadReader
from simreal.errors import InputError

PARAMS = {
    "tactile_topics": [""],  # "pad=topic" per pad; default /tactile/<pad>/image_raw
    "tactile_size": [0, 0],  # [width, height] every frame must have; [0, 0]: the first frame's
    "tactile_read_width": 80,  # frames are read at this width (the reader's cost follows the pixel count)
    "tactile_reference": "capture",  # capture: median of the first frames (nothing touching); calibration
    "tactile_reference_frames": 5,
    "tactile_calibration": "",  # a calibration file of this sensor (simreal tactile calibrate); "": the model's default
    "tactile_max_age_s": 0.1,  # a pad whose newest summary is older holds the arm
}


def tactile_topics(pads, overrides: dict) -> dict[str, str]:
    unknown = sorted(set(overrides) - set(pads))
    if unknown:
        raise InputError(f"parameter tactile_topics names {unknown}, which this bundle does not read; its "
                         f"tactile pads: {list(pads)}")
    return {pad: overrides.get(pad, f"/tactile/{pad}/image_raw") for pad in pads}


class TactileInputs:
    """Subscribes the pads' images for ``node`` and feeds ``node.controller`` (under
    ``node.lock``) with each pad's summary."""

    def __init__(self, node, spec, p: dict, callback_group):
        size = list(p["tactile_size"])
        if len(size) != 2 or any(not isinstance(v, int) or v < 0 for v in size) or (0 in size and any(size)):
            raise InputError(f"parameter tactile_size must be [width, height] in pixels, or [0, 0], got {size!r}")
        self.node = node
        self.topics = tactile_topics(spec.tactile.pads, parse_mapping(p["tactile_topics"], "tactile_topics"))
        self.pads = {pad: PadReader(pad, spec.tactile.sensor, read_width=p["tactile_read_width"],
                                    reference=p["tactile_reference"],
                                    reference_frames=p["tactile_reference_frames"],
                                    size=tuple(size) if any(size) else None,
                                    calibration=p["tactile_calibration"] or None)
                     for pad in spec.tactile.pads}
        self._newest: dict[str, tuple] = {}
        self._wake = threading.Condition()
        self._stop = False
        self.subs = [node.create_subscription(Image, topic, lambda msg, pad=pad: self._on_image(pad, msg),
                                              qos_profile_sensor_data, callback_group=callback_group)
                     for pad, topic in self.topics.items()]
        self.service = node.create_service(Trigger, "~/recapture_reference", self._on_recapture)
        self._worker = threading.Thread(target=self._work, name="tactile_reader", daemon=True)
        self._worker.start()

    def _on_image(self, pad: str, msg: Image) -> None:
        now = time.monotonic()
        stamp = msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec
        with self._wake:
            img = self.pads[pad].check(msg.encoding, msg.width, msg.height, msg.step, msg.data,
                                       stamp if stamp > 0 else None)
            if isinstance(img, str):
                self._refused(pad, img)
                return
            self._newest[pad] = (img, now, stamp if stamp > 0 else None)
            self._wake.notify()

    def _refused(self, pad: str, reason: str) -> None:
        with self.node.lock:
            c = self.node.controller
            if c is not None:
                c.input_counters[pad]["rejected"] += 1
                c.input_reject_reason[pad] = reason

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._newest and not self._stop:
                    self._wake.wait(0.5)
                if self._stop:
                    return
                pad = next(iter(self._newest))  # the pad waiting longest (a newer frame keeps its place)
                img, received, stamp = self._newest.pop(pad)
            try:
                summary = self.pads[pad].read(img)
            except Exception as err:  # a frame the reader cannot take: refused, reported, the pad goes stale
                self._refused(pad, f"{pad}: reader: {type(err).__name__}: {err}")
                continue
            if summary is None:  # still capturing the reference
                continue
            with self.node.lock:
                c = self.node.controller
                if c is not None:
                    c.set_input(pad, summary, received, stamp)

    def ready(self) -> bool:
        """Every pad has its reference and has given a summary."""
        with self.node.lock:
            c = self.node.controller
            return c is not None and all(c.inputs[pad] is not None for pad in self.pads)

    def wait_ready(self, deadline: float) -> list[str]:
        """Pads without a summary at ``deadline`` (monotonic s), each with its topic and why."""
        while time.monotonic() < deadline and not self.ready():
            time.sleep(0.02)
        return [] if self.ready() else self.waiting_for()

    def waiting_for(self) -> list[str]:
        with self.node.lock:
            c = self.node.controller
            return [f"{self.topics[p]} (pad {p!r}: {self._why(p)})" for p in self.pads
                    if c is None or c.inputs[p] is None]

    def _why(self, pad: str) -> str:
        r = self.pads[pad]
        if r.counters["frames"] == 0:
            return f"no valid frame; {r.reject_reason}" if r.counters["rejected"] else "no frame"
        return "capturing the reference" if not r.has_reference else "not read yet"

    def _on_recapture(self, request, response):
        with self._wake:
            for r in self.pads.values():
                r.recapture()
        response.success = True
        response.message = (f"taking a new reference from the next {self.node.p['tactile_reference_frames']} frames of "
                            f"{len(self.pads)} pad(s): nothing may touch the gels; a running policy holds until then")
        self.node.get_logger().info(response.message)
        return response

    def status(self) -> dict:
        with self._wake:
            return {pad: r.status() for pad, r in self.pads.items()}

    def close(self) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify()
        self._worker.join(timeout=1.0)
        for sub in self.subs:
            self.node.destroy_subscription(sub)
        self.node.destroy_service(self.service)
