"""No two modules of projectdesk import each other, directly or round a longer circle.

Imports are read as written (ast): relative ones resolved, those inside functions counted (they run when the
function does), those under `if TYPE_CHECKING:` left out (they never run). `from package import name` depends
on the package and, when `name` is a module, on that module. Every strongly connected component of more than
one module is a cycle; each is reported with the imports that close it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

Edges = dict[str, dict[str, list[str]]]  # module -> imported module -> where ("path:line")


def _modules(src: Path, package: str) -> dict[str, Path]:
    modules = {}
    for path in sorted((src / package).rglob("*.py")):
        name = ".".join(path.relative_to(src).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _run_time_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import under `node`, at any depth, except in the body of an `if TYPE_CHECKING:`."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:  # the else branch does run
                if isinstance(other, ast.Import | ast.ImportFrom):
                    yield other
                yield from _run_time_imports(other)
        else:
            yield from _run_time_imports(child)


def import_graph(src: Path, package: str = "projectdesk") -> Edges:
    modules = _modules(src, package)
    edges: Edges = {name: {} for name in modules}
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _run_time_imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parts = here.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            for target in targets:
                if target in modules and target != name:
                    edges[name].setdefault(target, []).append(f"{path.relative_to(src)}:{node.lineno}")
    return edges


def cycles(edges: Edges) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted, in name order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


def describe(edges: Edges, component: list[str]) -> str:
    members = set(component)
    lines = [" <-> ".join(component)]
    for source in component:
        for target, where in sorted(edges[source].items()):
            if target in members:
                lines.append(f"    {source} -> {target}  ({', '.join(where)})")
    return "\n".join(lines)


def test_no_import_cycles_among_projectdesk_modules() -> None:
    edges = import_graph(SRC)
    assert len(edges) > 50  # the package was found
    found = [describe(edges, component) for component in cycles(edges)]
    assert found == [], "modules that import each other (run-time imports):\n" + "\n".join(found)


def test_the_graph_counts_run_time_imports_only(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from pkg import b\n",
        "b.py": "def later():\n    from . import c\n",  # inside a function: runs, counts
        "c.py": "import pkg.a\n",  # closes a -> b -> c -> a
        "d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import e\nelse:\n    import os\n",
        "e.py": "import typing\nif typing.TYPE_CHECKING:\n    from pkg.d import x\n",  # d <-> e only for mypy
        "sub/__init__.py": "",
        "sub/f.py": "from ..sub import g\n",
        "sub/g.py": "from .. import sub\nfrom .f import name\n",  # f <-> g through relative imports
    }
    for name, text in files.items():
        (package / name).write_text(text, encoding="utf-8")
    edges = import_graph(tmp_path, "pkg")
    assert edges["pkg.d"] == {} and edges["pkg.e"] == {}
    assert "pkg.c" in edges["pkg.b"] and edges["pkg.b"]["pkg.c"] == ["pkg/b.py:2"]
    assert cycles(edges) == [["pkg.a", "pkg.b", "pkg.c"], ["pkg.sub.f", "pkg.sub.g"]]
    assert "pkg.sub.g -> pkg.sub.f  (pkg/sub/g.py:2)" in describe(edges, ["pkg.sub.f", "pkg.sub.g"])
