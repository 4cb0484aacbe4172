"""The package layering (STYLE.md, DESIGN.md "Parts"): dependencies point one way, down.

The graph is read from the source with ``ast``, so every import counts: module level, inside a
function (a lazy import does not make a cycle go away, it only hides it until run time) and
under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_PACKAGES = {"tests", "bench", "migrations"}
GROUND = ("core", "workers")  # import no feature package
TOP = ("engagement",)  # nothing imports these

Edge = tuple[str, str]  # (importing module, imported module)


def packages() -> list[str]:
    """The top-level packages of the application."""
    return sorted(
        p.name for p in ROOT.iterdir()
        if (p / "__init__.py").is_file() and p.name not in NOT_PACKAGES
    )  # fmt: skip


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imported(node: ast.AST, path: Path) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if not node.level:
        return [node.module or ""]
    base = _module_name(path)
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return [".".join([*base, *([node.module] if node.module else [])])]


def imports() -> dict[str, list[Edge]]:
    """Every import statement of every application module, by importing top-level package."""
    found: dict[str, list[Edge]] = defaultdict(list)
    for package in packages():
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(_module_name(path))
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                found[package].extend((module, name) for name in _imported(node, path))
    return found


def package_graph() -> dict[str, dict[str, list[Edge]]]:
    """Top-level package -> the other application packages it imports, with the imports."""
    known = set(packages()) | {"app"}
    graph: dict[str, dict[str, list[Edge]]] = {p: defaultdict(list) for p in packages()}
    for package, edges in imports().items():
        for module, name in edges:
            top = name.split(".")[0]
            if top in known and top != package:
                graph[package][top].append((module, name))
    return graph


def cycles(graph: dict[str, dict[str, list[Edge]]]) -> list[list[str]]:
    """The strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _describe(graph: dict[str, dict[str, list[Edge]]], component: list[str]) -> str:
    lines = [" <-> ".join(component)]
    for a in component:
        for b in component:
            for module, name in graph[a].get(b, []):
                lines.append(f"  {module} imports {name}")
    return "\n".join(lines)


def test_no_import_cycle_between_packages() -> None:
    graph = package_graph()
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(_describe(graph, c) for c in found)


def test_ground_floor_imports_no_feature_package() -> None:
    graph = package_graph()
    wrong = [
        f"{module} imports {name}"
        for ground in GROUND
        for target, edges in graph[ground].items()
        if target not in GROUND
        for module, name in edges
    ]
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_app_or_the_journeys() -> None:
    graph = package_graph()
    wrong = [
        f"{module} imports {name}"
        for package, targets in graph.items()
        for target, edges in targets.items()
        if target == "app" or target in TOP
        for module, name in edges
    ]
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The graph counts an import hidden in a function body, and reports the cycle it makes."""
    source = "def f():\n    from campaigns.rewards import draw_for_scan\n"
    tree = ast.parse(source)
    names = [n for node in ast.walk(tree) for n in _imported(node, ROOT / "accounts" / "x.py")]
    assert names == ["campaigns.rewards"]
    graph = {"a": {"b": [("a.x", "b")]}, "b": {"c": [("b.y", "c")]}, "c": {"a": [("c.z", "a")]}}
    assert cycles(graph) == [["a", "b", "c"]]  # type: ignore[arg-type]
