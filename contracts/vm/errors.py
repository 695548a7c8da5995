"""Typed VM errors; ``error_type`` is what a receipt reports (stable, part of the public API).

Errors raised by contract code itself use the CPython class (``TypeError``, ``KeyError``...) so a
program behaves as it would under CPython; these are the VM's own failures.
"""

from __future__ import annotations

from dataclasses import dataclass

from chain.errors import ContractError


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a contract source was refused, with its 1-based line and 0-based column."""

    line: int
    col: int
    message: str
    hint: str = ""  # what to write instead, for the common refusals

    def __str__(self) -> str:
        return f"{self.line}:{self.col}: {self.message}"


class VMError(ContractError):
    """Base of the VM's own errors."""

    error_type = "VMError"


class ValidationError(VMError):
    """The source is not in the contract subset (refused before anything runs)."""

    error_type = "ValidationError"
    reason = "contract_invalid"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        first = "; ".join(str(p) for p in self.problems[:3])
        more = f" (+{len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
        super().__init__(f"contract refused: {first}{more}")


class OutOfGas(VMError):
    error_type = "OutOfGas"


class LimitExceeded(VMError):
    """A hard VM limit (call depth, value size or nesting, memory, result size) was hit."""

    error_type = "LimitExceeded"


class CallDepthExceeded(VMError):
    """More than MAX_CALL_DEPTH contract frames (calls, running generators): CPython would
    raise RecursionError, so the receipt says RecursionError."""

    error_type = "RecursionError"


class RequireFailed(VMError):
    error_type = "RequireFailed"


class InsufficientFunds(VMError):
    error_type = "InsufficientFunds"


class NoSuchContract(VMError):
    error_type = "NoSuchContract"


class NoSuchMethod(VMError):
    error_type = "NoSuchMethod"


class ContractExists(VMError):
    error_type = "ContractExists"


class Unsupported(VMError):
    """Valid CPython that the VM refuses at run time (e.g. a float result, format field access)."""

    error_type = "Unsupported"


class InvalidValue(VMError):
    """A value crossing the VM boundary (args, result, storage, event) is not plain JSON."""

    error_type = "InvalidValue"


# Builtin exception classes a contract may ``raise`` (only as ``raise Name`` or
# ``raise Name(message)``); no exception object is ever reachable from contract code.
RAISABLE = frozenset(
    "Exception ValueError TypeError KeyError IndexError LookupError ArithmeticError "
    "ZeroDivisionError OverflowError RuntimeError NotImplementedError AssertionError "
    "RecursionError".split()
)


class ContractRaised(VMError):
    """``raise ValueError("...")`` in contract code: the receipt carries the class and message."""

    def __init__(self, class_name: str, message: str) -> None:
        super().__init__(message)
        self.error_type = class_name


def worded(cls: type[Exception], message: str) -> Exception:
    """A CPython exception class carrying a message in the VM's own words.

    Receipts must read the same on every node and every Python version, so messages CPython
    composes itself are replaced by fixed texts; the ones the VM composes from plain data (type
    names, sizes, keys) are marked here and reported as they are.
    """
    exc = cls(message)
    exc.vm_worded = True  # type: ignore[attr-defined]
    return exc
