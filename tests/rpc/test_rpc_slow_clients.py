"""Clients that do not read: their replies are bounded, then they are dropped and the bytes freed."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import aiohttp

from chain.crypto import KeyPair
from chain.tx import sign_tx
from tests.rpc import rawnet
from tests.rpc.fakes import CHAIN_ID, FakeNode, serve

TIMEOUT_MS = 300
ITEMS = 100  # x ~60 KB: a 6 MB reply, more than loopback TCP buffers absorb
OPTIONS: dict[str, Any] = {
    "send_timeout_ms": TIMEOUT_MS,
    "max_batch": 200,
    "max_reply_bytes": 8 << 20,
    "reply_budget_bytes": 10 << 20,  # one 6 MB HTTP reply fits, a second one only in part
}


async def _big_batch(node: FakeNode) -> bytes:
    payload = {"contract": "ab" * 32, "method": "m", "args": {"blob": "x" * 60_000}}
    tx = sign_tx(KeyPair.generate(), CHAIN_ID, 0, "call", payload).to_dict()
    tx_hash = await node.tx_send(tx)
    items = [
        {"jsonrpc": "2.0", "method": "tx_get", "params": [tx_hash], "id": i} for i in range(ITEMS)
    ]
    return json.dumps(items).encode()


def _ended(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        while sock.recv(1 << 16):
            pass
    except ConnectionError:
        return True
    except TimeoutError:
        return False
    return True


async def test_a_client_that_does_not_read_holds_budget_only_until_the_send_timeout() -> None:
    node = FakeNode()
    body = await _big_batch(node)
    async with serve(node, **{**OPTIONS, "send_timeout_ms": 1500}) as client:
        url = str(client.make_url("/"))
        sock = await asyncio.to_thread(rawnet.post_and_never_read, url, body)
        try:
            await asyncio.sleep(0.2)
            held = await (await client.post("/", data=body)).json()
            busy = [a for a in held if "error" in a]
            assert busy and all(a["error"]["data"]["reason"] == "busy" for a in busy)
            await asyncio.sleep(1.6)  # past the send timeout, without having read anything
            assert await asyncio.to_thread(_ended, sock)  # the node aborted the connection
        finally:
            sock.close()
        freed = await (await client.post("/", data=body)).json()
        assert all("result" in a for a in freed)


async def test_in_flight_counts_a_reply_until_it_is_written() -> None:
    node = FakeNode()
    body = await _big_batch(node)
    async with serve(node, **{**OPTIONS, "max_inflight": 1}) as client:
        url = str(client.make_url("/"))
        sock = await asyncio.to_thread(rawnet.post_and_never_read, url, body)
        try:
            await asyncio.sleep(0.1)
            resp = await client.post("/", data=b'{"jsonrpc":"2.0","method":"node_status","id":1}')
            assert resp.status == 503
            assert (await resp.json())["error"]["data"]["reason"] == "busy"
            await asyncio.to_thread(_ended, sock)
        finally:
            sock.close()
        resp = await client.post("/", data=b'{"jsonrpc":"2.0","method":"node_status","id":1}')
        assert resp.status == 200


async def test_a_websocket_client_that_stops_reading_gets_a_close_frame_then_is_cut_off() -> None:
    node = FakeNode()
    body = await _big_batch(node)
    # a WebSocket reply is charged twice (the transport copies it): give room for one
    async with serve(node, **{**OPTIONS, "reply_budget_bytes": 16 << 20}) as client:
        sock = await asyncio.to_thread(rawnet.ws_connect, str(client.make_url("/")))
        try:
            await asyncio.to_thread(sock.sendall, rawnet.ws_frame(body) * 2)
            await asyncio.sleep(TIMEOUT_MS / 1000 + 0.3)
            frames = await asyncio.to_thread(lambda: list(rawnet.ws_frames(sock)))
        finally:
            sock.close()
        assert frames[0][0] == rawnet.OP_TEXT and len(json.loads(frames[0][1])) == ITEMS
        code, reason = rawnet.close_reason(frames[-1][1])
        assert frames[-1][0] == rawnet.OP_CLOSE and code == 1008
        assert reason == "reply not read in time; closing"
        # the node is fine and has its budget back
        ws = await client.ws_connect("/ws", max_msg_size=16 << 20)
        await ws.send_bytes(body)
        msg = await ws.receive(timeout=10)
        assert all("result" in a for a in json.loads(msg.data))
        await ws.close()


async def test_server_header_names_no_versions() -> None:
    async with serve(FakeNode()) as client:
        for resp in (
            await client.get("/"),
            await client.post("/", data=b"{}"),
            await client.get("/missing"),
            await client.put("/"),
        ):
            assert resp.headers["Server"] == "aidchain"


async def test_describe_lists_the_reply_cap() -> None:
    async with serve(FakeNode(), max_reply_bytes=300_000) as client:
        assert (await (await client.get("/")).json())["max_reply_bytes"] == 300_000


async def test_ws_client_reading_normally_is_never_dropped() -> None:
    node = FakeNode()
    body = await _big_batch(node)
    async with serve(node, **OPTIONS) as client:
        ws = await client.ws_connect("/ws", max_msg_size=16 << 20)
        for _ in range(3):
            await ws.send_bytes(body)
            msg = await ws.receive(timeout=10)
            assert msg.type == aiohttp.WSMsgType.TEXT
        await ws.close()


def _transports(client: Any) -> list[asyncio.Transport]:
    """The server side of every open connection (kept: a handler lets go of it when closing)."""
    server = client.server.runner.server
    return [h.transport for h in server.connections if h.transport is not None]


async def test_a_dropped_client_leaves_nothing_buffered_even_if_it_never_reads() -> None:
    node = FakeNode()
    body = await _big_batch(node)
    async with serve(node, **{**OPTIONS, "reply_budget_bytes": 16 << 20}) as client:
        url = str(client.make_url("/"))
        ws_sock = await asyncio.to_thread(rawnet.ws_connect, url)
        http_sock = await asyncio.to_thread(rawnet.post_and_never_read, url, body)
        try:
            await asyncio.to_thread(ws_sock.sendall, rawnet.ws_frame(body) * 2)
            await asyncio.sleep(0.2)
            transports = _transports(client)
            held = sum(t.get_write_buffer_size() for t in transports)
            assert len(transports) == 2 and held > 1 << 20  # both replies are stuck on the node
            await asyncio.sleep(TIMEOUT_MS / 1000 + 1.5)  # send timeout, then the close grace
            assert [t.get_write_buffer_size() for t in transports] == [0, 0]
        finally:
            ws_sock.close()
            http_sock.close()
