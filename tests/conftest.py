import os

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long learning runs and Warp-on-CPU checks (run with -m slow)")
    config.addinivalue_line("markers", "warp: needs mujoco-warp (runs on Warp's CPU device here)")


@pytest.fixture(scope="session")
def franka_cube_model():
    from simreal.sim.scene import BoxCfg, MarkerCfg, SceneCfg, build_scene

    return build_scene(SceneCfg(objects=[BoxCfg("cube")], markers=[MarkerCfg("target")]))


@pytest.fixture(autouse=True, scope="session")
def _quiet_threads():
    os.environ.setdefault("OMP_NUM_THREADS", "1")
