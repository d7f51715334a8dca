"""Tactile pads on the robot side without ROS: the spec's tactile section, image decoding and
checks, the reference, the controller's pad inputs, and the task cell's rendered frames."""

import numpy as np
import pytest

from simreal.deploy.controller import RUNNING, STALE_HOLD, ControllerCfg, DeployController
from simreal.deploy.spec import DeploySpec, SpecError
from simreal.deploy.tactile import PadReader, decode_image
from simreal.errors import InputError

TASK = "franka-peg-insert-tactile"
GROUPS = ["policy", "tactile_summary"]


@pytest.fixture(scope="module")
def spec():
    from simreal.deploy.from_task import deploy_spec_from_task

    return deploy_spec_from_task(TASK, GROUPS)


@pytest.fixture(scope="module")
def cell():
    from simreal.deploy.task_cell import TaskCell

    c = TaskCell(TASK, seed=0, group=GROUPS)
    c.step(50)
    return c


def test_the_peg_students_inputs_map_onto_robot_sources(spec):
    by_name = {t.name: t for t in spec.observations}
    assert by_name["socket_pos"].source == "pose_position" and by_name["socket_pos"].perceived
    assert by_name["socket_pos"].input == "socket" and by_name["socket_pos"].noise_std == pytest.approx(0.0005)
    assert by_name["contact"].source == "tactile_summary" and by_name["contact"].dim == 6
    assert spec.tactile.sensor == "gelsight_r15" and spec.tactile_pads() == ["left_finger", "right_finger"]
    again = DeploySpec.from_dict(spec.to_dict())
    assert again.tactile == spec.tactile and again.obs_dim == spec.obs_dim == 38


def test_the_blind_student_reads_no_pads():
    from simreal.deploy.from_task import deploy_spec_from_task

    blind = deploy_spec_from_task(TASK, "policy")
    assert blind.tactile is None and blind.tactile_pads() == [] and blind.perceived_inputs() == ["socket"]


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(tactile=None), "no tactile section"),
    (lambda d: d["tactile"].update(sensor="gelsight_x"), "not a known sensor model"),
    (lambda d: d["tactile"].update(pads=["left_finger", "left_finger"]), "names a pad twice"),
    (lambda d: d["tactile"].update(pads=["left/finger", "right"]), "plain name"),
    (lambda d: d["tactile"].update(pads=["left_finger"]), "expected 3"),
])
def test_a_broken_tactile_section_is_refused_naming_it(spec, change, message):
    d = spec.to_dict()
    change(d)
    with pytest.raises(SpecError, match=message):
        DeploySpec.from_dict(d)


def test_images_decode_from_every_encoding_with_padded_rows():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    padded = np.zeros((20, 96), np.uint8)  # rows padded to 96 bytes
    padded[:, :90] = rgb.reshape(20, 90)
    assert np.array_equal(decode_image("rgb8", 30, 20, 96, padded.tobytes()), rgb)
    assert np.array_equal(decode_image("bgr8", 30, 20, 90, rgb[..., ::-1].tobytes()), rgb)
    mono = decode_image("mono8", 30, 20, 30, rgb[..., 0].tobytes())
    assert mono.shape == (20, 30, 3) and np.array_equal(mono[..., 2], rgb[..., 0])


@pytest.mark.parametrize("args, message", [
    (("yuv422", 30, 20, 60, bytes(1200)), "encoding 'yuv422'"),
    (("rgb8", 30, 20, 90, bytes(1799)), "1799 bytes of data for 20 rows of 90 bytes"),
    (("rgb8", 30, 20, 60, bytes(1200)), "row step 60 is shorter"),
    (("rgb8", 8, 8, 24, bytes(192)), "16 to 8192 pixels"),
])
def test_a_malformed_image_is_refused_saying_why(args, message):
    with pytest.raises(InputError, match=message):
        decode_image(*args)


def _msg(img, stamp):
    h, w = img.shape[:2]
    return "rgb8", w, h, w * 3, img.tobytes(), stamp


def test_a_pad_refuses_frozen_and_resized_frames_and_reads_after_its_reference(cell):
    frames = cell.tactile_frames(80)
    from simreal.sensors.tactile.reader import ContactReader

    empty = ContactReader("gelsight_r15").calibration_reference(80, 60).round().astype(np.uint8)
    pad = PadReader("left_finger", "gelsight_r15", read_width=80, reference="capture", reference_frames=3)
    for k in range(3):  # the reference: nothing touching
        img = pad.check(*_msg(empty, 1.0 + k))
        assert isinstance(img, np.ndarray) and pad.read(img) is None
    assert pad.has_reference
    assert "does not advance" in pad.check(*_msg(frames["left_finger"], 3.0))  # frozen: the same stamp again
    assert "frame is 40x60" in pad.check(*_msg(np.ascontiguousarray(frames["left_finger"][:, :40]), 4.0))
    assert pad.counters["rejected"] == 2
    summary = pad.read(pad.check(*_msg(frames["left_finger"], 5.0)))
    assert summary.shape == (3,) and summary[0] > 0.5  # the held peg presses the pad
    assert pad.read(pad.check(*_msg(empty, 6.0)))[0] == 0.0  # and an empty gel reads nothing
    pad.recapture()
    assert not pad.has_reference and pad.read(pad.check(*_msg(empty, 7.0))) is None


def test_the_task_cell_renders_both_pads_with_the_peg_on_them(cell):
    frames = cell.tactile_frames(80, noise_std=2.0)
    assert sorted(frames) == ["left_finger", "right_finger"]
    from simreal.sensors.tactile.reader import ContactReader

    reader = ContactReader("gelsight_r15")
    empty = reader.calibration_reference(80, 60)
    for img in frames.values():
        assert img.shape == (60, 80, 3) and img.dtype == np.uint8
        changed = np.linalg.norm(img.astype(np.float32) - empty, axis=2) > 20
        assert 0.02 < changed.mean() < 0.5  # a stripe of contact, not the whole gel
        assert reader.read(img).in_contact


def test_pad_summaries_feed_the_policy_and_a_stale_pad_holds(spec):
    seen = []
    ctl = DeployController(spec, lambda obs: (seen.append(obs.copy()), np.zeros(spec.num_actions, np.float32))[1],
                           ControllerCfg(soft_start_s=0.0, tactile_max_age_s=0.1), kinematics=_kinematics(spec))

    assert ctl.pads == ["left_finger", "right_finger"] and ctl.input_max_age["left_finger"] == 0.1
    assert "negative" in ctl.set_input("left_finger", [-1.0, 0.0, 0.0], 0.0, 1.0)
    assert "finite" in ctl.set_input("left_finger", [np.nan, 0.0, 0.0], 0.0, 1.0)
    assert ctl.set_input("left_finger", [2.5, 3.0, -0.5], 0.0, 1.0) is None
    assert "does not advance" in ctl.set_input("left_finger", [2.5, 3.0, -0.5], 0.01, 1.0)
    assert ctl.input_counters["left_finger"] == {"received": 1, "rejected": 3, "stale_events": 0}
    ctl.set_input("right_finger", [2.0, -3.0, 0.5], 0.0, 1.0)
    ctl.set_input("socket", [0.55, 0.0, 0.0], 0.0, 1.0)
    obs = ctl.obs_builder.build(np.array(spec.default_joint_pos), np.zeros(7), ctl.inputs,
                                np.zeros(spec.num_actions, np.float32))
    assert np.allclose(obs[-6:], [2.5, 3.0, -0.5, 2.0, -3.0, 0.5])

    ctl2 = DeployController(spec, lambda obs: np.zeros(spec.num_actions, np.float32),
                            ControllerCfg(soft_start_s=0.0), kinematics=_kinematics(spec))
    assert ctl2._stale_inputs(0.0) == []
    for name, v in (("left_finger", [1, 0, 0]), ("right_finger", [1, 0, 0]), ("socket", [0.5, 0, 0])):
        ctl2.set_input(name, v, 0.0, 1.0)
    assert ctl2._stale_inputs(0.05) == []
    assert sorted(ctl2._stale_inputs(0.15)) == ["left_finger", "right_finger", "socket"]


def test_a_stale_pad_stops_commands_until_it_is_fresh(spec):
    ctl = DeployController(spec, lambda obs: np.zeros(spec.num_actions, np.float32), ControllerCfg(soft_start_s=0.0),
                           kinematics=_kinematics(spec))
    names = spec.measured_joint_names()
    q = np.array(spec.default_joint_pos)  # the peg task holds its hand closed: no finger joints read
    t = 0.0

    def feed(t, pads=True):
        ctl.update_joint_state(names, q, np.zeros(len(names)), t)
        ctl.set_input("socket", [0.55, 0.0, 0.0], t, t + 1)
        if pads:
            for pad in ctl.pads:
                ctl.set_input(pad, [2.0, 0.0, 0.0], t, t + 1)

    feed(t)
    ctl.activate(t)
    for _ in range(5):
        t += 0.02
        feed(t)
        ctl.tick(t)
    assert ctl.state == RUNNING
    for _ in range(8):  # pads silent for 160 ms
        t += 0.02
        feed(t, pads=False)
        out = ctl.tick(t)
    assert ctl.state == STALE_HOLD and out is None and ctl.stale_inputs == ["left_finger", "right_finger"]


def _kinematics(spec):
    import tempfile
    from pathlib import Path

    from simreal.deploy.kinematics import Kinematics
    from simreal.sim.scene import kinematics_xml

    path = Path(tempfile.mkdtemp()) / "kinematics.xml"
    path.write_text(kinematics_xml(spec.robot))
    return Kinematics.load(path, spec.kinematics.site, spec.joint_names)


def test_a_gelsight_mini_student_deploys_with_the_minis_model_and_frames():
    from simreal.deploy.from_task import deploy_spec_from_task
    from simreal.deploy.task_cell import TaskCell

    spec = deploy_spec_from_task("franka-peg-insert-tactile-mini", GROUPS)
    assert spec.tactile.sensor == "gelsight_mini" and spec.tactile_pads() == ["left_finger", "right_finger"]
    cell = TaskCell("franka-peg-insert-tactile-mini", seed=0, group=GROUPS)
    cell.step(50)
    frames = cell.tactile_frames(80)
    pad = PadReader("left_finger", "gelsight_mini", reference="calibration")
    img = pad.check(*_msg(frames["left_finger"], 1.0))
    assert img.shape == (60, 80, 3) and pad.read(img)[0] > 0.5
