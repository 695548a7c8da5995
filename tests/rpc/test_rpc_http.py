"""HTTP transport: status codes, body limits (Content-Length and chunked), GET description."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from rpc import errors as E
from tests.rpc.fakes import FakeNode, serve

LIMIT = 1024
STATUS = {"jsonrpc": "2.0", "method": "node_status", "id": 1}


async def raw_exchange(
    host: str, port: int | None, head: bytes, body_parts: list[bytes]
) -> tuple[int, Any]:
    """Send a request by hand (never finishing a too-large body) and read one response."""
    assert port is not None
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(head)
        for part in body_parts:
            writer.write(part)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
        headers: dict[str, str] = {}
        while (line := await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b""):
            k, _, v = line.decode().partition(":")
            headers[k.strip().lower()] = v.strip()
        body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 5)
        return int(status_line.split()[1]), json.loads(body)
    finally:
        writer.close()


async def test_post_answers_json_and_accepts_any_content_type() -> None:
    async with serve(FakeNode()) as client:
        resp = await client.post(
            "/", data=json.dumps(STATUS), headers={"Content-Type": "text/plain"}
        )
        assert resp.status == 200
        assert resp.content_type == "application/json"
        payload = await resp.json()
        assert payload["result"]["名"] == "节点"
        assert "节点".encode() in json.dumps(payload, ensure_ascii=False).encode()


async def test_non_ascii_is_sent_raw_not_escaped() -> None:
    async with serve(FakeNode()) as client:
        resp = await client.post("/", data=json.dumps(STATUS))
        assert "节点".encode() in await resp.read()


async def test_notifications_get_204_with_no_body() -> None:
    async with serve(FakeNode()) as client:
        resp = await client.post("/", data=b'{"jsonrpc":"2.0","method":"node_status"}')
        assert resp.status == 204 and await resp.read() == b""
        batch = b'[{"jsonrpc":"2.0","method":"node_status"},{"jsonrpc":"2.0","method":"x"}]'
        resp = await client.post("/", data=batch)
        assert resp.status == 204 and await resp.read() == b""


async def test_protocol_errors_are_http_200() -> None:
    async with serve(FakeNode()) as client:
        resp = await client.post("/", data=b"{not json")
        assert resp.status == 200
        assert (await resp.json())["error"]["code"] == E.PARSE_ERROR
        resp = await client.post("/", data=b"[]")
        assert (await resp.json())["error"]["code"] == E.INVALID_REQUEST


async def test_other_http_methods_on_root_are_405() -> None:
    async with serve(FakeNode()) as client:
        for verb in ("PUT", "DELETE", "PATCH"):
            resp = await client.request(verb, "/", data=json.dumps(STATUS))
            assert resp.status == 405, verb
        assert (await client.post("/nope", data=b"{}")).status == 404


async def test_get_root_describes_the_service() -> None:
    async with serve(FakeNode(), max_body_bytes=LIMIT, max_batch=7) as client:
        resp = await client.get("/")
        assert resp.status == 200
        info = await resp.json()
        assert info["service"] == "aidchain"
        assert "tx_send" in info["methods"] and "node_status" in info["methods"]
        assert info["params"]["block_get"] == [
            {"name": "height", "type": 'integer >= 0 or "latest"', "required": True}
        ]
        assert (info["max_body_bytes"], info["max_batch"]) == (LIMIT, 7)


async def test_body_at_the_limit_is_served_one_byte_over_is_413() -> None:
    async with serve(FakeNode(), max_body_bytes=LIMIT) as client:
        base = json.dumps(STATUS).encode()
        exact = base[:-1] + b" " * (LIMIT - len(base)) + b"}"
        assert len(exact) == LIMIT
        resp = await client.post("/", data=exact)
        assert resp.status == 200 and "result" in await resp.json()
        resp = await client.post("/", data=exact + b" ")
        assert resp.status == 413
        err = await resp.json()
        assert err["id"] is None
        assert err["error"]["code"] == E.TOO_LARGE
        assert err["error"]["data"] == {"reason": "too_large", "limit": LIMIT}


async def test_huge_content_length_is_refused_before_the_body_is_sent() -> None:
    node = FakeNode()
    async with serve(node, max_body_bytes=LIMIT) as client:
        head = (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000\r\n\r\n"
        )
        status, body = await raw_exchange(client.host, client.port, head, [])
        assert status == 413
        assert body["error"]["data"]["reason"] == "too_large"
        assert node.calls == []


async def test_chunked_body_is_cut_off_once_over_the_limit() -> None:
    node = FakeNode()
    async with serve(node, max_body_bytes=LIMIT) as client:
        head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b" " * 300
        parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 4  # 1200 bytes, body never terminated
        status, body = await raw_exchange(client.host, client.port, head, parts)
        assert status == 413
        assert body["error"]["code"] == E.TOO_LARGE
        assert node.calls == []


async def test_chunked_body_within_the_limit_is_served() -> None:
    async with serve(FakeNode(), max_body_bytes=LIMIT) as client:
        payload = json.dumps(STATUS).encode()

        async def gen() -> AsyncIterator[bytes]:
            for i in range(0, len(payload), 7):
                yield payload[i : i + 7]

        resp = await client.post("/", data=gen())
        assert resp.status == 200
        assert (await resp.json())["result"]["height"] == 3

        async def endless() -> AsyncIterator[bytes]:
            yield b"[" + b" " * 600
            yield b" " * 600
            yield b"]"

        resp = await client.post("/", data=endless())
        assert resp.status == 413


async def test_batch_limit_over_http() -> None:
    async with serve(FakeNode(), max_batch=3) as client:
        resp = await client.post("/", data=json.dumps([STATUS] * 4))
        payload = await resp.json()
        assert payload["error"]["data"] == {"reason": "too_large", "limit": 3}
        resp = await client.post("/", data=json.dumps([STATUS] * 3))
        assert len(await resp.json()) == 3


async def test_unserialisable_result_becomes_internal_error_for_that_request_only() -> None:
    class Odd(FakeNode):
        async def contract_get(self, address: str) -> dict[str, Any] | None:
            return {"value": object()}

    async with serve(Odd()) as client:
        batch = [
            STATUS,
            {"jsonrpc": "2.0", "method": "contract_get", "params": ["aa" * 32], "id": 2},
        ]
        resp = await client.post("/", data=json.dumps(batch))
        out = await resp.json()
        assert out[0]["result"]["height"] == 3
        assert out[1] == {
            "jsonrpc": "2.0",
            "id": 2,
            "error": {
                "code": E.INTERNAL_ERROR,
                "message": "internal error",
                "data": {"reason": "internal_error"},
            },
        }


async def test_requests_beyond_max_inflight_get_busy_503() -> None:
    """A flood of slow requests is refused with a clear, retryable error instead of piling up."""
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from rpc.server import create_rpc_app

    release = asyncio.Event()

    class SlowApi:
        async def node_status(self) -> dict:  # type: ignore[type-arg]
            await release.wait()
            return {"ok": True}

    app = create_rpc_app(SlowApi(), max_inflight=2)  # type: ignore[arg-type]
    body = b'{"jsonrpc":"2.0","method":"node_status","id":1}'
    async with TestClient(TestServer(app)) as client:
        slow = [asyncio.create_task(client.post("/", data=body)) for _ in range(2)]
        await asyncio.sleep(0.2)
        refused = await client.post("/", data=body)
        assert refused.status == 503 and refused.headers["Retry-After"] == "1"
        payload = await refused.json()
        assert payload["error"]["code"] == -32012 and payload["error"]["data"]["reason"] == "busy"
        release.set()
        for task in slow:
            resp = await task
            assert resp.status == 200 and (await resp.json())["result"] == {"ok": True}
        ok = await client.post("/", data=body)
        assert ok.status == 200


async def test_websocket_clients_beyond_the_limit_are_refused() -> None:
    import pytest
    from aiohttp import WSServerHandshakeError
    from aiohttp.test_utils import TestClient, TestServer

    from rpc.server import create_rpc_app

    class Api:
        async def node_status(self) -> dict:  # type: ignore[type-arg]
            return {}

    app = create_rpc_app(Api(), max_websockets=1)  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as client:
        first = await client.ws_connect("/ws")
        with pytest.raises(WSServerHandshakeError) as info:
            await client.ws_connect("/ws")
        assert info.value.status == 503
        await first.close()
