"""Robot registry: constants agree with the shipped MJCF; Menagerie roots resolve offline."""

import pytest

from simreal.robots import MENAGERIE_ENV, get_robot, list_robots, resolve_mjcf
from simreal.robots.franka_panda import FRANKA_PANDA
from simreal.sim.scene import ModelError, SceneCfg, build_scene, compile_mjcf

ARM_XML = """<mujoco model="two_link">
  <worldbody>
    <body name="base">
      <geom type="cylinder" size="0.05 0.05"/>
      <body name="upper" pos="0 0 0.1">
        <joint name="shoulder" axis="0 1 0" range="-1.5 1.5"/>
        <geom type="capsule" fromto="0 0 0 0 0 0.3" size="0.03"/>
        <body name="fore" pos="0 0 0.3">
          <joint name="elbow" axis="0 1 0" range="-2 2"/>
          <geom type="capsule" fromto="0 0 0 0 0 0.25" size="0.025"/>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <position name="a_shoulder" joint="shoulder" kp="200" kv="20" forcerange="-30 30"/>
    <position name="a_elbow" joint="elbow" kp="100" kv="10" forcerange="-15 15"/>
  </actuator>
  <keyframe><key name="home" qpos="0.3 -0.6" ctrl="0.3 -0.6"/></keyframe>
</mujoco>
"""


def test_franka_constants_match_the_menagerie_model():
    derived = get_robot("menagerie:franka_emika_panda/panda.xml")
    for name in ("joint_names", "actuator_names", "default_joint_pos", "joint_pos_limits", "actuator_kp",
                 "actuator_kv"):
        assert getattr(derived, name) == getattr(FRANKA_PANDA, name), name
    assert FRANKA_PANDA.joint_effort_limits == derived.joint_effort_limits
    assert set(FRANKA_PANDA.sources) >= {"joint_names", "default_joint_pos", "joint_pos_limits", "joint_vel_limits"}
    assert "franka_panda" in list_robots()


def test_menagerie_root_adds_an_arm_without_code(tmp_path, monkeypatch):
    (tmp_path / "my_arm").mkdir()
    (tmp_path / "my_arm" / "arm.xml").write_text(ARM_XML)
    monkeypatch.setenv(MENAGERIE_ENV, str(tmp_path))
    robot = get_robot("menagerie:my_arm/arm.xml")
    assert robot.joint_names == ("shoulder", "elbow")
    assert robot.default_joint_pos == pytest.approx((0.3, -0.6))
    assert robot.actuator_kp == (200.0, 100.0) and robot.actuator_kv == (20.0, 10.0)
    assert robot.joint_effort_limits == (30.0, 15.0)
    assert robot.ee_body == "fore"
    model = build_scene(SceneCfg(robot="menagerie:my_arm/arm.xml"))
    assert model.site("ee").id >= 0


def test_missing_mjcf_names_every_place_tried(monkeypatch, tmp_path):
    monkeypatch.setenv(MENAGERIE_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        resolve_mjcf("universal_robots_ur5e/ur5e.xml")
    with pytest.raises(KeyError, match="registered robots"):
        get_robot("kuka")


def test_broken_mjcf_error_names_file_and_mujoco_message(tmp_path):
    bad = tmp_path / "broken.xml"
    bad.write_text("<mujoco><worldbody><geom type='sphere'/><body><joint type='nope'/></body></worldbody></mujoco>")
    with pytest.raises(ModelError, match=r"broken\.xml.*(nope|joint|type)"):
        compile_mjcf(bad)
    with pytest.raises(ModelError, match="does not exist"):
        compile_mjcf(tmp_path / "missing.xml")
