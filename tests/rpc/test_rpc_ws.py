"""JSON-RPC over the /ws WebSocket: same dispatch, one message per request/batch, size-bounded."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from rpc import errors as E
from tests.rpc.fakes import FakeNode, serve

LIMIT = 2048


def status(id: int) -> str:
    return json.dumps({"jsonrpc": "2.0", "method": "node_status", "id": id})


async def test_requests_batches_and_notifications_in_order() -> None:
    node = FakeNode()
    async with serve(node, max_body_bytes=LIMIT) as client:
        ws = await client.ws_connect("/ws")
        await ws.send_str(status(1))
        assert (await ws.receive_json(timeout=5))["id"] == 1
        # a notification gets nothing; the next message received answers the next request
        await ws.send_str('{"jsonrpc":"2.0","method":"node_status"}')
        await ws.send_str('{"jsonrpc":"2.0","method":"nope"}')
        await ws.send_str(f"[{status(2)},{status(3)}]")
        batch = await ws.receive_json(timeout=5)
        assert [r["id"] for r in batch] == [2, 3]
        await ws.send_bytes(status(4).encode())
        assert (await ws.receive_json(timeout=5))["result"]["height"] == 3
        await ws.send_str("{oops")
        assert (await ws.receive_json(timeout=5))["error"]["code"] == E.PARSE_ERROR
        await ws.send_str("[]")
        assert (await ws.receive_json(timeout=5))["error"]["code"] == E.INVALID_REQUEST
        await ws.close()
    assert [c[0] for c in node.calls] == ["node_status"] * 5


async def test_oversized_message_closes_the_socket_with_1009() -> None:
    node = FakeNode()
    async with serve(node, max_body_bytes=LIMIT) as client:
        ws = await client.ws_connect("/ws")
        await ws.send_str("[" + " " * LIMIT + "]")
        msg = await ws.receive(timeout=5)
        assert msg.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSING,
        )
        assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
        assert node.calls == []
        # the server keeps serving other connections
        ws2 = await client.ws_connect("/ws")
        await ws2.send_str(status(9))
        assert (await ws2.receive_json(timeout=5))["id"] == 9
        await ws2.close()


async def test_batch_limit_applies_on_websocket_too() -> None:
    async with serve(FakeNode(), max_batch=2) as client:
        ws = await client.ws_connect("/ws")
        await ws.send_str(f"[{status(1)},{status(2)},{status(3)}]")
        resp = await ws.receive_json(timeout=5)
        assert resp["error"]["data"] == {"reason": "too_large", "limit": 2}
        await ws.close()


async def test_server_shutdown_closes_open_websockets() -> None:
    async with serve(FakeNode()) as client:
        ws = await client.ws_connect("/ws")
        closing = asyncio.create_task(client.server.close())
        msg = await ws.receive(timeout=5)
        await asyncio.wait_for(closing, 5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == aiohttp.WSCloseCode.GOING_AWAY


async def test_plain_get_on_ws_path_is_refused() -> None:
    async with serve(FakeNode()) as client:
        resp = await client.get("/ws")
        assert resp.status >= 400
        assert (await client.post("/ws", data=status(1))).status == 405
