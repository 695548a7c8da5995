"""What a failed contract call reports: the error class, a message in the VM's own words, and
where in the contract source it happened.

Receipts must be byte-identical on every node whatever its CPython version, and CPython rewords
its own messages between versions. So a message is reported as it is only when the VM composed
it (``errors.worded``) or when it is one of CPython's texts built from type names alone, which
are stable; argument errors are reworded from their parts; a missing key is named by a bounded
rendering of the key; anything else gets a fixed text for its class. The location comes from
the traceback: each generated line maps back to the contract line and column it was compiled
from (``machine.Program.locations``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from contracts.vm.errors import ValidationError, VMError
from contracts.vm.gas import MAX_ERROR_MESSAGE_CHARS
from contracts.vm.machine import Program
from contracts.vm.values import short_text

log = logging.getLogger(__name__)

MAX_TRACE_FRAMES = 16  # innermost frames kept in a receipt's trace

# CPython exceptions a contract can raise; reported under their own class name.
PYTHON_ERRORS = (
    TypeError,
    ValueError,
    KeyError,
    IndexError,
    ZeroDivisionError,
    AttributeError,
    AssertionError,
    NameError,
    OverflowError,
    RuntimeError,
)
PYTHON_ERROR_MESSAGES = {
    "TypeError": "operation applied to a value of the wrong type",
    "ValueError": "invalid value",
    "KeyError": "key not found",
    "IndexError": "index out of range",
    "ZeroDivisionError": "division or modulo by zero",
    "AttributeError": "no such attribute",
    "NameError": "name is not defined",
    "OverflowError": "number out of range",
    "RuntimeError": "runtime error",
}
_TYPE = r"'[a-z_]+'"
# CPython texts made of fixed words and type names only: the same on 3.11 and 3.12.
STABLE_MESSAGES = tuple(
    re.compile(pattern)
    for pattern in (
        r"(list|tuple|string|range object) index out of range",
        r"pop from empty list|pop index out of range",
        r"(dictionary|Set) changed size during iteration|dictionary keys changed during iteration",
        r"generator already executing",
        rf"unhashable type: {_TYPE}",
        rf"{_TYPE} object is not (subscriptable|iterable|reversible|callable)",
        rf"{_TYPE} object does not support item (assignment|deletion)",
        rf"{_TYPE} object cannot be interpreted as an integer",
        rf"object of type {_TYPE} has no len\(\)",
        rf"'(<|<=|>|>=)' not supported between instances of {_TYPE} and {_TYPE}",
        rf"unsupported operand type\(s\) for [^:]{{1,12}}: {_TYPE} and {_TYPE}",
        rf"bad operand type for unary [-+~]: {_TYPE}",
        r'can only concatenate (str|list|tuple) \(not "[a-z_]+"\) to (str|list|tuple)',
        rf"can't multiply sequence by non-int of type {_TYPE}",
    )
)
_CALLABLE = r"(?:[\w<>]+\.)*(?P<fn>\w+)\(\)"
ARGUMENT_ERRORS = (
    (
        re.compile(
            _CALLABLE + r" missing \d+ required (?:positional|keyword-only) "
            r"arguments?: (?P<names>'\w+'(?:(?:, | and |, and )'\w+')*)"
        ),
        "{fn}() missing required argument(s): {names}",
    ),
    (
        re.compile(_CALLABLE + r" got an unexpected keyword argument (?P<name>'\w+')"),
        "{fn}() got an unexpected keyword argument {name}",
    ),
    (
        re.compile(_CALLABLE + r" got multiple values for argument (?P<name>'\w+')"),
        "{fn}() got multiple values for argument {name}",
    ),
    (
        re.compile(
            _CALLABLE + r" takes (?:from \d+ to )?(?P<most>\d+) positional arguments? "
            r"but (?P<given>\d+)"
        ),
        "{fn}() takes at most {most} positional argument(s) but {given} were given",
    ),
)


UNBOUND_LOCAL = re.compile(r"local variable ('\w+')")


# CPython's parser words (and places) syntax errors differently in each version, so a receipt
# only says there was one; `aidchain contract check` shows the parser's own details.
SYNTAX_ERROR_MESSAGE = "contract refused: syntax error (run `aidchain contract check` for details)"


def _is_syntax_error(exc: ValidationError) -> bool:
    return any(p.message.startswith("syntax error") for p in exc.problems)


def _function_name(name: str) -> str:
    """The name a contract author knows: private functions and builtin helpers unmangled."""
    if name.startswith("_fn_"):
        return name[len("_fn_") :]
    for prefix in ("b_", "s_", "l_", "d_"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _python_message(exc: BaseException, kind: str) -> str:
    if getattr(exc, "vm_worded", False) and exc.args and isinstance(exc.args[0], str):
        return exc.args[0]
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        return f"key not found: {short_text(exc.args[0])}"
    text = str(exc.args[0]) if len(exc.args) == 1 and isinstance(exc.args[0], str) else ""
    if any(pattern.fullmatch(text) for pattern in STABLE_MESSAGES):
        return text
    if isinstance(exc, NameError):
        unbound = UNBOUND_LOCAL.search(text)
        if unbound:
            return f"local variable {unbound.group(1)} is used before it is assigned"
    if isinstance(exc, TypeError):
        for pattern, template in ARGUMENT_ERRORS:
            found = pattern.match(text)
            if found:
                parts = found.groupdict()
                parts["fn"] = _function_name(parts["fn"])
                return template.format(**parts)
    base = next(c.__name__ for c in type(exc).__mro__ if c.__name__ in PYTHON_ERROR_MESSAGES)
    return PYTHON_ERROR_MESSAGES[base]


def describe(exc: BaseException) -> dict[str, str]:
    """``{"type", "message"}`` of a failure, identical on every node and Python version."""
    if isinstance(exc, ValidationError) and _is_syntax_error(exc):
        kind, message = exc.error_type, SYNTAX_ERROR_MESSAGE
    elif isinstance(exc, VMError):
        kind, message = exc.error_type, exc.message
    elif isinstance(exc, (RecursionError, MemoryError)):
        # must not happen (the VM bounds depth and allocation first); never crash the node
        log.error("contract hit a host limit: %s", type(exc).__name__)
        kind, message = "LimitExceeded", f"host limit: {type(exc).__name__}"
    elif isinstance(exc, AssertionError):
        kind = "AssertionError"
        message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else "assertion failed"
    elif isinstance(exc, PYTHON_ERRORS):
        kind = type(exc).__name__
        message = _python_message(exc, kind)
    else:
        log.exception("unexpected error in contract execution", exc_info=exc)
        kind, message = "InternalError", f"internal error: {type(exc).__name__}"
    return {"type": kind, "message": message[:MAX_ERROR_MESSAGE_CHARS]}


def locate(exc: BaseException, programs: Mapping[str, Program]) -> dict[str, Any] | None:
    """Where the failure happened: the innermost contract frame, plus a short trace of the
    contract frames leading to it (outermost first). None when no contract code was running
    (e.g. bad arguments, a missing method)."""
    if isinstance(exc, ValidationError) and _is_syntax_error(exc):
        return None  # CPython's parser places syntax errors differently across versions
    if isinstance(exc, ValidationError) and exc.problems:
        first = exc.problems[0]
        return {"function": "", "line": first.line, "col": first.col, "trace": []}
    trace: list[dict[str, Any]] = []
    tb = exc.__traceback__
    while tb is not None:
        program = programs.get(tb.tb_frame.f_code.co_filename)
        where = program.location(tb.tb_lineno) if program is not None else None
        if where is not None:
            entry = {"function": where.function, "line": where.line, "col": where.col}
            if not trace or trace[-1] != entry:
                trace.append(entry)
        tb = tb.tb_next
    if not trace:
        return None
    return {**trace[-1], "trace": trace[-MAX_TRACE_FRAMES:]}
