"""The SDK over WebSocket: calls, subscriptions routed by id, resume without gap or duplicate.

A scripted node (``Hub``) speaks WAVE3 interface A (subscribe / unsubscribe, notifications with
method ``subscription``, ``from_height`` replay, a ``dropped`` notice then close 1008) so the
client's side is tested on its own; tests/integration/test_client_docs.py runs against the real
node once it serves subscriptions.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.test_utils import TestServer

from rpc.client import Client, Signer, SubscriptionDropped
from tests.rpc.fakes import serve
from tests.rpc.test_client_sdk import SdkNode


class Hub:
    """A node's WebSocket side, scripted: what it stores, who is subscribed, what was asked."""

    def __init__(self) -> None:
        self.stored: dict[str, list[dict[str, Any]]] = {"blocks": [], "events": []}
        self.subs: dict[str, tuple[web.WebSocketResponse, str, dict[str, Any]]] = {}
        self.asked: list[tuple[str, Any]] = []
        self.sockets: set[web.WebSocketResponse] = set()
        self.ids = itertools.count(1)
        self.tx_receipt: dict[str, Any] | None = None
        self.notify_before_reply = False
        self.tasks: set[asyncio.Future[None]] = set()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.add(ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._answer(ws, json.loads(msg.data))
        finally:
            self.sockets.discard(ws)
            for sub, (owner, _, _) in list(self.subs.items()):
                if owner is ws:
                    del self.subs[sub]
        return ws

    async def _answer(self, ws: web.WebSocketResponse, req: dict[str, Any]) -> None:
        method, params = req["method"], req.get("params") or {}
        self.asked.append((method, params))
        if method == "subscribe":
            sub = f"0x{next(self.ids):016x}"
            topic = params["topic"]
            self.subs[sub] = (ws, topic, params.get("filter") or {})
            first = self._first(topic, params)
            if self.notify_before_reply and first:
                await self._send(ws, sub, first.pop(0))
            await ws.send_json({"jsonrpc": "2.0", "id": req["id"], "result": sub})
            for item in first:
                await self._send(ws, sub, item)
        elif method == "unsubscribe":
            known = self.subs.pop(params["subscription"], None) is not None
            await ws.send_json({"jsonrpc": "2.0", "id": req["id"], "result": known})
        else:
            await ws.send_json({"jsonrpc": "2.0", "id": req["id"], "result": {"chain_id": "t"}})

    def _first(self, topic: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        if topic == "tx":
            first = [{"hash": params["filter"]["hash"], "status": "pending"}]
            asyncio.get_running_loop().call_later(0.2, self._commit_later, params["filter"])
            return first
        start = params.get("from_height")
        if start is None:
            return []
        return [item for item in self.stored.get(topic, []) if item["height"] >= start]

    def _commit_later(self, filter: dict[str, Any]) -> None:
        done = {"hash": filter["hash"], "status": "committed", "height": 9}
        done["receipt"] = self.tx_receipt
        self.tasks.add(asyncio.ensure_future(self.publish("tx", done, store=False)))

    async def _send(self, ws: web.WebSocketResponse, sub: str, item: dict[str, Any]) -> None:
        await ws.send_json(
            {
                "jsonrpc": "2.0",
                "method": "subscription",
                "params": {"subscription": sub, "result": item},
            }
        )

    async def publish(self, topic: str, item: dict[str, Any], *, store: bool = True) -> None:
        if store:
            self.stored[topic].append(item)
        for sub, (ws, t, _) in list(self.subs.items()):
            if t == topic and not ws.closed:
                await self._send(ws, sub, item)

    async def drop_all(self) -> None:
        """What the node does to a slow client: a ``dropped`` notice, then close 1008."""
        for sub, (ws, _, _) in list(self.subs.items()):
            await self._send(ws, sub, {"error": "dropped", "reason": "send queue full"})
        for ws in list(self.sockets):
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"send queue full")

    def subscribe_params(self) -> list[dict[str, Any]]:
        return [p for m, p in self.asked if m == "subscribe"]


async def hub_server(hub: Hub) -> TestServer:
    app = web.Application()
    app.router.add_get("/ws", hub.handle)
    server = TestServer(app)
    await server.start_server()
    return server


def block(height: int) -> dict[str, Any]:
    return {"height": height, "hash": f"{height:064x}", "tx_count": 0}


def event(height: int, tx_index: int, name: str) -> dict[str, Any]:
    return {"height": height, "tx_index": tx_index, "source": "aid", "event": {"name": name}}


async def test_blocks_resume_after_a_drop_without_gap_or_duplicate() -> None:
    hub = Hub()
    server = await hub_server(hub)
    try:
        async with Client(str(server.make_url("/ws"))) as client:
            seen: list[int] = []
            async with client.blocks(from_height=1) as sub:
                await hub.publish("blocks", block(1))
                await hub.publish("blocks", block(2))
                async for b in sub:
                    seen.append(b["height"])
                    if b["height"] == 2:
                        await hub.drop_all()
                        hub.stored["blocks"].append(block(3))  # committed while we were away
                    if b["height"] == 3:
                        await hub.publish("blocks", block(4))
                    if b["height"] == 4:
                        break
            assert seen == [1, 2, 3, 4]
            assert [p.get("from_height") for p in hub.subscribe_params()] == [1, 3]
            assert sub.resumes == 0
        assert ("unsubscribe", {"subscription": sub.id}) in hub.asked
    finally:
        await server.close()


async def test_events_resume_inside_a_height_skipping_what_was_seen() -> None:
    hub = Hub()
    server = await hub_server(hub)
    try:
        async with Client(str(server.make_url("/ws"))) as client:
            got: list[str] = []
            async with client.events(kind="batch") as sub:
                await hub.publish("events", event(5, 0, "a"))
                async for e in sub:
                    got.append(e["event"]["name"])
                    if e["event"]["name"] == "a":
                        hub.stored["events"].append(event(5, 1, "b"))  # sent after the cut
                        await hub.drop_all()
                    if e["event"]["name"] == "b":
                        await hub.publish("events", event(6, 0, "c"))
                    if e["event"]["name"] == "c":
                        break
        assert got == ["a", "b", "c"]
        first, second = hub.subscribe_params()
        assert first == {"topic": "events", "filter": {"kind": "batch"}}
        assert second == {"topic": "events", "filter": {"kind": "batch"}, "from_height": 5}
    finally:
        await server.close()


async def test_a_notification_before_the_subscribe_answer_is_kept() -> None:
    hub = Hub()
    hub.notify_before_reply = True
    hub.stored["blocks"] = [block(1), block(2)]
    server = await hub_server(hub)
    try:
        async with Client(str(server.make_url("/ws"))) as client:
            sub = client.blocks(from_height=1)
            heights = []
            async for b in sub:
                heights.append(b["height"])
                if len(heights) == 2:
                    break
            assert heights == [1, 2]
            assert await sub.unsubscribe() is True
    finally:
        await server.close()


async def test_a_subscription_that_cannot_resume_says_so() -> None:
    hub = Hub()
    server = await hub_server(hub)
    async with Client(str(server.make_url("/ws")), timeout=2) as client:
        sub = await client.subscribe("sync", max_resumes=2).start()
        await hub.drop_all()
        await server.close()
        try:
            async for _ in sub:
                raise AssertionError("no notification was sent")
        except SubscriptionDropped as exc:
            assert "Connect" in exc.reason or "connect" in exc.reason
        else:
            raise AssertionError("SubscriptionDropped expected")


async def test_wait_for_receipt_over_websocket_uses_the_tx_subscription() -> None:
    hub = Hub()
    hub.tx_receipt = {"ok": True, "error": None, "events": []}
    server = await hub_server(hub)
    try:
        async with Client(str(server.make_url("/ws"))) as client:
            done = await client.wait_for_receipt("ab" * 32, timeout=5)
        assert (done.height, done.ok, done.index) == (9, True, None)
        assert [m for m, _ in hub.asked] == ["subscribe", "unsubscribe"]  # no tx_get polling
    finally:
        await server.close()


async def test_on_a_node_without_subscriptions_calls_go_over_ws_and_receipts_poll() -> None:
    node, signer = SdkNode(), Signer.generate()
    async with serve(node) as srv, Client(str(srv.make_url("/ws"))) as client:
        assert client.websocket_calls
        assert (await client.status())["chain_id"] == "test-chain"
        sent = await client.account(signer).transfer("cd" * 32, 3)
        asyncio.get_running_loop().call_later(
            0.3, node.commit, sent.hash, {"ok": True, "error": None, "events": []}
        )
        done = await sent.wait(timeout=5)
        assert done.height == 7
        ws = await client.websocket()
        assert not ws.closed
