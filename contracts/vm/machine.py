"""Programs: a checked, compiled contract and the namespaces its calls run in.

A ``Program`` is immutable and cached by source hash. Its generated source is compiled in two
parts: ``functions_code`` defines the contract functions (their parameter defaults are immutable
literals, so the function objects hold no state) and ``setup_code`` charges the module's gas and
builds its constants afresh. A namespace (``instantiate``) holds only the compiled functions, the
metered helpers and the host bindings (``__builtins__`` is empty); the runtime may reuse one for
many calls because every call runs ``setup`` first (``prepare``), which rebinds every value a
call could have changed -- contract code cannot bind globals, only mutate the constants -- and
keeping the same dict keeps CPython's global-lookup caches warm from call to call.
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
    functions_code: CodeType
    setup_code: CodeType | None  # None: no module constants, nothing to charge per call
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
        """A new namespace with this program's functions bound to ``bindings``; ``prepare`` it
        before each call."""
        namespace: dict[str, Any] = {"__builtins__": {}}
        namespace.update(bindings)
        exec(self.functions_code, namespace)
        return namespace

    def prepare(self, namespace: dict[str, Any]) -> None:
        """Start a call: charge the module's gas and build its constants afresh."""
        if self.setup_code is not None:
            exec(self.setup_code, namespace)


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


def split_source(python: str) -> tuple[str, str]:
    """The module setup (gas, constants: the lines before the first ``def``) and the function
    definitions, each padded with blank lines so that line numbers stay those of ``python``."""
    lines = python.splitlines()
    first_def = next((i for i, line in enumerate(lines) if line.startswith("def ")), len(lines))
    setup = "\n".join(lines[:first_def]) + "\n"
    functions = "\n" * first_def + "\n".join(lines[first_def:]) + "\n"
    return setup, functions


def build(module: CheckedModule, source_hash: str) -> Program:
    python = compile_module(module)
    setup, functions = split_source(python)
    filename = filename_of(source_hash)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for `1 is not None`
            functions_code = compile(functions, filename, "exec")
            setup_code = compile(setup, filename, "exec") if setup.strip() else None
    except (SyntaxError, RecursionError, MemoryError, ValueError) as exc:  # a compiler bug
        log.error("generated code does not compile: %s", exc)
        raise ValidationError([Problem(1, 0, "contract too complex to compile")]) from None
    return Program(
        source_hash,
        functions_code,
        setup_code,
        python,
        tuple(module.public),
        line_locations(python),
    )


_cache: OrderedDict[str, Program] = OrderedDict()  # by source text: no hashing on a hit
_lock = threading.Lock()


def load(source: str) -> Program:
    """Check and compile ``source`` (cached); raises ValidationError."""
    with _lock:
        program = _cache.get(source)
        if program is not None:
            _cache.move_to_end(source)
            return program
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    program = build(validate(source), digest)
    with _lock:
        _cache[source] = program
        while len(_cache) > PROGRAM_CACHE_SIZE:
            _cache.popitem(last=False)
    return program
