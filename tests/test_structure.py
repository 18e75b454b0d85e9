"""The modules import each other one way: no circle through the command line, the recaps or the
workflow (issue 19, item 13). Lazy imports inside functions count too: they are circles as well,
only hidden until run time."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("inbox", "recap", "connectors")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    modules["main"] = ROOT / "main.py"
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in graph:
        if v not in index:
            visit(v)
    return found


NAMED = {"inbox.cli", "inbox.case_cli", "inbox.classify_cli", "inbox.web.serve", "recap.cli",
         "recap.daily", "recap.daily_doc", "recap.monthly", "recap.monthly_doc",
         "inbox.workflow", "inbox.outbox", "inbox.cli_common", "recap.make"}


def test_the_graph_sees_the_imports() -> None:
    graph = import_graph()
    assert "inbox.cli_common" in graph["inbox.cli"] and "inbox.outbox" in graph["inbox.workflow"]
    assert "recap.make" in graph["recap.cli"]  # a lazy import inside a function counts


def test_no_circle_runs_through_the_command_line_the_recaps_or_the_workflow() -> None:
    tangled = [sorted(c) for c in cycles(import_graph()) if c & NAMED]
    assert tangled == []
