"""The import rule: the render core and the write-time search know no storage, no record, no server.

pjstore's (and tools') modules are read with ast, every import statement counted (inside functions
and TYPE_CHECKING blocks too: a lazy import is still a dependency), and followed transitively.
"""

from __future__ import annotations

import ast
import importlib.util
from functools import cache
from pathlib import Path

import pjstore
import tools

ABOVE_THE_CORE = ("pjstore.storage", "pjstore.server", "pjstore.batch", "pjstore.record")
CORE = ("pjstore.render", "pjstore.rendition")


def _modules() -> dict[str, Path]:
    found = {}
    for package in (pjstore, tools):
        root = Path(package.__file__).parent
        for path in root.rglob("*.py"):
            parts = (package.__name__, *path.relative_to(root).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _ancestors(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


@cache
def imports(name: str) -> frozenset[str]:
    """The first-party modules importing `name` runs, packages included (importing a.b.c runs a
    and a.b), but not `name`'s own packages: those are initialised before it whatever it imports."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    named = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) \
                if node.level else node.module or ""
            # `from a import b` imports module a.b where there is one, else takes a name from a.
            named |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names}
    run = set().union(*({m} | _ancestors(m) for m in named)) if named else set()
    return frozenset(m for m in run if m in MODULES and m != name and m not in _ancestors(name))


def reached(name: str) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        for m in imports(todo.pop()) - seen:
            seen.add(m)
            todo.append(m)
    return seen


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_the_walk_sees_real_dependencies():
    # The serving path stands on storage and on the render core: a walk that missed either would
    # let the rule below pass on nothing.
    served = reached("pjstore.read_path.serve")
    assert {"pjstore.storage", "pjstore.record", "pjstore.render.pipeline", "pjstore.render.decode"} <= served
    assert "pjstore.rendition.choose" in imports("pjstore.cli.group")  # imported inside a function
    assert "pjstore.render.colour" in imports("pjstore.quality.contract")


def test_render_core_and_search_reach_no_storage_record_server_or_batch():
    core = [m for m in MODULES if _within(m, CORE)]
    assert "pjstore.render.pipeline" in core and "pjstore.rendition.choose" in core
    broken = {m: sorted(r for r in reached(m) if _within(r, ABOVE_THE_CORE)) for m in core}
    assert {m: r for m, r in broken.items() if r} == {}


def test_no_import_cycles():
    # Tarjan's strongly connected components over the whole graph; any with two or more modules is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in imports(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                cycles.append(sorted([v, *component]))

    for v in sorted(MODULES):
        if v not in index:
            visit(v)
    assert cycles == []
