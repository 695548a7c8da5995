"""Imports point one way: between packages by the table below, and no cycle between modules.

The imports are read from the source (ast), every one of them: module level, inside functions
and under ``TYPE_CHECKING`` alike, since each is a dependency a reader must follow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What each package may import besides itself. Nothing may import cli/: it is the outermost layer.
ALLOWED: dict[str, frozenset[str]] = {
    "chain": frozenset(),
    "consensus": frozenset({"chain"}),
    "storage": frozenset({"chain"}),
    "contracts": frozenset({"chain"}),
    "rpc": frozenset({"chain"}),
    "aid": frozenset({"chain", "contracts"}),  # the ledger calls program rules in the VM
    "node": frozenset({"chain", "consensus", "storage", "contracts", "rpc", "aid"}),
    "cli": frozenset({"chain", "consensus", "storage", "contracts", "rpc", "node", "aid"}),
}
PACKAGES = tuple(ALLOWED)

# Module imports that still close a cycle, each with the part of issue 8 that removes it. Delete
# an entry when its import goes; the test fails on an entry whose import no longer exists.
KNOWN_CYCLE_EDGES: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def imported(path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """Every module of ours that ``path`` imports (``from pkg import mod`` names ``pkg.mod``)."""
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in ALLOWED:
                yield target


def import_graph() -> dict[str, set[str]]:
    modules = our_modules()
    return {name: set(imported(path, modules)) - {name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path of nodes (first == last), or None when the graph is acyclic."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_every_package_is_scanned() -> None:
    modules = our_modules()
    for package in PACKAGES:
        assert package in modules, f"{package}/__init__.py is missing"
    assert "cli.main" in modules and "node.daemon" in modules


def test_packages_import_only_what_the_table_allows() -> None:
    wrong = sorted(
        f"{src} imports {dst}"
        for src, targets in import_graph().items()
        for dst in targets
        if (a := src.split(".")[0]) != (b := dst.split(".")[0]) and b not in ALLOWED[a]
    )
    assert not wrong, "imports against the layer table:\n" + "\n".join(wrong)


def test_no_cycle_between_packages() -> None:
    packages: dict[str, set[str]] = {p: set() for p in PACKAGES}
    for src, targets in import_graph().items():
        packages[src.split(".")[0]] |= {t.split(".")[0] for t in targets}
    for name, targets in packages.items():
        targets.discard(name)
    assert find_cycle(packages) is None


def test_no_cycle_between_modules_beyond_the_known_ones() -> None:
    graph = import_graph()
    for (src, dst), part in KNOWN_CYCLE_EDGES.items():
        assert dst in graph[src], f"{src} no longer imports {dst} ({part}): delete the entry"
        graph[src].discard(dst)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
