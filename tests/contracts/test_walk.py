"""values.walk charges what the plain one-entry-per-node walk charges, at the same points.

The walk pushes a run of consecutive strings as one stack entry (and adds a container's last run
at once); that must not move any intermediate charge, or an out-of-gas would happen at another
point of a contract on nodes running a different version. ``reference_walk`` is the plain
algorithm: every string is its own stack entry.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.vm import gas
from contracts.vm.values import walk


class RecordingMeter:
    """Stands in for gas.Meter: records every charge."""

    def __init__(self) -> None:
        self.charges: list[int] = []

    def charge(self, amount: int) -> None:
        self.charges.append(amount)


def reference_walk(meter: RecordingMeter, value: Any) -> int:
    t = type(value)
    if t is int or t is bool or value is None:
        return 0
    if t is str:
        cost = len(value) // gas.SCAN_CHARS_PER_GAS
        meter.charge(cost)
        return cost
    total = charged = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if type(item) is str:
            total += len(item) // gas.SCAN_CHARS_PER_GAS
            continue
        children = [*item.keys(), *item.values()] if type(item) is dict else item
        total += gas.GAS_WALK_CONTAINER + gas.GAS_WALK_ITEM * len(children)
        if total - charged > 4096:
            meter.charge(total - charged)
            charged = total
        for child in children:
            if type(child) is int or type(child) is bool or child is None:
                continue
            stack.append((child, depth + 1))
    meter.charge(total - charged)
    return total


texts = st.text(alphabet="ab", max_size=80)
scalars = st.one_of(st.integers(), st.booleans(), st.none(), texts)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=40),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(texts, inner, max_size=8),
    ),
    max_leaves=400,
)


@settings(max_examples=300, deadline=None)
@given(values, st.integers(min_value=1, max_value=40))
def test_walk_charges_like_the_plain_walk(value: Any, copies: int) -> None:
    value = [value] * copies if type(value) is list else value  # shared structure, big totals
    expected, actual = RecordingMeter(), RecordingMeter()
    assert walk(actual, value) == reference_walk(expected, value)  # type: ignore[arg-type]
    assert actual.charges == expected.charges


def test_walk_charges_long_string_runs_at_the_same_points() -> None:
    row = ["x" * 5000, [1, ["y" * 9000]], "z" * 70000, {"k": "w" * 100000}, "v" * 3000]
    expected, actual = RecordingMeter(), RecordingMeter()
    assert walk(actual, [row] * 50) == reference_walk(expected, [row] * 50)  # type: ignore[arg-type]
    assert actual.charges == expected.charges and len(expected.charges) > 2
