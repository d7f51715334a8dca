"""The architecture stays visible: no import cycles between simreal modules, the robot
registry imports nothing above it, and sim/ holds backends that import no learning,
deployment, sensing or twin code."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = {"simreal": REPO / "simreal", "simreal.tasks": REPO / "tasks", "simreal.ros_nodes": REPO / "ros_nodes"}


def modules() -> dict[str, Path]:
    found = {}
    for prefix, root in ROOTS.items():
        for path in root.rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([prefix, *parts])] = path
    return found


MODULES = modules()


def imports(path: Path, top_level_only: bool) -> set[str]:
    """simreal modules ``path`` imports (``from pkg import name`` counts ``pkg.name`` when
    that is a module, else ``pkg``)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("simreal")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("simreal"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in MODULES else node.module)
    return {m for m in out if m in MODULES}


def test_no_import_cycles_between_modules():
    graph = {m: imports(p, top_level_only=True) - {m} for m, p in MODULES.items()}
    # Tarjan's strongly connected components
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"modules importing each other at import time: {cycles}"


def test_robots_import_nothing_above_them():
    allowed = {"simreal.errors", "simreal.mjcf"}
    for name, path in MODULES.items():
        if name.startswith("simreal.robots"):
            bad = {m for m in imports(path, top_level_only=False) if not m.startswith("simreal.robots")} - allowed
            assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}: robots/ may use only {sorted(allowed)}"


def test_sim_holds_backends_only():
    above = ("simreal.envs", "simreal.rl", "simreal.deploy", "simreal.sensors", "simreal.twin", "simreal.tasks",
             "simreal.actions", "simreal.export")
    for name, path in MODULES.items():
        if name.startswith("simreal.sim"):
            bad = {m for m in imports(path, top_level_only=False) if m.startswith(above)}
            assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}: sim/ is the backends, below all of them"


def test_the_checks_see_the_tree():
    assert {"simreal.robots.registry", "simreal.sim.backend", "simreal.tasks.franka_reach.config"} <= set(MODULES)
    assert "simreal.robots.registry" in imports(MODULES["simreal.robots.derive"], top_level_only=True)
