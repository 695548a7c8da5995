"""Programs: a checked, compiled contract and fresh per-call instances of it.

A ``Program`` is immutable and cached by source hash; every contract invocation gets a brand new
globals dict holding only the compiled functions, the metered helpers and the host bindings
(``__builtins__`` is empty), so nothing leaks between calls or transactions.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from types import CodeType
from typing import Any

from contracts.vm.checker import CheckedModule, validate
from contracts.vm.compiler import LOCATION_MARK, compile_module
from contracts.vm.errors import Problem, ValidationError

log = logging.getLogger(__name__)

PROGRAM_CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class Location:
    """Where in the contract source a generated line came from."""

    function: str  # the contract function ("" for module constants)
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class Program:
    source_hash: str
    code: CodeType
    python: str  # the generated source (for debugging and tests)
    functions: tuple[str, ...]  # public entry points (names not starting with '_')
    locations: tuple[Location | None, ...] = ()  # by generated line number - 1

    @property
    def filename(self) -> str:
        """The code's file name: tells this program's frames apart in a traceback."""
        return filename_of(self.source_hash)

    def location(self, lineno: int) -> Location | None:
        return self.locations[lineno - 1] if 0 < lineno <= len(self.locations) else None

    def instantiate(self, bindings: dict[str, Any]) -> dict[str, Any]:
        """A fresh namespace with this program's functions bound to ``bindings``."""
        namespace: dict[str, Any] = {"__builtins__": {}}
        namespace.update(bindings)
        exec(self.code, namespace)
        return namespace


def filename_of(source_hash: str) -> str:
    return f"<contract {source_hash}>"


def line_locations(python: str) -> tuple[Location | None, ...]:
    """Each generated line's contract location, from the compiler's end-of-line marks."""
    out: list[Location | None] = []
    function = ""
    for line in python.splitlines():
        if line.startswith("def "):
            name = line[4 : line.index("(")]
            function = name[len("_fn_") :] if name.startswith("_fn_") else name
        elif line and not line.startswith(" "):
            function = ""
        _, mark, where = line.rpartition(LOCATION_MARK)
        if not mark:
            out.append(None)
            continue
        row, col = where.split(":")
        out.append(Location(function, int(row), int(col)))
    return tuple(out)


def build(module: CheckedModule, source_hash: str) -> Program:
    python = compile_module(module)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for `1 is not None`
            code = compile(python, filename_of(source_hash), "exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError) as exc:  # a compiler bug
        log.error("generated code does not compile: %s", exc)
        raise ValidationError([Problem(1, 0, "contract too complex to compile")]) from None
    return Program(source_hash, code, python, tuple(module.public), line_locations(python))


_cache: OrderedDict[str, Program] = OrderedDict()
_lock = threading.Lock()


def load(source: str) -> Program:
    """Check and compile ``source`` (cached); raises ValidationError."""
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    with _lock:
        program = _cache.get(digest)
        if program is not None:
            _cache.move_to_end(digest)
            return program
    program = build(validate(source), digest)
    with _lock:
        _cache[digest] = program
        while len(_cache) > PROGRAM_CACHE_SIZE:
            _cache.popitem(last=False)
    return program
