"""docs/DEPLOY.md and the shipped parameter files name every parameter the nodes declare."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _nodes():
    from simreal.ros_nodes import policy_node, sim_robot_node

    return [("simreal_policy", "policy_node.yaml", policy_node.PARAMS),
            ("simreal_sim_robot", "sim_robot.yaml", sim_robot_node.PARAMS)]


@pytest.mark.parametrize("node, params_file, params", _nodes())
def test_every_declared_parameter_is_documented_and_in_its_file(node, params_file, params):
    doc = (ROOT / "docs" / "DEPLOY.md").read_text()
    undocumented = [name for name in params if f"`{name}`" not in doc]
    assert not undocumented, f"docs/DEPLOY.md does not name {undocumented}"
    shipped = yaml.safe_load((ROOT / "configs" / "ros" / params_file).read_text())[node]["ros__parameters"]
    missing = [name for name in params if name not in shipped and name != "bundle"]  # bundle: the CLI argument
    assert not missing, f"configs/ros/{params_file} lacks {missing}"
    unknown = [name for name in shipped if name not in params]
    assert not unknown, f"configs/ros/{params_file} sets parameters the node does not declare: {unknown}"
    wrong = {n: (v, params[n]) for n, v in shipped.items() if v != params[n]}
    assert not wrong, f"configs/ros/{params_file} defaults differ from the node's (file, node): {wrong}"
