"""Lazy iterators: ``enumerate``, ``zip`` and ``reversed`` with CPython's semantics, metered.

Each wraps the iterator CPython itself builds (eagerly, so ``enumerate(5)`` fails at the call as
in CPython), so a loop that changes the list it walks sees the change exactly as under CPython
and a dict changed during iteration raises RuntimeError. Each step is charged *before* the
underlying iterator advances (the code after ``yield`` runs when the consumer asks for the next
item), so ``enumerate(range(10**12))`` costs gas as it goes and never allocates ahead. They are
generators whose code objects carry the builtin's name, which is how ``values.type_name`` names
them in error messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import FunctionType
from typing import Any

from contracts.vm.errors import CallDepthExceeded, OutOfGas
from contracts.vm.gas import MAX_CALL_DEPTH, Meter


def _out_of_gas(meter: Meter) -> None:
    raise OutOfGas(f"out of gas (limit {meter.limit})")


def _too_deep() -> None:
    raise CallDepthExceeded(f"maximum recursion depth exceeded ({MAX_CALL_DEPTH} contract frames)")


def _metered_steps(meter: Meter, native: Iterator[Any], cost: int) -> Iterator[Any]:
    """Charge, then advance. While it advances, the iterator counts as a frame of the VM's
    call depth: iterators wrapping iterators nest host frames, and an unbounded chain would hit
    the host's recursion limit at a depth that depends on the host's own stack."""
    meter.g -= cost
    if meter.g < 0:
        _out_of_gas(meter)
    meter.d += 1
    if meter.d > MAX_CALL_DEPTH:
        _too_deep()
    for item in native:
        meter.d -= 1
        yield item
        meter.g -= cost
        if meter.g < 0:
            _out_of_gas(meter)
        meter.d += 1
        if meter.d > MAX_CALL_DEPTH:
            _too_deep()
    meter.d -= 1


def _named(name: str) -> Any:
    code = _metered_steps.__code__.replace(co_name=name, co_qualname=name)
    return FunctionType(code, _metered_steps.__globals__, name)


LAZY_NAMES = ("enumerate", "zip", "reversed")
lazy_enumerate = _named("enumerate")
lazy_zip = _named("zip")
lazy_reversed = _named("reversed")
