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

from contracts.vm.errors import OutOfGas
from contracts.vm.gas import Meter


def _out_of_gas(meter: Meter) -> None:
    raise OutOfGas(f"out of gas (limit {meter.limit})")


def _metered_steps(meter: Meter, native: Iterator[Any], cost: int) -> Iterator[Any]:
    meter.g -= cost
    if meter.g < 0:
        _out_of_gas(meter)
    for item in native:
        yield item
        meter.g -= cost
        if meter.g < 0:
            _out_of_gas(meter)


def _named(name: str) -> Any:
    code = _metered_steps.__code__.replace(co_name=name, co_qualname=name)
    return FunctionType(code, _metered_steps.__globals__, name)


LAZY_NAMES = ("enumerate", "zip", "reversed")
lazy_enumerate = _named("enumerate")
lazy_zip = _named("zip")
lazy_reversed = _named("reversed")
