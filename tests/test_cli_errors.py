"""Every CLI error is a message up front, not a traceback after the work, and nothing silently
does nothing; a programming error (anything not a SimrealError) keeps its traceback."""

import json

import numpy as np
import pytest
import trimesh

from simreal.cli import main


def _run(argv, capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse refuses a bad number before anything runs
        code = exit_.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["rollout", "franka-reach", "--steps", "-3"], "--steps: '-3': must be > 0"),
    (["rollout", "franka-reach", "--steps", "0"], "--steps: '0': must be > 0"),
    (["rollout", "franka-reach", "--num-envs", "0"], "--num-envs: '0': must be > 0"),
    (["view", "franka-reach", "--out", "x.png", "--width", "-1"], "--width: '-1': must be > 0"),
    (["bench", "sim", "--seconds", "nan"], "--seconds: 'nan': must be finite and > 0"),
    (["tactile", "press", "--depth-mm", "nan"], "--depth-mm: 'nan': must be finite and >= 0"),
    (["tactile", "press", "--depth-mm", "-0.5"], "--depth-mm: '-0.5': must be finite and >= 0"),
    (["tactile", "press", "--depth-mm", "0.5", "--size-mm", "4,x"], "--size-mm takes numbers separated by commas"),
    (["tactile", "press", "--depth-mm", "0.5", "--size-mm", "-4"], "--size-mm must be finite and > 0"),
])
def test_bad_numbers_are_refused_up_front(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = _run(argv, capsys)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "press.npz").exists()


def test_press_refuses_nan_depth_from_python_too():
    from simreal.errors import InputError
    from simreal.sensors.tactile.press import press

    with pytest.raises(InputError, match="finite number >= 0"):
        press("gelsight_r15", "sphere", [4.0], float("nan"))


@pytest.fixture()
def parts(tmp_path):
    d = tmp_path / "parts"
    d.mkdir()
    trimesh.creation.box([0.4, 0.4, 0.4]).export(d / "body.obj")
    lid = trimesh.creation.box([0.38, 0.38, 0.02])
    lid.apply_translation([0, 0, 0.21])
    lid.export(d / "lid.obj")
    return d


def test_twin_build_refuses_bad_arguments_before_the_pipeline_runs(parts, tmp_path, capsys):
    file_out = tmp_path / "a_file"
    file_out.write_text("keep me")
    code, err = _run(["twin", "build", str(parts), "--out", str(file_out)], capsys)
    assert code == 2 and "is a file; give a directory" in err
    assert file_out.read_text() == "keep me"
    code, err = _run(["twin", "build", str(parts), "--out", str(tmp_path / "t"), "--density", "-5"], capsys)
    assert code == 2 and "density must be a finite number > 0" in err and not (tmp_path / "t").exists()
    hints = tmp_path / "hints.json"
    for bad, message in [({"parts": {"lid": "door"}}, "parts.lid must be an object"),
                         ({"parts": {"lid": {"type": 3}}}, "parts.lid.type must be a string"),
                         ({"base": ["body"]}, "'base' must be a part name")]:
        hints.write_text(json.dumps(bad))
        code, err = _run(["twin", "build", str(parts), "--out", str(tmp_path / "t"), "--hints", str(hints)], capsys)
        assert code == 2 and message in err and "Traceback" not in err, err


def test_a_one_triangle_part_is_refused_by_name(parts, tmp_path, capsys):
    trimesh.Trimesh(vertices=[[0.2, 0, 0], [0.2, 0.1, 0], [0.2, 0, 0.1]], faces=[[0, 1, 2]]).export(parts / "flap.obj")
    code, err = _run(["twin", "build", str(parts), "--out", str(tmp_path / "t")], capsys)
    assert code == 2 and "part 'flap' has only 3 vertices" in err
    assert not (tmp_path / "t" / "parts.xml").exists()


def test_a_flat_part_gives_a_twin_that_mujoco_compiles(parts, tmp_path, capsys):
    import mujoco

    quad = trimesh.Trimesh(vertices=[[0.2, 0, 0], [0.2, 0.1, 0], [0.2, 0, 0.1], [0.2, 0.1, 0.1]],
                           faces=[[0, 1, 2], [1, 3, 2]])
    quad.export(parts / "flap.obj")
    assert main(["twin", "build", str(parts), "--out", str(tmp_path / "t")]) == 0
    model = mujoco.MjModel.from_xml_path(str(tmp_path / "t" / "parts.xml"))
    assert model.nbody == 4 and np.all(np.isfinite(model.body_mass))


def test_a_bug_keeps_its_traceback(monkeypatch):
    """Only SimrealErrors become one-line messages; a plain KeyError is a bug and propagates."""
    import simreal.rollout

    def broken(*args, **kwargs):
        return {}["missing"]

    monkeypatch.setattr(simreal.rollout, "rollout", broken)
    with pytest.raises(KeyError, match="missing"):
        main(["rollout", "franka-reach", "--steps", "1"])
