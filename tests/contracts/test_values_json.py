"""The VM's JSON crossing: msgspec where it can, the standard library's text and values always.

A value's JSON text is what its storage, arguments and events are charged by, so the fast
path must give every value exactly what the standard library gives it: the same text, the same
copy (key order and scalar types included), the same refusal.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.vm import values
from contracts.vm.gas import Meter
from contracts.vm.sets import ContractSet
from tests.chain.test_encoding import wide_values

_STD_ENCODE = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode
_STD_DECODE = json.JSONDecoder().decode

# text a contract can hold but UTF-8 cannot: where msgspec refuses and the stdlib decides
surrogate_text = st.text(st.characters(codec=None), min_size=1).map(lambda s: s + "\ud800")
vm_values = st.recursive(
    wide_values | surrogate_text,
    lambda children: st.lists(children, max_size=4) | st.tuples(children, children),
    max_leaves=20,
)


def _typed(value: Any) -> Any:
    """``value`` with each scalar's type beside it and dict order kept: True != 1 here."""
    if isinstance(value, dict):
        return ["dict", [(k, _typed(v)) for k, v in value.items()]]
    if isinstance(value, list | tuple):
        return [type(value).__name__, [_typed(v) for v in value]]
    return [type(value).__name__, value]


def _outcome(fn: Any, arg: Any) -> tuple[str, Any]:
    try:
        return "ok", _typed(fn(arg))
    except Exception as exc:  # the same refusal: same type, same message
        return type(exc).__name__, str(exc)


@settings(max_examples=800)
@given(vm_values)
def test_encode_writes_the_standard_librarys_text(value: Any) -> None:
    assert _outcome(values.encode, value) == _outcome(_STD_ENCODE, value)


@settings(max_examples=800)
@given(vm_values)
def test_decode_reads_text_as_the_standard_library_does(value: Any) -> None:
    text = _STD_ENCODE(value)
    assert _outcome(values.decode, text) == _outcome(_STD_DECODE, text)


@pytest.mark.parametrize(
    "text",
    [
        '"\\ud800"',  # an escaped lone surrogate: msgspec refuses, the stdlib reads it
        '["\\udc00", 1]',
        "9" * sys.get_int_max_str_digits(),  # the interpreter's digit limit, in both
        "9" * (sys.get_int_max_str_digits() + 1),
        "NaN",
        '{"a":1,"a":2,"b":[true,false,null]}',  # repeated key: the last value, first place
        "-0",
        "[]",
        "",
        "[1,",
    ],
)
def test_decode_edges(text: str) -> None:
    assert _outcome(values.decode, text) == _outcome(_STD_DECODE, text)


@pytest.mark.parametrize(
    "value",
    [
        10 ** (sys.get_int_max_str_digits() - 1),  # 4300 digits: both write it
        10 ** sys.get_int_max_str_digits(),  # 4301: both refuse with the stdlib's error
        {"k": ["x\udfff"]},
        {"\U0001f600": 1, "\uffff": 2, "": 3},
    ],
    ids=["4300-digits", "4301-digits", "lone-surrogate-in-list", "key-order"],
)
def test_encode_edges(value: Any) -> None:
    assert _outcome(values.encode, value) == _outcome(_STD_ENCODE, value)


def test_from_json_copies_and_charges_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """Arguments reach the contract as sorted-key copies, charged by their text's length."""
    arg = {"b": [1, {"d": True, "c": None}], "a": "\u00e9\ud800"}
    fast = Meter(10**9)
    copy = values.from_json(fast, arg, "arguments")
    assert _typed(copy) == _typed(_STD_DECODE(_STD_ENCODE(arg)))
    assert copy is not arg and copy["b"] is not arg["b"]
    assert list(copy) == ["a", "b"]
    monkeypatch.setattr(values, "decode", _STD_DECODE)
    slow = Meter(10**9)
    values.from_json(slow, arg, "arguments")
    assert fast.used == slow.used


# what a contract value can hold besides plain JSON: keys that are not str, sets, tuples
odd_keys = st.integers() | st.booleans() | st.none() | st.text(max_size=3)
odd_values = st.recursive(
    vm_values,
    lambda children: (
        st.dictionaries(odd_keys, children, max_size=4)
        | st.dictionaries(st.text(max_size=3), children, max_size=4)
        | st.frozensets(st.integers() | st.text(max_size=3), max_size=3)
    ),
    max_leaves=20,
)


def _reference_from_json(meter: Meter, value: Any) -> Any:
    """``from_json`` as the standard library alone does it: the definition of its outcome."""
    values.walk(meter, value)
    try:
        text = _STD_ENCODE(value)
    except (TypeError, ValueError) as exc:
        raise values.InvalidValue(f"arguments is not JSON: {exc}") from None
    meter.alloc(len(text))
    return _STD_DECODE(text)


@settings(max_examples=600)
@given(odd_values)
def test_from_json_gives_the_standard_librarys_copy_gas_and_refusal(value: Any) -> None:
    """msgspec's copy is kept only when it provably is the standard library's: the same copy
    (types and key order), the same gas and the same error for every value a contract or a
    caller can hand over, including int keys, sets and tuples where the two encoders differ.
    (Wrapped in a list: a bare scalar is passed through uncharged, before either encoder.)"""
    fast, slow = Meter(10**9), Meter(10**9)
    got = _outcome(lambda v: values.from_json(fast, v, "arguments"), [value])
    want = _outcome(lambda v: _reference_from_json(slow, v), [value])
    assert got == want
    assert fast.used == slow.used


@pytest.mark.parametrize(
    "value",
    [
        {1: "a", "1": "b"},  # msgspec would write two "1" keys
        {True: 1},
        {"t": (1, 2)},  # a tuple: the same text, and the copy is a list either way
        {"s": frozenset({1})},
        {"big": 10 ** sys.get_int_max_str_digits()},
        {"k": "x\ud800"},
        {"v": {"a": 1}.keys()},
        {"r": range(3)},
        {"c": ContractSet({1: None})},
    ],
    ids=[
        "int-and-str-key",
        "bool-key",
        "tuple",
        "set",
        "4301-digits",
        "lone-surrogate",
        "dict-view",
        "range",
        "contract-set",
    ],
)
def test_from_json_edges(value: Any) -> None:
    fast, slow = Meter(10**9), Meter(10**9)
    got = _outcome(lambda v: values.from_json(fast, v, "arguments"), value)
    assert got == _outcome(lambda v: _reference_from_json(slow, v), value)
    assert fast.used == slow.used
