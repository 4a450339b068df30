"""No import circles in minisinga/: the modules form layers, each importing only
the ones below it (dtypes -> _lib -> device -> ctensor -> backend -> _tensor ->
engine -> ops -> tensor -> layer -> model ...).

The graph is read from the source with ``ast``, so every import counts: at the
top of a module and inside a function alike (a function-local import is still a
dependency; it only runs later).  The optional extras (sonnx, dist, notebooks,
exercises) are in the graph too.  Importing a submodule runs its package's
``__init__`` first, but that edge is Python's, not the module's: an edge to a
package is counted only where a module imports a name the package itself defines
(``from . import ExerciseFailed``).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "minisinga"


def module_names(root: Path = PACKAGE) -> dict[str, tuple[Path, bool]]:
    """Every module of the package: dotted name -> (file, whether it is a package)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        modules[".".join(parts)] = (path, is_package)
    return modules


def imported_modules(node: ast.AST, module: str, is_package: bool, modules) -> list[str]:
    """The modules of the package that one import statement depends on."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:   # from X import a, b: X.a where that is a module, else X
        if node.level:   # relative: climb from this module's package
            base = module if is_package else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            source = f"{base}.{node.module}" if node.module else base
        else:
            source = node.module or ""
        targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                   for alias in node.names]
    # (compiled extensions such as minisinga._C, and other packages, are not in the graph)
    return [t for t in targets if t in modules and t != module]


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the modules of the package it imports, anywhere in its source."""
    modules = module_names(root)
    graph = {}
    for name, (path, is_package) in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(imported_modules(node, name, is_package, modules))
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as a list of modules whose last imports the first; or None.

    Depth-first search with three colours: a module is "open" while its imports
    are being explored, and an edge back to an open module closes a circle."""
    state: dict[str, str] = {}   # module -> "open" or "done"
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return path[path.index(target):]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_minisinga_has_no_import_circle(graph):
    assert {"minisinga.engine", "minisinga.tensor", "minisinga.sonnx.export",
            "minisinga.dist", "minisinga.notebooks"} <= graph.keys()
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle + cycle[:1])


def test_the_engine_sits_below_the_operations(graph):
    assert "minisinga.engine" in graph["minisinga.ops.activation"]
    for module, edges in graph.items():
        if module.startswith("minisinga.ops") or module in (
                "minisinga.tensor", "minisinga.operations", "minisinga.layer", "minisinga.model",
                "minisinga.opt", "minisinga.sonnx.export", "minisinga.sonnx.backend",
                "minisinga.graph", "minisinga.viz", "minisinga.dist", "minisinga.testing"):
            assert "minisinga.autograd" not in edges, f"{module} imports the autograd facade"


def test_find_cycle_finds_a_function_local_circle(tmp_path):
    # the checker itself: a circle closed by an import inside a function is found
    pkg = tmp_path / "minisinga"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("from .sub import c\n")
    (pkg / "sub" / "c.py").write_text("def f():\n    from .. import a\n    return a\n")
    (pkg / "d.py").write_text("from ._C import lib\nimport numpy\n")   # not in the graph
    graph = import_graph(pkg)
    assert graph["minisinga.d"] == set()
    cycle = find_cycle(graph)
    assert cycle is not None and sorted(cycle) == ["minisinga.a", "minisinga.b",
                                                   "minisinga.sub.c"]
    (pkg / "sub" / "c.py").write_text("import numpy\n")
    assert find_cycle(import_graph(pkg)) is None
