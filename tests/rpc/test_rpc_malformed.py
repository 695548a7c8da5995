"""Malformed requests: each gets a JSON-RPC error object, batches keep the other answers, and no
message carries interpreter text (exception strings, reprs, limits of this particular VM)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.crypto import KeyPair
from chain.encoding import MAX_INT_DIGITS, canonical, loads_strict, shown_name
from chain.errors import EncodingError, MalformedTx
from chain.tx import make_transfer, tx_from_dict
from tests.rpc.fakes import CHAIN_ID, FakeNode, answer

INTERNALS = ("sys.", "Traceback", "int_max_str_digits", "object at 0x", "Expecting", "codec")
GOOD = b'{"jsonrpc":"2.0","method":"node_status","id":"good"}'


def _memo_tx() -> bytes:
    tx = make_transfer(KeyPair.generate(), CHAIN_ID, 0, "cd" * 32, 1).to_dict()
    tx["payload"]["memo"] = "MEMO"
    return json.dumps(tx).replace("MEMO", "\\ud800").encode()


PER_REQUEST: list[tuple[str, bytes, int, str]] = [
    (
        "surrogate id",
        b'{"jsonrpc":"2.0","method":"node_status","id":"\\ud800"}',
        -32600,
        "invalid_request",
    ),
    (
        "surrogate method",
        b'{"jsonrpc":"2.0","method":"a\\udfffb","id":1}',
        -32601,
        "method_not_found",
    ),
    (
        "surrogate param name",
        b'{"jsonrpc":"2.0","method":"block_get","params":{"\\ud800":1},"id":1}',
        -32602,
        "invalid_params",
    ),
    (
        "surrogate member name",
        b'{"jsonrpc":"2.0","method":"node_status","\\ud800":1,"id":1}',
        -32600,
        "invalid_request",
    ),
    (
        "surrogate in a memo",
        b'{"jsonrpc":"2.0","method":"tx_send","params":[' + _memo_tx() + b'],"id":1}',
        -32005,
        "malformed_tx",
    ),
    (
        "surrogate contract method",
        b'{"jsonrpc":"2.0","method":"contract_call","params":["'
        + b"ab" * 32
        + b'","\\ud800"],"id":1}',
        -32602,
        "invalid_params",
    ),
    (
        "surrogate in contract args",
        b'{"jsonrpc":"2.0","method":"contract_call","params":["'
        + b"ab" * 32
        + b'","m",{"k":"\\ud800"}],"id":1}',
        -32602,
        "malformed_json",
    ),
    (
        "huge integer param",
        b'{"jsonrpc":"2.0","method":"block_get","params":[' + b"9" * 5000 + b'],"id":1}',
        -32602,
        "malformed_json",
    ),
    (
        "huge integer id",
        b'{"jsonrpc":"2.0","method":"node_status","id":' + b"9" * 5000 + b"}",
        -32600,
        "invalid_request",
    ),
    (
        "nested contract args",
        b'{"jsonrpc":"2.0","method":"contract_call","params":["'
        + b"ab" * 32
        + b'","m",'
        + b'{"a":' * 80
        + b"1"
        + b"}" * 80
        + b'],"id":1}',
        -32602,
        "malformed_json",
    ),
    (
        "duplicate member",
        b'{"jsonrpc":"2.0","method":"node_status","id":1,"id":2}',
        -32600,
        "invalid_request",
    ),
    (
        "duplicate param",
        b'{"jsonrpc":"2.0","method":"block_get","params":{"height":1,"height":2},"id":1}',
        -32602,
        "malformed_json",
    ),
]

WHOLE_BODY: list[tuple[str, bytes, str]] = [
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, "parse error: JSON nested too deeply"),
    ("invalid utf-8", b'{"id":"\xff"}', "parse error: text is not valid UTF-8"),
    ("utf-8 surrogate", b'{"id":"\xed\xa0\x80"}', "parse error: text is not valid UTF-8"),
    ("truncated", b'{"jsonrpc":"2.0","method"', "parse error: invalid JSON at line 1 column 26"),
    ("BOM", b"\xef\xbb\xbf{}", "parse error: invalid JSON at line 1 column 1"),
]


def _assert_clean(err: dict[str, Any]) -> None:
    text = json.dumps(err, ensure_ascii=False)
    assert not [s for s in INTERNALS if s in text], err


@pytest.mark.parametrize(
    ("name", "body", "code", "reason"), PER_REQUEST, ids=[c[0] for c in PER_REQUEST]
)
async def test_a_malformed_request_gets_its_error_and_the_batch_keeps_the_rest(
    name: str, body: bytes, code: int, reason: str
) -> None:
    alone = await answer(FakeNode(), body)
    batch = await answer(FakeNode(), b"[" + body + b"," + GOOD + b"]")
    for err in (alone["error"], batch[0]["error"]):
        assert (err["code"], err["data"]["reason"]) == (code, reason), err
        _assert_clean(err)
    assert batch[1]["id"] == "good" and "result" in batch[1]


@pytest.mark.parametrize(("name", "body", "message"), WHOLE_BODY, ids=[c[0] for c in WHOLE_BODY])
async def test_text_that_is_not_json_gets_a_fixed_parse_error(
    name: str, body: bytes, message: str
) -> None:
    out = await answer(FakeNode(), body)
    assert out["id"] is None
    assert out["error"] == {
        "code": -32700,
        "message": message,
        "data": {"reason": "malformed_json"},
    }


async def test_echoed_names_have_surrogates_escaped_and_are_cut() -> None:
    body = b'{"jsonrpc":"2.0","method":"' + b"m" * 100 + b'\\ud800","id":1}'
    out = await answer(FakeNode(), body)
    assert out["error"]["data"]["method"] == "m" * 64
    out = await answer(FakeNode(), b'{"jsonrpc":"2.0","method":"x\\ud800","id":1}')
    assert out["error"]["data"]["method"] == "x\\ud800"
    assert out["error"]["message"] == "method 'x\\ud800' not found"


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=6))
async def test_any_text_in_id_method_and_params_is_answered_in_json(text: str) -> None:
    doc = [
        {"jsonrpc": "2.0", "method": text, "id": text},
        {"jsonrpc": "2.0", "method": "block_get", "params": {text: 1}, "id": 2},
        {
            "jsonrpc": "2.0",
            "method": "contract_call",
            "params": ["ab" * 32, "m", {text: text}],
            "id": 3,
        },
    ]
    out = await answer(FakeNode(), json.dumps(doc).encode())  # ensure_ascii: surrogates as \\u
    assert len(out) == 3
    for item in out:
        if "error" in item:
            _assert_clean(item["error"])


def test_canonical_refuses_lone_surrogates_with_a_fixed_text() -> None:
    with pytest.raises(EncodingError, match="lone surrogate"):
        canonical({"memo": "ok\ud800"})
    assert canonical({"memo": "好"}) == '{"memo":"好"}'.encode()


def test_a_memo_with_a_surrogate_is_a_malformed_tx() -> None:
    tx = make_transfer(KeyPair.generate(), CHAIN_ID, 0, "cd" * 32, 1).to_dict()
    tx["payload"]["memo"] = "\udc00"
    with pytest.raises(MalformedTx, match="memo"):
        tx_from_dict(tx)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9" * (MAX_INT_DIGITS + 1), f"integer literal longer than {MAX_INT_DIGITS} digits"),
        ("[" * 100_000, "malformed JSON: JSON nested too deeply"),
        ('{"a":1,"a":2}', "duplicate key 'a'"),
        ("[1,", "malformed JSON: invalid JSON at line 1 column 4"),
    ],
)
def test_loads_strict_errors_are_fixed_texts(text: str, message: str) -> None:
    with pytest.raises(EncodingError) as caught:
        loads_strict(text)
    assert caught.value.message == message
    assert loads_strict("9" * MAX_INT_DIGITS) == int("9" * MAX_INT_DIGITS)


def test_shown_name() -> None:
    assert shown_name("abc") == "abc"
    assert shown_name("a" * 100) == "a" * 64
    assert shown_name("a\ud800b") == "a\\ud800b"
