"""No import cycle inside bilancio_lite (issue 12).

Every module of the package is parsed with :mod:`ast`; all of its imports count, those inside
functions and ``if TYPE_CHECKING:`` blocks too (a lazy import hides a cycle, it does not remove
it). Relative imports are resolved as Python resolves them: ``from . import x`` imports the
submodule ``x`` when there is one, else the package's ``__init__``; importing a package means
importing its ``__init__``; ``from a.b import c`` imports ``a.b.c`` if that is a module, else
``a.b``. Only the named module counts, not the parent packages Python initialises on the way
(otherwise every submodule of a package whose ``__init__`` re-exports it would be a cycle).
A cycle is a strongly connected component of more than one module, or a module importing itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "bilancio_lite"


# --- the import graph ------------------------------------------------------------------------------
def module_files(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file for every ``.py`` under ``root`` (the package's folder); a
    package's ``__init__.py`` is named after the package."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(name: str, modules: dict[str, Path]) -> str | None:
    """The module a dotted name imports: itself, else its longest prefix that is a module."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def module_imports(module: str, path: Path, modules: dict[str, Path]) -> dict[str, int]:
    """The package's modules that ``module`` imports anywhere in its file -> first line."""
    is_package = path.name == "__init__.py"
    package_parts = module.split(".") if is_package else module.split(".")[:-1]
    found: dict[str, int] = {}

    def add(target: str | None, line: int) -> None:
        if target is not None:
            found.setdefault(target, line)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(_imported(alias.name, modules), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[:len(package_parts) - (node.level - 1)]
                full = ".".join(base + ([node.module] if node.module else []))
            else:
                full = node.module or ""
            for alias in node.names:
                sub = f"{full}.{alias.name}"
                add(sub if sub in modules else _imported(full, modules), node.lineno)
    return found


def import_graph(root: Path = ROOT / PACKAGE, package: str = PACKAGE) -> dict[str, dict[str, int]]:
    """Module -> {imported module of the package: line of the first such import}."""
    modules = module_files(root, package)
    return {m: module_imports(m, p, modules) for m, p in modules.items()}


# --- cycles ---------------------------------------------------------------------------------------
def find_cycles(graph: dict[str, set[str] | dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one node, and nodes with an edge to
    themselves (Tarjan's algorithm); each sorted, the list sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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
            if len(component) > 1 or v in graph.get(v, ()):
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(cycles)


def describe_cycle(graph: dict[str, dict[str, int]], cycle: list[str]) -> str:
    """The cycle's modules and the imports between them (file line numbers)."""
    members = set(cycle)
    edges = [f"{a} -> {b} (line {line})" for a in cycle for b, line in sorted(graph[a].items()) if b in members]
    return " <-> ".join(cycle) + ":\n    " + "\n    ".join(edges)


# --- tests ----------------------------------------------------------------------------------------
def test_the_cycle_finder_finds_components_and_self_loops():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": set(), "f": {"f"},
             "g": {"h"}, "h": {"g", "a"}}
    assert find_cycles(graph) == [["a", "b", "c"], ["f"], ["g", "h"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a", "c"}}) == []


def test_imports_are_resolved_like_python_resolves_them(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import f\nVERSION = 1\n")
    (pkg / "a.py").write_text("import os\n\ndef f():\n    from . import b            # a submodule\n")
    (pkg / "b.py").write_text("from . import VERSION          # a name: the package's __init__\n")
    (pkg / "c.py").write_text("from .sub import thing         # a name in sub/__init__\n")
    (pkg / "sub" / "__init__.py").write_text("from ..a import f\nfrom . import mod\nthing = 1\n")
    (pkg / "sub" / "mod.py").write_text("import pkg.a\nfrom pkg.sub import mod\n"
                                        "if False:\n    from .. import b\n")
    graph = import_graph(pkg, "pkg")
    assert {m: set(e) for m, e in graph.items()} == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.b"},
        "pkg.b": {"pkg"},
        "pkg.c": {"pkg.sub"},
        "pkg.sub": {"pkg.a", "pkg.sub.mod"},
        "pkg.sub.mod": {"pkg.a", "pkg.sub.mod", "pkg.b"},
    }
    assert graph["pkg.a"]["pkg.b"] == 4      # the line of the import inside the function
    assert find_cycles(graph) == [["pkg", "pkg.a", "pkg.b"], ["pkg.sub.mod"]]


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) >= 20 and sum(map(len, graph.values())) >= 40, "the package's imports were not found"
    cycles = find_cycles(graph)
    assert not cycles, (f"{len(cycles)} import cycle(s) in {PACKAGE}:\n"
                        + "\n".join(describe_cycle(graph, c) for c in cycles))
