"""The transport-free dispatcher against the JSON-RPC 2.0 spec's cases and our extensions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.crypto import KeyPair
from rpc import errors as E
from rpc.methods import METHODS
from tests.rpc.fakes import FakeNode, answer, transfer

HEX = "ab" * 32


async def run(node: FakeNode, body: Any, max_batch: int = 10) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await answer(node, raw, max_batch=max_batch)


def req(method: str, params: Any = None, id: Any = 1) -> dict[str, Any]:
    out: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        out["params"] = params
    return out


def error_of(resp: Any) -> dict[str, Any]:
    assert isinstance(resp, dict) and "result" not in resp, resp
    assert resp["jsonrpc"] == "2.0"
    err: dict[str, Any] = resp["error"]
    return err


async def test_successful_call_by_position_and_by_name() -> None:
    node = FakeNode()
    by_pos = await run(node, req("account_get", [HEX], id="a"))
    by_name = await run(node, req("account_get", {"address": HEX}, id=7))
    assert by_pos == {
        "jsonrpc": "2.0",
        "id": "a",
        "result": {"address": HEX, "balance": 1000, "nonce": 0},
    }
    assert by_name["id"] == 7 and by_name["result"] == by_pos["result"]


async def test_params_are_normalised_before_the_node_sees_them() -> None:
    node = FakeNode()
    await run(node, req("account_get", [HEX.upper()]))
    await run(node, req("block_get", ["latest"]))
    await run(node, req("contract_call", [HEX, "m"]))
    await run(node, req("contract_call", [HEX, "m", {"x": 1}, None, HEX.upper()]))
    assert node.calls == [
        ("account_get", (HEX,)),
        ("block_get", ("latest",)),
        ("contract_call", (HEX, "m", {}, None, None)),
        ("contract_call", (HEX, "m", {"x": 1}, None, HEX)),
    ]


async def test_tx_send_returns_hash_object_and_is_idempotent() -> None:
    node = FakeNode()
    tx = transfer(KeyPair.generate())
    first = await run(node, req("tx_send", [tx]))
    again = await run(node, req("tx_send", {"tx": tx}))
    assert len(first["result"]["hash"]) == 64
    assert again["result"] == first["result"]
    got = await run(node, req("tx_get", [first["result"]["hash"]]))
    assert got["result"]["tx"] == tx


async def test_null_results_are_sent_as_null() -> None:
    resp = await run(FakeNode(), req("block_get", {"height": 99}))
    assert resp == {"jsonrpc": "2.0", "id": 1, "result": None}


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]',
        b"",
        b"   ",
        b"\xff\xfe{}",
        b'{"jsonrpc":"2.0","method":"node_status","id":NaN}',
        b"[1,2",
        b"\xef\xbb\xbf{}",
    ],
)
async def test_parse_error(body: bytes) -> None:
    resp = await run(FakeNode(), body)
    assert resp["id"] is None
    assert error_of(resp)["code"] == E.PARSE_ERROR
    assert error_of(resp)["data"]["reason"] == "malformed_json"


async def test_invalid_batch_in_parse_error_is_single_parse_error() -> None:
    body = b'[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]'
    resp = await run(FakeNode(), body)
    assert isinstance(resp, dict) and error_of(resp)["code"] == E.PARSE_ERROR


@pytest.mark.parametrize(
    ("request_obj", "echo_id"),
    [
        ({"jsonrpc": "2.0", "method": 1, "params": "bar"}, None),
        (1, None),
        ("x", None),
        (None, None),
        ({"jsonrpc": "1.0", "method": "node_status", "id": 3}, 3),
        ({"method": "node_status", "id": 3}, 3),
        ({"jsonrpc": 2.0, "method": "node_status", "id": 3}, 3),  # float: lenient path
        ({"jsonrpc": "2.0", "method": "node_status", "id": 1.5}, None),
        ({"jsonrpc": "2.0", "method": "node_status", "id": True}, None),
        ({"jsonrpc": "2.0", "method": "node_status", "id": [1]}, None),
        ({"jsonrpc": "2.0", "method": "node_status", "id": {}}, None),
        ({"jsonrpc": "2.0", "method": "node_status", "params": 5, "id": "p"}, "p"),
        ({"jsonrpc": "2.0", "method": "node_status", "params": "x", "id": "p"}, "p"),
        ({"jsonrpc": "2.0", "method": "node_status", "id": 4, "extra": 1}, 4),
        ({"jsonrpc": "2.0", "id": 4}, 4),
        # an invalid request without an id is still answered (it is not a notification)
        ({"jsonrpc": "2.0", "method": None}, None),
    ],
)
async def test_invalid_request(request_obj: Any, echo_id: Any) -> None:
    node = FakeNode()
    resp = await run(node, request_obj)
    err = error_of(resp)
    assert err["code"] == E.INVALID_REQUEST
    assert err["data"]["reason"] == "invalid_request"
    assert resp["id"] == echo_id
    assert node.calls == []


async def test_jsonrpc_float_version_is_invalid_request_not_parse_error() -> None:
    # the strict parser refuses floats; the dispatcher must still call it -32600 (valid JSON)
    resp = await run(FakeNode(), b'{"jsonrpc": 2.0, "method": "node_status", "id": 3}')
    assert error_of(resp)["code"] == E.INVALID_REQUEST


async def test_duplicate_member_is_invalid_request() -> None:
    body = b'{"jsonrpc":"2.0","method":"node_status","method":"tx_get","id":1}'
    resp = await run(FakeNode(), body)
    assert error_of(resp)["code"] == E.INVALID_REQUEST
    assert "duplicate" in error_of(resp)["message"]


async def test_empty_batch_is_a_single_invalid_request() -> None:
    resp = await run(FakeNode(), [])
    assert resp["id"] is None and error_of(resp)["code"] == E.INVALID_REQUEST


async def test_batch_of_non_objects_gives_one_error_each() -> None:
    resp = await run(FakeNode(), [1, 2, 3])
    assert isinstance(resp, list) and len(resp) == 3
    assert all(error_of(r)["code"] == E.INVALID_REQUEST and r["id"] is None for r in resp)


async def test_mixed_batch_keeps_order_and_skips_notifications() -> None:
    node = FakeNode()
    batch = [
        req("account_get", [HEX], id="1"),
        {"jsonrpc": "2.0", "method": "node_status"},  # notification: executed, no answer
        req("account_get", [HEX], id="2"),
        {"foo": "boo"},
        req("foo.get", {"name": "myself"}, id="5"),
        req("node_status", id="9"),
        {"jsonrpc": "2.0", "method": "no_such"},  # failing notification: still no answer
        req("tx_get", {"hash": "zz"}, id=10),
    ]
    resp = await run(node, batch)
    assert [r["id"] for r in resp] == ["1", "2", None, "5", "9", 10]
    assert resp[0]["result"]["balance"] == 1000
    assert resp[1]["result"]["balance"] == 1000
    assert error_of(resp[2])["code"] == E.INVALID_REQUEST
    assert error_of(resp[3])["code"] == E.METHOD_NOT_FOUND
    assert resp[4]["result"]["height"] == 3
    assert error_of(resp[5])["code"] == E.INVALID_PARAMS
    assert [c[0] for c in node.calls] == [
        "account_get",
        "node_status",
        "account_get",
        "node_status",
    ]


async def test_all_notification_batch_returns_nothing() -> None:
    node = FakeNode()
    batch = [{"jsonrpc": "2.0", "method": "node_status"}, {"jsonrpc": "2.0", "method": "nope"}]
    assert await run(node, batch) is None
    assert [c[0] for c in node.calls] == ["node_status"]


async def test_notification_gets_no_response_even_on_error() -> None:
    node = FakeNode()
    assert await run(node, {"jsonrpc": "2.0", "method": "node_status"}) is None
    assert await run(node, {"jsonrpc": "2.0", "method": "account_get", "params": [1]}) is None
    node.fail_with = RuntimeError("boom")
    assert await run(node, {"jsonrpc": "2.0", "method": "node_status"}) is None
    assert await run(node, {"jsonrpc": "2.0", "method": "tx_send", "params": [{"a": 1.5}]}) is None


async def test_explicit_null_id_is_a_request_not_a_notification() -> None:
    resp = await run(FakeNode(), req("node_status", id=None))
    assert resp["id"] is None and resp["result"]["height"] == 3


async def test_unknown_method() -> None:
    resp = await run(FakeNode(), req("rpc.no_such_method"))
    err = error_of(resp)
    assert err["code"] == E.METHOD_NOT_FOUND and err["data"]["reason"] == "method_not_found"
    long = await run(FakeNode(), req("x" * 10_000))
    assert len(error_of(long)["message"]) < 200


@pytest.mark.parametrize(
    ("method", "params", "param"),
    [
        ("account_get", [], "address"),
        ("account_get", {}, "address"),
        ("account_get", None, "address"),
        ("account_get", [HEX, 1], "#1"),
        ("account_get", {"address": HEX, "extra": 1}, "extra"),
        ("account_get", {"addr": HEX}, "addr"),
        ("account_get", ["ab"], "address"),
        ("account_get", {"address": 5}, "address"),
        ("account_get", [None], "address"),
        ("account_get", ["g" * 64], "address"),
        ("tx_get", [HEX + "00"], "hash"),
        ("tx_send", ["not an object"], "tx"),
        ("tx_send", {"tx": [1]}, "tx"),
        ("block_get", [-1], "height"),
        ("block_get", {"height": "earliest"}, "height"),
        ("block_get", [True], "height"),
        ("block_get", [2**63], "height"),
        ("block_get", ["3"], "height"),
        ("node_status", [1], "#0"),
        ("node_status", {"verbose": True}, "verbose"),
        ("contract_call", [HEX], "method"),
        ("contract_call", [HEX, ""], "method"),
        ("contract_call", [HEX, "m" * 129], "method"),
        ("contract_call", [HEX, "m", []], "args"),
        ("contract_call", {"contract": HEX, "method": "m", "gas": 0}, "gas"),
        ("contract_call", {"contract": HEX, "method": "m", "gas": 10**9}, "gas"),
        ("contract_call", {"contract": HEX, "method": "m", "gas": "1"}, "gas"),
        ("contract_call", {"contract": HEX, "method": "m", "sender": "me"}, "sender"),
        ("contract_call", [HEX, "m", {}, 1, HEX, 6], "#5"),
        ("contract_get", {"address": None}, "address"),
    ],
)
async def test_invalid_params_name_the_parameter(method: str, params: Any, param: str) -> None:
    node = FakeNode()
    resp = await run(node, req(method, params))
    err = error_of(resp)
    assert err["code"] == E.INVALID_PARAMS
    assert err["data"] == {"reason": "invalid_params", "param": param}
    assert param in err["message"] or param.startswith("#")
    assert node.calls == []


async def test_float_inside_params_is_invalid_params_with_malformed_json() -> None:
    node = FakeNode()
    tx = json.dumps(transfer(KeyPair.generate())).replace('"amount": 5', '"amount": 5.0')
    assert "5.0" in tx
    body = f'{{"jsonrpc":"2.0","method":"tx_send","params":[{tx}],"id":1}}'.encode()
    err = error_of(await run(node, body))
    assert err["code"] == E.INVALID_PARAMS
    assert err["data"] == {"reason": "malformed_json", "param": "tx"}
    body = f'{{"jsonrpc":"2.0","method":"tx_send","params":{{"tx":{tx}}},"id":1}}'.encode()
    assert error_of(await run(node, body))["data"] == {"reason": "malformed_json", "param": "tx"}
    body = (
        b'{"jsonrpc":"2.0","method":"contract_call","params":["'
        + HEX.encode()
        + b'","m",{"a":{"b":[1e3]}}],"id":1}'
    )
    assert error_of(await run(node, body))["data"] == {"reason": "malformed_json", "param": "args"}
    assert node.calls == []


async def test_duplicate_keys_inside_params_are_malformed_json() -> None:
    node = FakeNode()
    body = b'{"jsonrpc":"2.0","method":"tx_send","params":[{"nonce":1,"nonce":2}],"id":1}'
    assert error_of(await run(node, body))["data"] == {"reason": "malformed_json", "param": "tx"}
    body = b'{"jsonrpc":"2.0","method":"tx_get","params":{"hash":"a","hash":"b"},"id":1}'
    assert error_of(await run(node, body))["data"] == {"reason": "malformed_json", "param": "hash"}
    assert node.calls == []


async def test_float_in_one_batch_element_does_not_spoil_the_others() -> None:
    node = FakeNode()
    body = (
        b'[{"jsonrpc":"2.0","method":"node_status","id":1},'
        b'{"jsonrpc":"2.0","method":"block_get","params":[1.0],"id":2},'
        b'{"jsonrpc":"2.0","method":"node_status","id":3.0}]'
    )
    resp = await run(node, body)
    assert resp[0]["result"]["height"] == 3
    assert error_of(resp[1])["code"] == E.INVALID_PARAMS
    assert error_of(resp[1])["data"]["param"] == "height"
    assert error_of(resp[2])["code"] == E.INVALID_REQUEST and resp[2]["id"] is None


async def test_batch_limit() -> None:
    node = FakeNode()
    ok = await run(node, [req("node_status", id=i) for i in range(10)], max_batch=10)
    assert [r["id"] for r in ok] == list(range(10))
    node.calls.clear()
    resp = await run(node, [req("node_status", id=i) for i in range(11)], max_batch=10)
    assert isinstance(resp, dict) and resp["id"] is None
    err = error_of(resp)
    assert err["code"] == E.INVALID_REQUEST
    assert err["data"] == {"reason": "too_large", "limit": 10}
    assert node.calls == []


async def test_unexpected_exception_is_internal_error_without_details(
    caplog: pytest.LogCaptureFixture,
) -> None:
    node = FakeNode()
    node.fail_with = RuntimeError("secret path /etc/aidchain/node.key")
    with caplog.at_level("ERROR", logger="rpc.server"):
        resp = await run(node, req("node_status"))
    err = error_of(resp)
    assert err == {
        "code": E.INTERNAL_ERROR,
        "message": "internal error",
        "data": {"reason": "internal_error"},
    }
    assert "secret" not in json.dumps(resp)
    assert any(r.exc_info and "secret path" in str(r.exc_info[1]) for r in caplog.records)


async def test_deeply_nested_body_is_answered_not_crashed() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    resp = await run(FakeNode(), body)
    assert error_of(resp)["code"] in (E.PARSE_ERROR, E.INVALID_REQUEST)
    nested = (
        b'{"jsonrpc":"2.0","method":"tx_send","params":[' + b"[" * 500 + b"]" * 500 + b'],"id":1}'
    )
    assert error_of(await run(FakeNode(), nested))["code"] == E.INVALID_PARAMS


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=70)
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_requests = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "1.0"]) | _scalars,
        "method": st.sampled_from([*sorted(METHODS), "x"]) | _scalars,
        "params": _json,
        "id": _scalars,
    },
)


def _check_response(resp: Any) -> None:
    assert resp["jsonrpc"] == "2.0" and "id" in resp
    assert ("result" in resp) != ("error" in resp)
    if "error" in resp:
        assert isinstance(resp["error"]["code"], int)
        assert isinstance(resp["error"]["data"]["reason"], str)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
async def test_any_bytes_get_an_answer_and_never_raise(body: bytes) -> None:
    resp = await answer(FakeNode(), body, max_batch=10)
    assert resp is None or isinstance(resp, (dict, list))
    json.dumps(resp)


@settings(max_examples=200, deadline=None)
@given(st.lists(_requests, min_size=1, max_size=5) | _requests)
async def test_any_request_shape_gets_a_well_formed_answer(doc: Any) -> None:
    resp = await answer(FakeNode(), json.dumps(doc).encode(), max_batch=10)
    items = doc if isinstance(doc, list) else [doc]
    answers = resp if isinstance(resp, list) else ([] if resp is None else [resp])
    for item in answers:
        _check_response(item)
    # a notification is only silent if it was a well-formed request object
    expected_at_least = sum(1 for it in items if "id" in it)
    assert len(answers) >= expected_at_least
    assert len(answers) <= len(items)
    json.dumps(resp)
