"""The package's layering, checked on its source: no module imports itself back through others
(function-level imports included), and the dashboard uses no API internals (what both need
lives in ``originlens.web``, below both)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.shared_data import REPO

PACKAGE = REPO / "src" / "originlens"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_back() -> None:
    assert _cycles(_imports(_modules())) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_dashboard_uses_no_api_internals() -> None:
    graph = _imports(_modules())
    leaks = {
        name: sorted(t for t in targets if t.startswith("originlens.api"))
        for name, targets in graph.items()
        if name.startswith("originlens.dashboard")
    }
    assert {name: targets for name, targets in leaks.items() if targets} == {}


def test_factories_live_in_the_composition_root() -> None:
    """Backends do not know the factory that picks them."""
    graph = _imports(_modules())
    for base, backends in (
        ("originlens.jobs.base", ("originlens.jobs.inprocess", "originlens.jobs.celery_queue")),
        ("originlens.storage.base", ("originlens.storage.local", "originlens.storage.s3")),
    ):
        assert not graph[base] & set(backends), base
