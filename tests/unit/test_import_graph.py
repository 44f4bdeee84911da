"""No import circles inside confsvc, and none hidden by imports inside functions (issue 12):
read from the source with ast, so it holds for code no test happens to run."""

from __future__ import annotations

import ast
from pathlib import Path

import confsvc

ROOT = Path(confsvc.__file__).parent


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> tuple[set[str], list[str]]:
    """(modules imported at the top, imports anywhere else: inside functions or under
    `if TYPE_CHECKING:`, both ways of hiding a circle)."""
    tree = ast.parse(path.read_text())
    top: set[str] = set()
    inner: list[str] = []
    checking = {
        id(n)
        for stmt in tree.body
        if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test)
        for n in ast.walk(stmt)
    }
    top_level = {id(stmt) for stmt in tree.body}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        found = {t for t in targets if t in modules}
        if not found:
            continue
        target = max(found, key=len)
        if id(node) in top_level:
            top.add(target)
        else:
            where = "for type checking" if id(node) in checking else "inside a function"
            inner.append(f"{_module(path)} imports {target} {where}")
    return top, inner


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    files = {_module(p): p for p in ROOT.rglob("*.py")}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    hidden: list[str] = []
    for name, path in files.items():
        top, inner = _imports(path, modules)
        # A package's __init__ re-exports its modules: importing it is not a circle.
        graph[name] = {t for t in top if not name.startswith(t + ".") and t != name}
        hidden += inner
    return graph, hidden


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_no_import_circle_in_confsvc() -> None:
    graph, _ = _graph()
    assert _cycles(graph) == []


def test_nothing_imports_confsvc_inside_functions_or_for_type_checking() -> None:
    _, hidden = _graph()
    assert hidden == []
