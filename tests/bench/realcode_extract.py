"""Build the real-code benchmark corpus from a checkout of TheAlgorithms/Python (MIT licence).

    python tests/bench/realcode_extract.py PATH/TO/TheAlgorithms-Python

Programs nobody here wrote: for every top-level function with a doctest call of literal
arguments (``>>> f(3, [1, 2])``), the function and the top-level functions and constants it
reaches become a program whose ``main()`` repeats that call REPEATS times. Kept are the programs
the contract checker accepts and whose VM result equals CPython's; written to
``realcode_corpus.json`` beside this file with the licence notice in ``realcode_LICENSE.md``.
The workload class of a program is the directory it came from (sorts, strings, ciphers...).
"""

from __future__ import annotations

import ast
import json
import sys
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from contracts.runtime import run_local
from contracts.vm.checker import check_source

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "realcode_corpus.json"
LICENSE = HERE / "realcode_LICENSE.md"
REPEATS = 100
GAS = 10_000_000
MAX_SECONDS_PER_CALL = 0.0005  # drop programs whose one call takes longer in CPython


def doctest_calls(fn: ast.FunctionDef) -> list[str]:
    """Doctest lines calling ``fn`` with literal arguments only."""
    doc = ast.get_docstring(fn) or ""
    calls = []
    for line in doc.splitlines():
        line = line.strip()
        if not line.startswith(">>> "):
            continue
        text = line[4:]
        try:
            node = ast.parse(text, mode="eval").body
        except SyntaxError:
            continue
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id != fn.name or node.keywords:
            continue
        try:
            for arg in node.args:
                ast.literal_eval(arg)
        except (ValueError, SyntaxError, TypeError, RecursionError):
            continue
        calls.append(text)
    return calls


def reachable(name: str, defs: dict[str, ast.stmt]) -> list[str]:
    """Top-level names (functions, constants) ``name`` refers to, transitively, in file order."""
    seen = {name}
    stack = [name]
    while stack:
        for node in ast.walk(defs[stack.pop()]):
            if isinstance(node, ast.Name) and node.id in defs and node.id not in seen:
                seen.add(node.id)
                stack.append(node.id)
    return [n for n in defs if n in seen]


def programs_of(path: Path, root: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return []
    defs: dict[str, ast.stmt] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef):
            defs[stmt.name] = stmt
        elif (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            defs[stmt.targets[0].id] = stmt
    out = []
    for name, fn in defs.items():
        if not isinstance(fn, ast.FunctionDef) or name == "main":
            continue
        calls = doctest_calls(fn)
        if not calls:
            continue
        body = "\n\n".join(
            ast.get_source_segment(text, defs[n]) or "" for n in reachable(name, defs)
        )
        call = calls[0]
        source = program_source(body, call, REPEATS)
        rel = path.relative_to(root)
        out.append(
            {
                "id": f"{rel.with_suffix('').as_posix()}::{name}",
                "class": rel.parts[0] if len(rel.parts) > 1 else "other",
                "call": call,
                "source": source,
            }
        )
    return out


def program_source(body: str, call: str, repeats: int) -> str:
    return (
        f"{body}\n\n\ndef main():\n    result = None\n"
        f"    for _ in range({repeats}):\n        result = {call}\n    return str(result)\n"
    )


def cpython_result(source: str) -> tuple[bool, Any]:
    namespace: dict[str, Any] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(source, "<realcode>", "exec"), namespace)
            return True, namespace["main"]()
    except Exception as exc:  # a program that fails in CPython is not a benchmark
        return False, type(exc).__name__


def main() -> None:
    import time

    root = Path(sys.argv[1])
    kept = []
    candidates = 0
    for path in sorted(root.rglob("*.py")):
        if "test" in path.name or path.name.startswith("_"):
            continue
        for program in programs_of(path, root):
            candidates += 1
            module, _ = check_source(program["source"])
            if module is None:
                continue
            once = program["source"].replace(f"range({REPEATS})", "range(1)")
            start = time.perf_counter()
            ok, expected = cpython_result(once)
            if not ok or time.perf_counter() - start > MAX_SECONDS_PER_CALL:
                continue
            ok, expected = cpython_result(program["source"])
            if not ok:
                continue
            result, _ = run_local(program["source"], "main", {}, gas=GAS)
            if result.ok and result.result == expected:
                kept.append(program)
    CORPUS.write_text(json.dumps(kept, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    notice = (
        "The programs in realcode_corpus.json are extracted from TheAlgorithms/Python\n"
        "(https://github.com/TheAlgorithms/Python), distributed under this licence:\n\n"
    )
    license_text = (root / "LICENSE.md").read_text(encoding="utf-8")
    LICENSE.write_text(notice + license_text, encoding="utf-8")
    print(f"{candidates} candidate programs, {len(kept)} kept in {CORPUS.name}")


if __name__ == "__main__":
    main()
