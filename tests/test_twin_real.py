"""Real, non-procedural articulated models (Franka Kitchen furniture, converted to part
meshes by tests/twin_real_models.py): build + check must recover their joints."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import twin_real_models  # noqa: E402

from simreal.twin.build import build_twin  # noqa: E402
from simreal.twin.check import check_dir  # noqa: E402
from simreal.twin.metric import evaluate  # noqa: E402

pytestmark = pytest.mark.skipif(twin_real_models.kitchen_dir() is None,
                                reason="needs the kitchen assets of gymnasium-robotics "
                                       "(pip install gymnasium-robotics)")


@pytest.mark.parametrize("item,expected", [
    ("hingecabinet", {"hingeleftdoor": "revolute", "hingerightdoor": "revolute"}),
    ("slidecabinet", {"slidelink": "prismatic"}),
    ("microwave", {"microdoorroot": "revolute"}),
])
def test_kitchen_model_joints_are_recovered(tmp_path, monkeypatch, item, expected):
    monkeypatch.setenv("SIMREAL_CACHE", str(tmp_path / "cache"))
    parts, gt = twin_real_models.convert(item, tmp_path / "src")
    report = build_twin(parts, tmp_path / "twin", name=item, progress=False)
    assert {j["child"]: j["type"] for j in report["joints"]} == expected
    result = evaluate(tmp_path / "twin", gt)
    assert result["joint_success"] == 1.0, result["joints"]
    checks = check_dir(tmp_path / "twin")
    assert len(checks) == len(expected) and all(c["passed"] for c in checks), checks
