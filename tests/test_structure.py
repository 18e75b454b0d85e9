"""The house reads one way (issue 25): every module of ``connectors``, ``inbox``, ``recap`` and
``main`` imports only from its own wing or a wing below it (``inbox.WINGS``, bottom first), and
no import goes round in a circle. Imports inside functions and under ``TYPE_CHECKING`` count
too: a lazy import is a circle as well, only hidden until run time."""
from __future__ import annotations

import ast
from pathlib import Path

from inbox import WINGS

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("inbox", "recap", "connectors")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    found["main"] = ROOT / "main.py"
    return found


def imported(node: ast.AST, name: str, is_package: bool) -> list[str]:
    """The dotted names an import statement of module ``name`` may load."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:  # relative: from the module's package, one level up per extra dot
        package = name.split(".") if is_package else name.split(".")[:-1]
        package = package[:len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def import_graph() -> dict[str, set[str]]:
    found = modules()
    graph: dict[str, set[str]] = {name: set() for name in found}
    for name, path in found.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in imported(node, name, is_package):
                if target in found and target != name:
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


def wing_of(module: str) -> str | None:
    """The innermost wing holding ``module`` (``inbox.sop.workflow`` -> ``inbox.sop``)."""
    holding = [w for w in WINGS if module == w or module.startswith(w + ".")]
    return max(holding, key=len) if holding else None


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(importer, imported) pairs where the imported module's wing is above the importer's."""
    rank = {wing: i for i, wing in enumerate(WINGS)}
    return sorted((name, target) for name, targets in graph.items() for target in targets
                  if rank[wing_of(target)] > rank[wing_of(name)])


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    assert "inbox.cli.common" in graph["inbox.cli.commands"]
    assert "inbox.sop.outbox" in graph["inbox.sop.workflow"]
    assert "inbox.arrive.ingest" in graph["inbox.sop.workflow"]     # inside a function
    assert "inbox.setup.runtime" in graph["inbox.sop.outbox"]       # under TYPE_CHECKING
    assert "inbox.pii" in graph["connectors.base"]                  # from inbox import pii
    assert imported(ast.parse("from .b import c").body[0], "pkg.a", False) == ["pkg.b", "pkg.b.c"]
    assert imported(ast.parse("from . import c").body[0], "pkg", True) == ["pkg", "pkg.c"]


def test_no_import_goes_round_in_a_circle() -> None:
    assert [sorted(c) for c in cycles(import_graph())] == []


def test_every_module_belongs_to_a_wing_and_imports_none_above_its_own() -> None:
    graph = import_graph()
    assert [name for name in graph if wing_of(name) is None] == []
    assert upward_imports(graph) == []


def test_the_checks_would_see_a_circle_and_an_upward_import() -> None:
    graph = {name: set(targets) for name, targets in import_graph().items()}
    graph["inbox.models"].add("inbox.sop.workflow")  # core importing the SOP: up, and a circle
    assert upward_imports(graph) == [("inbox.models", "inbox.sop.workflow")]
    assert any({"inbox.models", "inbox.sop.workflow"} <= c for c in cycles(graph))


def test_each_wing_says_what_it_is_for_and_the_core_stays_small() -> None:
    for wing in WINGS:
        init = ROOT / Path(*wing.split(".")) / "__init__.py"
        if wing == "main":
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 80, f"{init} must say what the wing is for"
    subpackages = {p.parent.name for p in (ROOT / "inbox").glob("*/__init__.py")}
    assert {w.split(".")[1] for w in WINGS if w.startswith("inbox.")} == subpackages
    core = [p.name for p in (ROOT / "inbox").glob("*.py") if p.name != "__init__.py"]
    assert len(core) <= 10, core
