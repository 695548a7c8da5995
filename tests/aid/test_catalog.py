"""The action catalog (aid/catalog.py) against the handlers: every argument a handler reads is
listed, and nothing else is.

The catalog is what a clerk reads in ``aidchain aid <action> --help``; a missing or stale
argument there sends the clerk to trial and error against ``aid_check``. The argument names are
read from the handlers' source: every call of an ``Args`` reader (``a.text("cycle")``,
``act.args.list_of("households")``, ``a.decision()``) in the handler and in the functions it
passes its arguments or its action to, with names bound through parameters and constant loops.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from aid import args as args_module
from aid.catalog import CATALOG
from aid.ledger import ACTIONS
from node.aidclient import CREATES

# reader method -> the names it reads when called without one
READERS: dict[str, tuple[str, ...]] = {
    "text": (),
    "choice": (),
    "integer": (),
    "amount": ("amount",),
    "account": (),
    "hex64": (),
    "area": (),
    "flag": (),
    "has": (),
    "list_of": (),
    "mapping": (),
    "decision": ("decision", "reason"),
}
DEPTH = 4  # helper calls followed below a handler
# names the scan finds under a condition the action never meets: monitoring._close reads
# keep_monitored only when it resolves (tests/aid/test_monitoring.py refuses it on a dismiss)
NOT_READ_BY = {"alert.dismiss": {"keep_monitored"}}


def _is_args(node: ast.AST, names: set[str]) -> bool:
    """``a`` (a name bound to the arguments) or ``<anything>.args``."""
    if isinstance(node, ast.Name):
        return node.id in names
    return isinstance(node, ast.Attribute) and node.attr == "args"


def _strings(node: ast.AST, env: dict[str, set[str]], module: ModuleType) -> set[str]:
    """The string values an expression can have: a literal, a bound name, a module constant."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        value = getattr(module, node.id, None)
        if isinstance(value, str):
            return {value}
    return set()


def _loop_values(node: ast.AST, env: dict[str, set[str]], module: ModuleType) -> set[str]:
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return set().union(*(_strings(e, env, module) for e in node.elts))
    if isinstance(node, ast.Name):
        value = getattr(module, node.id, None)
        if isinstance(value, (tuple, list, frozenset, set)):
            return {v for v in value if isinstance(v, str)}
    return set()


def _function_def(fn: Callable[..., Any]) -> ast.FunctionDef:
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def names_read(fn: Callable[..., Any], env: dict[str, set[str]], depth: int = 0) -> set[str]:
    """Argument names ``fn`` reads, with ``env`` binding its parameters to string values."""
    module = inspect.getmodule(fn)
    assert module is not None
    node = _function_def(fn)
    params = [a.arg for a in node.args.args]
    arg_vars = {"a", "args"} | {p for p in params if env.get(p) == {"<args>"}}
    found: set[str] = set()
    for loop in (n for n in ast.walk(node) if isinstance(n, ast.For)):
        if isinstance(loop.target, ast.Name):
            env = {**env, loop.target.id: _loop_values(loop.iter, env, module)}
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in READERS:
            if _is_args(func.value, arg_vars):
                if call.args:
                    found |= _strings(call.args[0], env, module)
                else:
                    found |= set(READERS[func.attr])
                continue
        if depth < DEPTH:
            found |= _follow(call, env, module, arg_vars, depth)
    return found


def _follow(
    call: ast.Call, env: dict[str, set[str]], module: ModuleType, arg_vars: set[str], depth: int
) -> set[str]:
    """Names read by an aid function this call passes the arguments or the action to."""
    passes = [
        _is_args(a, arg_vars) or (isinstance(a, ast.Name) and a.id == "act") for a in call.args
    ]
    if not any(passes) or not isinstance(call.func, ast.Name):
        return set()
    callee = getattr(module, call.func.id, None)
    if not inspect.isfunction(callee) or not callee.__module__.startswith("aid."):
        return set()
    params = [a.arg for a in _function_def(callee).args.args]
    bound: dict[str, set[str]] = {}
    for param, value, is_args in zip(params, call.args, passes, strict=False):
        if is_args and _is_args(value, arg_vars):
            bound[param] = {"<args>"}
        else:
            strings = _strings(value, env, module)
            if strings:
                bound[param] = strings
    for kw in call.keywords:
        if kw.arg is not None and _strings(kw.value, env, module):
            bound[kw.arg] = _strings(kw.value, env, module)
    return names_read(callee, bound, depth + 1)


def catalog_names(action: str) -> set[str]:
    return {arg.name for arg in CATALOG[action].args}


def test_the_catalog_has_every_action_in_the_ledgers_order() -> None:
    assert list(CATALOG) == list(ACTIONS)


@pytest.mark.parametrize("action", list(ACTIONS))
def test_the_catalog_lists_exactly_the_arguments_the_handler_reads(action: str) -> None:
    read = names_read(ACTIONS[action], {})
    assert read, f"no argument found in {action}'s handler: the reader calls changed shape"
    assert NOT_READ_BY.get(action, set()) <= read  # an exception that no longer applies goes
    assert catalog_names(action) == read - NOT_READ_BY.get(action, set())


@pytest.mark.parametrize("action", list(ACTIONS))
def test_each_entry_reads_as_help(action: str) -> None:
    doc = CATALOG[action]
    assert doc.summary and doc.summary[0].islower() and not doc.summary.endswith(".")
    assert doc.who and doc.effect
    assert doc.reference in ("docs/ledger.md", "docs/oversight.md")
    names = [arg.name for arg in doc.args]
    assert len(names) == len(set(names)) and all(arg.what for arg in doc.args)


def test_the_scan_follows_helpers_and_bound_names() -> None:
    """The scanner itself: a helper reached through ``act``, a name passed as a parameter and a
    loop over a constant tuple are all seen (so a handler written that way is not missed)."""
    registry_apply = ACTIONS["household.apply"]
    assert {"members", "sealed", "size", "cause"} <= names_read(registry_apply, {})
    assert "households" in names_read(ACTIONS["cycle.add"], {})
    assert {"decision", "reason"} <= names_read(ACTIONS["cycle.approve"], {})


def _readers_defined() -> Iterator[str]:
    for name, _ in inspect.getmembers(args_module.Args, inspect.isfunction):
        if not name.startswith("_") and name != "done":
            yield name


def test_every_public_reader_of_args_is_known_to_the_scan() -> None:
    assert set(_readers_defined()) == set(READERS)


def _created_kinds(fn: Callable[..., Any]) -> list[str]:
    """The kinds ``fn`` mints ids for (``act.ctx.new_id("kind")``), in source order."""
    calls = [n for n in ast.walk(_function_def(fn)) if isinstance(n, ast.Call)]
    return [
        call.args[0].value
        for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset))
        if isinstance(call.func, ast.Attribute)
        and call.func.attr == "new_id"
        and call.args
        and isinstance(call.args[0], ast.Constant)
    ]


def test_the_client_predicts_the_id_of_everything_an_action_creates() -> None:
    """node/aidclient.CREATES tells the CLI which id to print; an action that mints an id in
    its handler and is missing there leaves the clerk without the id of what was created."""
    made = {action: kinds for action, fn in ACTIONS.items() if (kinds := _created_kinds(fn))}
    assert {action: kinds[0] for action, kinds in made.items()} == CREATES
