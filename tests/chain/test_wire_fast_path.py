"""The msgspec read of a wire transaction gives exactly what the strict parser gives.

``chain.wire.tx_from_wire`` first tries msgspec and keeps its result only when the text is
provably the canonical encoding of what it read; otherwise the strict path decides. Both must
agree on every string: the same transaction (body bytes and hash too) or the same error, word
for word. ``strict_tx_from_wire`` is the strict path alone, as it was before the fast path.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain import limits
from chain.encoding import MAX_INT_DIGITS, canonical
from chain.errors import AidchainError, MalformedTx
from chain.wire import _canonical_obj, strict_tx_from_wire, tx_from_wire

SIGNATURE = "ab" * 64


def outcome(fn: Any, value: str) -> tuple[str, Any]:
    try:
        tx = fn(value)
    except AidchainError as exc:
        return ("error", (type(exc).__name__, exc.message))
    return ("tx", (tx, tx.body_bytes, tx.hash, tx.size, tx.intrinsic_gas, tx.block_gas))


def wire_of(args: Any, nonce: int = 1) -> str:
    obj = {
        "chain_id": "c",
        "sender": "ee" * 32,
        "nonce": nonce,
        "type": "aid",
        "payload": {"action": "cycle.add", "args": args, "gas": 100},
        "signature": SIGNATURE,
    }
    return canonical(obj).decode("utf-8")


def same(value: str) -> None:
    assert outcome(tx_from_wire, value) == outcome(strict_tx_from_wire, value)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**300), max_value=2**300)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
NOISE = st.sampled_from(list(' "\\,:{}[]0123456789.eE-+untrlfasu\u00fc\ud800'))


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(args=st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_canonical_transactions_are_read_by_the_fast_path_and_equal_the_strict_read(
    args: dict[str, Any],
) -> None:
    value = wire_of(args)
    same(value)
    if "\ud800" not in json.dumps(args, ensure_ascii=False):
        assert _canonical_obj(value) is not None  # the fast path did the work


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(
    args=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    edits=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=3), NOISE),
        min_size=1,
        max_size=3,
    ),
)
def test_any_edited_string_gets_the_strict_paths_answer(
    args: dict[str, Any], edits: list[tuple[int, int, str]]
) -> None:
    value = wire_of(args)
    for at, cut, char in edits:
        at %= len(value) + 1
        value = value[:at] + char + value[at + cut :]
    same(value)


@pytest.mark.parametrize(
    "value",
    [
        wire_of({"a": 1}).replace('"a":1', '"a":1,"a":1'),  # duplicate key, still sorted
        wire_of({"a": 1}).replace('"a":1', '"a":1.0'),  # a float
        wire_of({"a": 1}).replace('"a":1', '"a":1e3'),
        wire_of({"a": 1}).replace('"a":1', '"a":-0'),
        wire_of({"a": 1}).replace('"a":1', '"a":NaN'),
        wire_of({"a": 1}).replace('"a":1', '"a": 1'),  # whitespace
        wire_of({"a": "\u00fc"}).replace("\u00fc", "\\u00fc"),  # an escape canonical writes raw
        wire_of({"a": "x"}).replace('"x"', '"\\ud800"'),  # a lone surrogate
        wire_of({"a": "x"}).replace('"x"', '"\\ud83d\\ude00"'),  # a pair, written escaped
        wire_of({"a": 1, "b": 2}).replace('"a":1,"b":2', '"b":2,"a":1'),  # key order
    ],
)
def test_what_is_not_canonical_is_refused_in_the_strict_paths_words(value: str) -> None:
    assert _canonical_obj(value) is None
    same(value)
    with pytest.raises(MalformedTx):
        tx_from_wire(value)


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [limits.MAX_JSON_DEPTH - 3, limits.MAX_JSON_DEPTH - 2])
def test_nesting_at_the_depth_limit_gets_the_same_answer(depth: int) -> None:
    # the transaction's root, payload and args hold the value 3 levels down: 61 lists more
    # is the deepest a transaction may be (read by the fast path), 62 is one too deep
    value = wire_of({"deep": 0}).replace('"deep":0', f'"deep":{json.dumps(nested(depth))}')
    same(value)
    if depth == limits.MAX_JSON_DEPTH - 3:
        assert _canonical_obj(value) is not None
        assert tx_from_wire(value).payload["args"]["deep"] == nested(depth)
    else:
        with pytest.raises(MalformedTx, match="nested deeper"):
            tx_from_wire(value)


def test_nesting_past_the_depth_limit_is_refused_by_the_strict_path() -> None:
    inner = json.dumps(nested(limits.MAX_JSON_DEPTH), separators=(",", ":"))
    value = wire_of({"deep": 0}).replace('"deep":0', f'"deep":{inner}')
    assert _canonical_obj(value) is None
    same(value)
    with pytest.raises(MalformedTx, match="nested deeper"):
        tx_from_wire(value)


@pytest.mark.parametrize("interpreter_limit", [sys.get_int_max_str_digits(), 0])
@pytest.mark.parametrize("digits", [MAX_INT_DIGITS, MAX_INT_DIGITS + 1])
def test_integer_literals_at_the_digit_limit_get_the_same_answer(
    digits: int, interpreter_limit: int
) -> None:
    """The limit is the chain's own, whatever the interpreter's (0: none) is set to."""
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(interpreter_limit)
    try:
        check_digits(digits)
    finally:
        sys.set_int_max_str_digits(before)


def check_digits(digits: int) -> None:
    value = wire_of({"n": 0}).replace('"n":0', f'"n":{"9" * digits}')
    same(value)
    if digits > MAX_INT_DIGITS:
        assert _canonical_obj(value) is None
        with pytest.raises(MalformedTx, match="longer than"):
            tx_from_wire(value)
    else:
        assert tx_from_wire(value).payload["args"]["n"] == int("9" * digits)
