"""The task cell's tactile cameras: each pad's frame, rendered by the calibrated shader from
the simulated contact, out as ``sensor_msgs/Image`` on ``/tactile/<pad>/image_raw`` (the
policy node's default) at ``tactile_rate`` (a camera's rate, not the control rate), with
``tactile_noise`` levels of pixel noise. Faults for tests, on ``tactile_fault_pad`` from
``tactile_fault_after_s`` into each episode for ``tactile_fault_for_s`` (negative: to its
end): ``silence`` (publish nothing), ``freeze`` (repeat the last message, stamp included),
``wrong_size`` (half the width), ``wrong_encoding`` (``yuv422``).
"""

from __future__ import annotations

from sensor_msgs.msg import Image

from simreal.errors import InputError

PARAMS = {
    "tactile_rate": 30.0,  # Hz
    "tactile_width": 80,  # pixels; the height keeps the sensor's aspect
    "tactile_noise": 2.0,  # pixel noise std, levels (0..255)
    "tactile_encoding": "rgb8",  # rgb8 | bgr8 | mono8
    "tactile_fault": "",  # silence | freeze | wrong_size | wrong_encoding
    "tactile_fault_pad": "",
    "tactile_fault_after_s": 1.0,
    "tactile_fault_for_s": 0.5,
}
FAULTS = ("", "silence", "freeze", "wrong_size", "wrong_encoding")


class CellTactile:
    def __init__(self, node, cell, io, p: dict):
        pads = cell.tactile[3]
        if not (isinstance(p["tactile_rate"], (int, float)) and 1.0 <= p["tactile_rate"] <= 1000.0):
            raise InputError(f"parameter tactile_rate must be 1 to 1000 Hz, got {p['tactile_rate']!r}")
        if not (isinstance(p["tactile_width"], int) and 16 <= p["tactile_width"] <= 1280):
            raise InputError(f"parameter tactile_width must be 16 to 1280 pixels, got {p['tactile_width']!r}")
        if p["tactile_encoding"] not in ("rgb8", "bgr8", "mono8"):
            raise InputError(f"parameter tactile_encoding must be rgb8, bgr8 or mono8, got {p['tactile_encoding']!r}")
        if p["tactile_fault"] not in FAULTS:
            raise InputError(f"parameter tactile_fault must be one of {list(FAULTS)}, got {p['tactile_fault']!r}")
        if p["tactile_fault"] and p["tactile_fault_pad"] not in pads:
            raise InputError(f"parameter tactile_fault_pad must name one of the task's pads {pads}, "
                             f"got {p['tactile_fault_pad']!r}")
        self.node, self.cell, self.io, self.p = node, cell, io, p
        self.topics = {pad: f"/tactile/{pad}/image_raw" for pad in pads}
        self.pubs = {pad: node.create_publisher(Image, t, 10) for pad, t in self.topics.items()}
        self.last: dict[str, Image] = {}
        node.create_timer(1.0 / p["tactile_rate"], self._publish)

    def _fault(self, pad: str) -> str:
        p = self.p
        return self.io.fault_now(p["tactile_fault"], p["tactile_fault_pad"], pad, p["tactile_fault_after_s"],
                                 p["tactile_fault_for_s"])

    def _publish(self) -> None:
        stamp = self.node.get_clock().now().to_msg()
        enc = self.p["tactile_encoding"]
        for pad, img in self.cell.tactile_frames(self.p["tactile_width"], self.p["tactile_noise"]).items():
            fault = self._fault(pad)
            if fault == "silence":
                continue
            if fault == "freeze" and pad in self.last:
                self.pubs[pad].publish(self.last[pad])
                continue
            if fault == "wrong_size":
                img = img[:, : img.shape[1] // 2]
            if enc == "bgr8":
                img = img[..., ::-1]
            elif enc == "mono8":
                img = img.mean(axis=2, keepdims=True).round().astype(img.dtype)
            h, w, ch = img.shape
            msg = Image(height=h, width=w, encoding="yuv422" if fault == "wrong_encoding" else enc,
                        is_bigendian=0, step=w * ch, data=img.tobytes())
            msg.header.stamp = stamp
            msg.header.frame_id = f"{pad}_gel"
            self.pubs[pad].publish(msg)
            self.last[pad] = msg

    def topic_list(self) -> str:
        return ", ".join(f"{t} ({pad}, {self.p['tactile_width']} px at {self.p['tactile_rate']:g} Hz)"
                         for pad, t in self.topics.items())
