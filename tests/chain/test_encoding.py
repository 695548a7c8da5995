from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain.encoding import canonical, loads_strict, sha256_hex
from chain.errors import EncodingError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=20,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [1, 2, {"d": None, "c": True}]}, b'{"a":[1,2,{"c":true,"d":null}],"b":1}'),
        ({"memo": "扶贫"}, '{"memo":"扶贫"}'.encode()),
        ("\u2028", '"\u2028"'.encode()),
        ([], b"[]"),
        (-5, b"-5"),
    ],
)
def test_canonical_bytes(value: object, expected: bytes) -> None:
    assert canonical(value) == expected


@pytest.mark.parametrize(
    "value", [1.0, {"a": 0.5}, [float("nan")], {1: "x"}, {"a": object()}, b"raw"]
)
def test_canonical_refuses_non_json_integers(value: object) -> None:
    with pytest.raises(EncodingError):
        canonical(value)


def test_canonical_refuses_deep_nesting() -> None:
    value: object = 1
    for _ in range(100):
        value = [value]
    with pytest.raises(EncodingError):
        canonical(value)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1.5}',
        '{"a": 1e3}',
        "[NaN]",
        "[Infinity]",
        '{"a":1,"a":2}',
        "{",
        "",
        "\xff",
        '{"a": -0.0}',
    ],
)
def test_loads_strict_rejects(text: str) -> None:
    with pytest.raises(EncodingError):
        loads_strict(text)


def test_loads_strict_rejects_invalid_utf8() -> None:
    with pytest.raises(EncodingError):
        loads_strict(b'{"a":"\xff"}')


@given(json_values)
def test_roundtrip_is_stable(value: object) -> None:
    data = canonical(value)
    assert canonical(loads_strict(data)) == data
    assert json.loads(data) == value
    assert sha256_hex(data) == sha256_hex(canonical(json.loads(data)))
