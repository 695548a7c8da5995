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
