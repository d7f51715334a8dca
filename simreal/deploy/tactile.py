"""Tactile pads on the robot side, free of ROS: one camera stream per pad -> the summary a
``tactile_summary`` term reads ([normal force N, contact centroid x, y mm], as training's
``tactile_contact_summary``).

Each frame is checked before it is read: a known encoding (``rgb8``, ``bgr8``, ``mono8``), a
buffer that matches its width, height and row step, the stream's size (``size``, or the
first frame's), and a stamp newer than the last one (a frozen stream repeats its stamp).
A refused frame does not refresh the pad, so a stream of them holds the arm like silence.
Accepted frames are resampled to ``read_width`` (the reader's cost follows the pixel count)
and read by :class:`~simreal.sensors.tactile.reader.ContactReader` against the pad's
no-contact reference: ``reference="capture"`` takes the per-pixel median of the first
``reference_frames`` frames (capture it with nothing touching the gel: gripper open), and
:meth:`PadReader.recapture` takes a new one; ``reference="calibration"`` uses the sensor
calibration's own no-contact frame (what a simulator renders against).
"""

from __future__ import annotations

import numpy as np

from simreal.errors import InputError

ENCODINGS = {"rgb8": 3, "bgr8": 3, "mono8": 1}
REFERENCES = ("capture", "calibration")


def decode_image(encoding: str, width: int, height: int, step: int, data) -> np.ndarray:
    """(height, width, 3) uint8 RGB from a ``sensor_msgs/Image``'s fields; InputError saying
    what is wrong with it."""
    if encoding not in ENCODINGS:
        raise InputError(f"encoding {encoding!r} is not one of {sorted(ENCODINGS)}")
    ch = ENCODINGS[encoding]
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise InputError(f"frame is {width}x{height}; a tactile frame is 16 to 8192 pixels each way")
    if step < width * ch:
        raise InputError(f"row step {step} is shorter than {width} pixels x {ch} bytes")
    buf = np.frombuffer(bytes(data) if not isinstance(data, (bytes, bytearray, memoryview)) else data, np.uint8)
    if buf.size != step * height:
        raise InputError(f"{buf.size} bytes of data for {height} rows of {step} bytes")
    img = buf.reshape(height, step)[:, :width * ch].reshape(height, width, ch)
    if ch == 1:
        return np.repeat(img, 3, axis=2)
    return img[..., ::-1] if encoding == "bgr8" else img


class PadReader:
    """One pad: checks its frames, keeps its reference, reads its newest frame."""

    def __init__(self, name: str, sensor: str, read_width: int = 80, reference: str = "capture",
                 reference_frames: int = 5, size: tuple[int, int] | None = None, calibration=None):
        from simreal.sensors.tactile.reader import ContactReader

        if reference not in REFERENCES:
            raise InputError(f"tactile reference must be one of {list(REFERENCES)}, got {reference!r}")
        if not (isinstance(read_width, int) and 16 <= read_width <= 1280):
            raise InputError(f"tactile read width must be 16 to 1280 pixels, got {read_width!r}")
        if not (isinstance(reference_frames, int) and 1 <= reference_frames <= 100):
            raise InputError(f"tactile reference_frames must be 1 to 100, got {reference_frames!r}")
        self.name, self.read_width, self.mode = name, read_width, reference
        self.reference_frames = reference_frames
        self.size = tuple(size) if size else None  # (width, height) every frame must have
        self.reader = ContactReader(sensor, calibration=calibration)
        self.last_stamp: float | None = None
        self._capture: list[np.ndarray] | None = [] if reference == "capture" else None
        self.counters = {"frames": 0, "rejected": 0, "read": 0}
        self.reject_reason = ""
        self.last_contact = None

    @property
    def has_reference(self) -> bool:
        return self._capture is None

    def recapture(self) -> None:
        """Take a new reference from the next ``reference_frames`` frames (nothing touching)."""
        self._capture = []

    def check(self, encoding: str, width: int, height: int, step: int, data, stamp: float | None) -> np.ndarray | str:
        """The frame as (H, W, 3) uint8 RGB, or why it is refused (counted, not fresh data)."""
        try:
            if self.size is not None and (width, height) != self.size:
                raise InputError(f"frame is {width}x{height}, the stream's size is {self.size[0]}x{self.size[1]}")
            img = decode_image(encoding, width, height, step, data)
            if stamp is not None and self.last_stamp is not None and stamp <= self.last_stamp:
                raise InputError(f"stamp {stamp:.6f} s does not advance (last {self.last_stamp:.6f} s): frozen")
        except InputError as err:
            self.counters["rejected"] += 1
            self.reject_reason = f"{self.name}: {err}"
            return self.reject_reason
        if self.size is None:
            self.size = (width, height)
        self.last_stamp = stamp
        self.counters["frames"] += 1
        return img

    def _resample(self, img: np.ndarray) -> np.ndarray:
        from simreal.sensors.tactile.reader import resize_frame

        h, w = img.shape[:2]
        if w <= self.read_width:
            return img.astype(np.float32)
        return resize_frame(img.astype(np.float32), self.read_width, max(16, round(h * self.read_width / w)))

    def read(self, img: np.ndarray) -> np.ndarray | None:
        """(3,) float32 summary of a checked frame, or None while the reference is captured."""
        frame = self._resample(img)
        if self._capture is not None:
            self._capture.append(frame)
            if len(self._capture) < self.reference_frames:
                return None
            self.reader.set_reference(np.median(np.stack(self._capture), axis=0))
            self._capture = None
            return None
        contact = self.reader.read(frame)
        self.last_contact = contact
        self.counters["read"] += 1
        return contact.summary

    def status(self) -> dict:
        c = self.last_contact
        return {**self.counters, "reference": "capturing" if self._capture is not None else self.mode,
                "size": list(self.size) if self.size else None, "reject_reason": self.reject_reason,
                "in_contact": bool(c.in_contact) if c is not None else None,
                "force_n": round(float(c.force_n), 4) if c is not None else None}
