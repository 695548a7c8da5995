from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain import limits
from chain.encoding import canonical, canonical_pairs, loads_strict, sha256_hex
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


def _outcome(fn: Any) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except EncodingError as exc:
        return "refused", exc.message


@given(st.lists(st.tuples(st.text(), json_values | st.floats()), max_size=6))
def test_canonical_pairs_is_canonical_of_the_pair_list(pairs: list[tuple[str, Any]]) -> None:
    """The state root's encoding: the same bytes (or the same refusal) as the list of pairs,
    and each value's own canonical bytes."""
    expected = _outcome(lambda: canonical([[k, v] for k, v in pairs]))
    got = _outcome(lambda: canonical_pairs(pairs))
    if expected[0] == "refused":
        assert got == expected
        return
    assert got[0] == "ok"
    joined, values = got[1]
    assert joined == expected[1]
    assert values == [canonical(v) for _, v in pairs]


@pytest.mark.parametrize("extra", [0, 1, 2, 3])
def test_canonical_pairs_refuses_what_the_pair_list_nests_too_deep(extra: int) -> None:
    value: object = 1
    for _ in range(limits.MAX_JSON_DEPTH - 2 + extra):
        value = [value]
    expected = _outcome(lambda: canonical([["k", value]]))
    assert _outcome(lambda: canonical_pairs([("k", value)]))[0] == expected[0]
    assert expected[0] == ("ok" if extra == 0 else "refused")


def test_canonical_pairs_refuses_a_lone_surrogate() -> None:
    with pytest.raises(EncodingError):
        canonical_pairs([("k", "\ud800")])


# the format's definition: the standard library's encoder with these options
_REFERENCE = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)
any_text = st.text(st.characters(codec=None, exclude_categories=("Cs",)))  # every code point
wide_ints = st.integers() | st.integers(min_value=-(2**300), max_value=2**300)
wide_values = st.recursive(
    st.none() | st.booleans() | wide_ints | any_text,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(any_text, children, max_size=6)
    ),
    max_leaves=40,
)


@settings(max_examples=2_000)
@given(wide_values)
def test_canonical_bytes_are_the_standard_librarys(value: object) -> None:
    """msgspec writes the canonical bytes; the format is defined by the stdlib's encoder."""
    assert canonical(value) == _REFERENCE.encode(value).encode("utf-8")


@pytest.mark.parametrize(
    "value",
    [
        {"\U0001f600": 1, "\uffff": 2, "z": 3, "\u00e9": 4, "": 5},  # key order: code points
        "".join(chr(c) for c in range(0x80)),  # every ASCII character, controls escaped
        ["\u2028\u2029", "\x7f", "/", "\\", '"'],
        [2**64, -(2**63) - 1, 10**80, 0, -0],
        (1, (2, "x")),  # tuples are arrays
    ],
)
def test_canonical_bytes_of_edge_values(value: object) -> None:
    assert canonical(value) == _REFERENCE.encode(value).encode("utf-8")
