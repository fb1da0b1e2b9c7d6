"""The house rules: which package and which room of node/ may import which.

Read from the source with ``ast`` (every import, at module level or inside a function, except
those under ``if TYPE_CHECKING:``), so that a new import that breaks a rule fails here with the
module and the edge named, before it turns into a circle nobody can untangle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("node", "aggregator", "privacy", "protos", "wire", "i18n", "cli")

# node/'s rooms, and the hall: node.toml's loader and the access policy it reads, which every
# room above the store may consult.
ROOMS = ("store", "imports", "engine", "service", "organisation", "synthetic")
HALL = "hall"
MAY_IMPORT: dict[str, frozenset[str]] = {
    "store": frozenset({"store"}),
    "imports": frozenset({"store", "imports"}),
    HALL: frozenset({HALL, "store", "imports"}),
    "engine": frozenset({"engine", HALL, "store", "imports"}),
    "service": frozenset({"service", "engine", HALL, "store", "imports"}),
    "organisation": frozenset({"organisation", "engine", HALL, "store", "imports"}),
    "synthetic": frozenset({"synthetic"}),
}

# Which top-level packages each package may import (DESIGN's layering; cli may import them all).
MAY_IMPORT_PACKAGE: dict[str, frozenset[str]] = {
    "privacy": frozenset({"privacy"}),
    "protos": frozenset({"protos"}),
    "wire": frozenset({"wire", "protos", "privacy"}),
    "i18n": frozenset({"i18n"}),
    "node": frozenset({"node", "privacy", "protos", "wire", "i18n"}),
    "aggregator": frozenset({"aggregator", "privacy", "protos", "wire", "i18n"}),
    "cli": frozenset(PACKAGES),
}
# privacy/ is reviewed on its own: no transport, no database, no other koepel package.
PRIVACY_FORBIDDEN = ("grpc", "sqlcipher3", "cryptography")


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "_pb2" in path.name:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str, path: Path) -> Iterator[str]:
    """Every module ``module`` imports at run time (type-only imports left out)."""
    tree = ast.parse(path.read_text(), str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            for alias in node.names:  # `from node.store import database` names a module
                yield f"{node.module}.{alias.name}"


def _room(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "node" or len(parts) == 1:
        return None
    return parts[1] if parts[1] in ROOMS else HALL


def _graph() -> dict[str, set[str]]:
    known = dict(_modules())
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        graph[module] = {name for name in _imports(module, path) if name in known}
    return graph


def test_node_rooms_import_only_the_rooms_below_them() -> None:
    broken = []
    for module, imported in _graph().items():
        room = _room(module)
        if room is None:
            continue
        for target in imported:
            target_room = _room(target)
            if target_room is not None and target_room not in MAY_IMPORT[room]:
                broken.append(f"{module} ({room}) imports {target} ({target_room})")
    assert not broken, "\n".join(sorted(broken))


def test_packages_keep_their_layers() -> None:
    broken = []
    for module, path in _modules():
        package = module.split(".")[0]
        for name in _imports(module, path):
            top = name.split(".")[0]
            if top in PACKAGES and top not in MAY_IMPORT_PACKAGE[package]:
                broken.append(f"{module} imports {name}")
            if package == "privacy" and top in PRIVACY_FORBIDDEN:
                broken.append(f"{module} imports {name}")
    assert not broken, "\n".join(sorted(broken))


def test_no_import_circles() -> None:
    """No two modules import each other, directly or round a longer circle (Tarjan's SCCs)."""
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:  # recursion depth is bounded by the module count (~200)
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph[module]:
            if target == module or _is_package_face(module, target):
                continue
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert not circles, "import circles: " + "; ".join(" ↔ ".join(c) for c in circles)


def _is_package_face(module: str, target: str) -> bool:
    """A package's ``__init__`` re-exporting its own modules is not a circle of design."""
    return module.startswith(target + ".")


def test_node_modules_stay_small() -> None:
    """Over ~400 lines a module must say in its docstring why it is one piece."""
    long = []
    for module, path in _modules():
        if not module.startswith("node"):
            continue
        lines = len(path.read_text().splitlines())
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if lines > 450 and "one piece" not in doc:
            long.append(f"{module}: {lines} lines")
    assert not long, "\n".join(long)
