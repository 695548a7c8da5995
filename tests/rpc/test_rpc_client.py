"""The Python client against the real server: call, batch, RpcError fields, transport errors.

Batches are tested over both transports: an HTTP POST each (``RpcClient``) and a message each
on one WebSocket (``WsRpc``), which must keep the same contract.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from chain.crypto import KeyPair
from rpc import errors as E
from rpc.client import RpcClient, RpcError, RpcTransportError
from rpc.client.ws import WsRpc
from tests.rpc.fakes import FakeNode, serve, transfer

HEX = "ab" * 32


def url_of(client: Any) -> str:
    return str(client.make_url("/"))


async def test_call_by_position_and_by_name() -> None:
    node = FakeNode()
    async with serve(node) as srv, RpcClient(url_of(srv)) as rpc:
        assert (await rpc.call("node_status"))["height"] == 3
        assert (await rpc.call("account_get", HEX))["balance"] == 1000
        assert (await rpc.call("account_get", address=HEX.upper()))["address"] == HEX
        assert await rpc.call("block_get", height=10) is None
        called = await rpc.call("contract_call", HEX, "m", {"a": 1}, 5)
        assert called == {
            "contract": HEX,
            "method": "m",
            "args": {"a": 1},
            "gas": 5,
            "sender": None,
        }
        with pytest.raises(TypeError):
            await rpc.call("account_get", HEX, address=HEX)


async def test_transactions_round_trip_and_errors_carry_code_message_data_reason() -> None:
    node = FakeNode()
    key = KeyPair.generate()
    async with serve(node) as srv, RpcClient(url_of(srv)) as rpc:
        tx = transfer(key)
        sent = await rpc.call("tx_send", tx)
        assert await rpc.call("tx_send", tx=tx) == sent  # safe retry
        assert (await rpc.call("tx_get", sent["hash"]))["status"] == "pending"
        with pytest.raises(RpcError) as info:
            await rpc.call("tx_send", transfer(key, nonce=5))
        err = info.value
        assert (err.code, err.reason) == (-32002, "bad_nonce")
        assert err.message == "nonce 5 is not 1"
        assert err.data == {"reason": "bad_nonce", "expected": 1}
        with pytest.raises(RpcError) as info:
            await rpc.call("no_such_method")
        assert info.value.code == E.METHOD_NOT_FOUND and info.value.reason == "method_not_found"
        with pytest.raises(RpcError) as info:
            await rpc.call("tx_get", "nothex")
        assert info.value.code == E.INVALID_PARAMS and info.value.data["param"] == "hash"


def test_rpc_error_reason_is_none_without_a_reason() -> None:
    assert RpcError(-1, "m").reason is None
    assert RpcError(-1, "m", {"reason": 3}).reason is None
    assert RpcError(-1, "m", ["x"]).reason is None
    assert RpcError(-32004, "full", {"reason": "mempool_full"}).reason == "mempool_full"


@contextlib.asynccontextmanager
async def batcher(transport: str, srv: Any) -> AsyncIterator[RpcClient | WsRpc]:
    """A client of ``srv`` that sends batches over ``transport`` ("http" or "ws")."""
    if transport == "http":
        async with RpcClient(url_of(srv)) as rpc:
            yield rpc
        return
    ws = WsRpc(str(srv.make_url("/ws")), timeout=5)
    await ws.connect()
    try:
        yield ws
    finally:
        await ws.close()


@pytest.mark.parametrize("transport", ["http", "ws"])
async def test_batch_returns_results_and_errors_in_call_order(transport: str) -> None:
    node = FakeNode()
    key = KeyPair.generate()
    async with serve(node) as srv, batcher(transport, srv) as rpc:
        assert await rpc.batch([]) == []
        out: list[Any] = await rpc.batch(
            [
                ("tx_send", [transfer(key, nonce=0)]),
                ("tx_send", {"tx": transfer(key, nonce=1)}),
                ("tx_send", [transfer(key, nonce=9)]),
                ("account_get", {"address": key.public_hex}),
                ("nope", []),
                ("node_status", []),
            ]
        )
        assert len(out) == 6
        assert len(out[0]["hash"]) == 64 and len(out[1]["hash"]) == 64
        assert isinstance(out[2], RpcError) and out[2].reason == "bad_nonce"
        assert out[3]["nonce"] == 2
        assert isinstance(out[4], RpcError) and out[4].code == E.METHOD_NOT_FOUND
        assert out[5]["height"] == 3


@pytest.mark.parametrize("transport", ["http", "ws"])
async def test_a_batch_refused_as_a_whole_raises(transport: str) -> None:
    async with serve(FakeNode(), max_batch=2) as srv, batcher(transport, srv) as rpc:
        with pytest.raises(RpcError) as info:
            await rpc.batch([("node_status", [])] * 3)
        assert info.value.reason == "too_large" and info.value.code == E.INVALID_REQUEST
        assert len(await rpc.batch([("node_status", [])] * 2)) == 2  # the socket goes on


async def test_body_refused_as_a_whole_raises() -> None:
    async with (
        serve(FakeNode(), max_batch=2, max_body_bytes=4096) as srv,
        RpcClient(url_of(srv)) as rpc,
    ):
        with pytest.raises(RpcError) as info:
            await rpc.call("tx_send", {"memo": "x" * 5000})
        assert info.value.code == E.TOO_LARGE and info.value.data["limit"] == 4096


async def test_unreachable_server_is_a_transport_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with RpcClient(f"http://127.0.0.1:{port}/", timeout=5) as rpc:
        with pytest.raises(RpcTransportError):
            await rpc.call("node_status")


async def test_timeout_is_a_transport_error() -> None:
    class Slow(FakeNode):
        async def node_status(self) -> dict[str, Any]:
            await asyncio.sleep(10)
            return {}

    async with serve(Slow()) as srv, RpcClient(url_of(srv), timeout=0.2) as rpc:
        with pytest.raises(RpcTransportError):
            await rpc.call("node_status")


async def test_non_json_rpc_reply_is_a_transport_error() -> None:
    async with serve(FakeNode()) as srv, RpcClient(str(srv.make_url("/missing"))) as rpc:
        with pytest.raises(RpcTransportError, match="404"):
            await rpc.call("node_status")


async def test_a_non_json_body_is_quoted_as_one_line_of_text() -> None:
    """A p2p port answers a 404 that names the RPC port: the error must show it readably."""

    async def hint(request: web.Request) -> web.Response:
        return web.Response(status=404, body="404: use the [rpc] port\n\x1b[31m红\x00".encode())

    app = web.Application()
    app.router.add_post("/", hint)
    runner, port = await _serve(app)
    try:
        async with RpcClient(f"http://127.0.0.1:{port}/") as rpc:
            with pytest.raises(RpcTransportError) as info:
                await rpc.call("node_status")
    finally:
        await runner.cleanup()
    message = str(info.value)
    assert message.endswith(
        "HTTP 404 with a body that is not JSON: 404: use the [rpc] port  [31m红"
    )
    assert "\x1b" not in message and "\n" not in message  # no terminal control from a server


async def test_caller_session_is_left_open_and_own_session_is_closed() -> None:
    async with serve(FakeNode()) as srv:
        async with aiohttp.ClientSession() as session:
            rpc = RpcClient(url_of(srv), session=session)
            assert (await rpc.call("node_status"))["height"] == 3
            await rpc.close()
            assert not session.closed
        own = RpcClient(url_of(srv))
        await own.call("node_status")
        session_used = own._session
        await own.close()
        assert session_used is not None and session_used.closed


async def test_named_param_called_method_does_not_clash() -> None:
    """contract_call takes a parameter named ``method``; the client must pass it through."""
    from rpc.client import RpcClient

    seen: dict[str, object] = {}

    class Capture(RpcClient):
        async def _post(self, payload):  # type: ignore[no-untyped-def, override]
            seen.update(payload)
            return {"jsonrpc": "2.0", "id": payload["id"], "result": 1}

    client = Capture("http://127.0.0.1:1/")
    assert await client.call("contract_call", contract="ab" * 32, method="total") == 1
    assert seen["method"] == "contract_call"
    assert seen["params"] == {"contract": "ab" * 32, "method": "total"}
    await client.close()


async def _scripted_ws(reply: Any) -> tuple[web.AppRunner, str]:
    """A WebSocket server that answers every message with ``reply(request)``."""

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            await ws.send_json(reply(json.loads(msg.data)))
        return ws

    app = web.Application()
    app.router.add_get("/ws", handle)
    runner, port = await _serve(app)
    return runner, f"ws://127.0.0.1:{port}/ws"


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    """``app`` on a free loopback port: its runner (clean it up) and the port."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, int(runner.addresses[0][1])


async def test_ws_batch_reply_missing_an_answer_is_a_transport_error_at_once() -> None:
    """A batch reply comes whole: an id it leaves out fails then, not at the timeout."""

    def reply(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"jsonrpc": "2.0", "id": req["id"], "result": 1} for req in batch[:-1]]

    runner, url = await _scripted_ws(reply)
    ws = WsRpc(url, timeout=30)
    await ws.connect()
    try:
        with pytest.raises(RpcTransportError, match="no answer for id"):
            await asyncio.wait_for(ws.batch([("a", []), ("b", [])]), 5)
    finally:
        await ws.close()
        await runner.cleanup()
