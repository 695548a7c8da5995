"""Subscriptions through the real /ws handler: ordering, errors, limits, a client that never reads."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp

from rpc import errors as E
from rpc.subscriptions import QUEUE_FULL_REASON, REASON_TOO_MANY, REASON_WS_ONLY, SubscriptionHub
from tests.rpc import rawnet
from tests.rpc.fakes import FakeNode, serve
from tests.rpc.subs_fakes import FakeFeed, aid_tx, pumping


def request(method: str, id: int, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params, "id": id}


async def test_http_post_is_told_subscriptions_need_the_websocket() -> None:
    hub = SubscriptionHub(FakeFeed())
    async with pumping(hub), serve(FakeNode(), subscriptions=hub) as client:
        for method, params in (("subscribe", {"topic": "blocks"}), ("unsubscribe", ["0x01"])):
            resp = await client.post(
                "/", json={"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
            )
            err = (await resp.json())["error"]
            assert err["code"] == E.METHOD_NOT_FOUND and err["data"]["reason"] == REASON_WS_ONLY
            assert "/ws" in err["message"] and err["data"]["method"] == method


async def test_subscribe_reply_comes_before_its_first_notification() -> None:
    feed = FakeFeed()
    hub = SubscriptionHub(feed)
    tx = aid_tx(0)
    feed.commit(hub, feed.make_block([tx]))
    async with pumping(hub), serve(FakeNode(), subscriptions=hub) as client:
        ws = await client.ws_connect("/ws")
        await ws.send_json(request("subscribe", 1, topic="tx", filter={"hash": tx.hash}))
        reply = await ws.receive_json(timeout=5)
        assert reply["id"] == 1
        sub = reply["result"]
        assert sub.startswith("0x") and len(sub) == 18
        note = await ws.receive_json(timeout=5)
        assert note["method"] == "subscription" and "id" not in note
        assert note["params"]["subscription"] == sub
        assert note["params"]["result"]["status"] == "committed"
        # blocks, live, through the pump task
        await ws.send_json(request("subscribe", 2, topic="blocks"))
        blocks = (await ws.receive_json(timeout=5))["result"]
        feed.commit(hub)
        feed.commit(hub)
        got = [await ws.receive_json(timeout=5) for _ in range(2)]
        assert [g["params"]["subscription"] for g in got] == [blocks, blocks]
        assert [g["params"]["result"]["height"] for g in got] == [2, 3]
        await ws.send_json(request("unsubscribe", 3, subscription=blocks))
        assert (await ws.receive_json(timeout=5))["result"] is True
        feed.commit(hub)
        await ws.send_json(request("node_status", 4))
        assert (await ws.receive_json(timeout=5))["id"] == 4  # no block notification came first
        await ws.close()
    assert hub.counts() == {"cursor": 0, "tx": 0, "sync": 0}


async def test_a_batch_past_the_limit_gets_errors_for_the_extra_subscriptions() -> None:
    hub = SubscriptionHub(FakeFeed(), max_per_socket=3)
    async with pumping(hub), serve(FakeNode(), subscriptions=hub) as client:
        ws = await client.ws_connect("/ws")
        await ws.send_json([request("subscribe", i, topic="blocks") for i in range(5)])
        answers = await ws.receive_json(timeout=5)
        assert ["result" in a for a in answers] == [True, True, True, False, False]
        err = answers[3]["error"]
        assert err["code"] == E.INVALID_PARAMS and err["data"]["reason"] == REASON_TOO_MANY
        await ws.send_json(request("unsubscribe", 7, subscription="not-an-id-of-mine"))
        assert (await ws.receive_json(timeout=5))["result"] is False
        await ws.send_json(request("unsubscribe", 8, subscription="x" * 65))
        err = (await ws.receive_json(timeout=5))["error"]
        assert err["code"] == E.INVALID_PARAMS and err["data"]["param"] == "subscription"
        await ws.send_json(request("subscribe", 9, topic="nope"))
        err = (await ws.receive_json(timeout=5))["error"]
        assert err["code"] == E.INVALID_PARAMS and err["data"]["reason"] == "unknown_topic"
        await ws.close()
        # the limit is per connection
        ws2 = await client.ws_connect("/ws")
        await ws2.send_json(request("subscribe", 1, topic="blocks"))
        assert "result" in await ws2.receive_json(timeout=5)
        await ws2.close()


async def test_a_client_that_never_reads_is_dropped_and_others_carry_on() -> None:
    feed = FakeFeed()
    hub = SubscriptionHub(feed, queue_bytes=64 * 1024)
    async with pumping(hub), serve(FakeNode(), subscriptions=hub, send_timeout_ms=60_000) as client:
        sock = await asyncio.to_thread(rawnet.ws_connect, str(client.make_url("/")))
        reader = await client.ws_connect("/ws")
        try:
            await asyncio.to_thread(rawnet.ws_send, sock, request("subscribe", 1, topic="blocks"))
            await reader.send_json(request("subscribe", 1, topic="blocks"))
            sub = (await reader.receive_json(timeout=5))["result"]
            started = time.monotonic()
            heights = []
            while hub.stats.dropped_clients == 0:
                assert time.monotonic() - started < 20, "the client was never dropped"
                feed.commit(hub)
                msg = await reader.receive_json(timeout=5)
                assert msg["params"]["subscription"] == sub
                heights.append(msg["params"]["result"]["height"])
            # the dropped client's connection ends (cut off after the grace period)
            frames = await asyncio.to_thread(lambda: list(rawnet.ws_frames(sock)))
            assert hub.counts()["cursor"] == 1
            # its notifications before the drop had no gap; then maybe the notice and close
            seen = []
            for opcode, payload in frames:
                if opcode == rawnet.OP_TEXT:
                    body = json.loads(payload)
                    if "result" in body and "id" in body:
                        continue  # the subscribe reply
                    result = body["params"]["result"]
                    if "error" in result:
                        assert result == {"error": "dropped", "reason": QUEUE_FULL_REASON}
                    else:
                        seen.append(result["height"])
                elif opcode == rawnet.OP_CLOSE:
                    assert rawnet.close_reason(payload)[0] == 1008
            assert seen == list(range(1, len(seen) + 1))
            # the reading client and the "chain" carry on
            for _ in range(3):
                feed.commit(hub)
                msg = await reader.receive_json(timeout=5)
                heights.append(msg["params"]["result"]["height"])
            assert heights == list(range(1, len(heights) + 1))
        finally:
            sock.close()
            await reader.close()


async def test_closing_the_socket_frees_its_subscriptions() -> None:
    hub = SubscriptionHub(FakeFeed())
    async with pumping(hub), serve(FakeNode(), subscriptions=hub) as client:
        ws = await client.ws_connect("/ws")
        await ws.send_json(
            [request("subscribe", 1, topic="blocks"), request("subscribe", 2, topic="sync")]
        )
        assert len(await ws.receive_json(timeout=5)) == 2
        await ws.close()
        for _ in range(50):
            if hub.counts() == {"cursor": 0, "tx": 0, "sync": 0}:
                break
            await asyncio.sleep(0.05)
        assert hub.counts() == {"cursor": 0, "tx": 0, "sync": 0}


async def test_without_a_hub_websocket_subscribe_is_refused() -> None:
    async with serve(FakeNode()) as client:
        ws = await client.ws_connect("/ws")
        await ws.send_json(request("subscribe", 1, topic="blocks"))
        err = (await ws.receive_json(timeout=5))["error"]
        assert err["data"]["reason"] == REASON_WS_ONLY
        await ws.close()


async def test_a_client_that_reads_is_never_dropped() -> None:
    """300 blocks committed back to back while the client reads: all arrive, in order."""
    feed = FakeFeed()
    hub = SubscriptionHub(feed, queue_bytes=64 * 1024)
    async with pumping(hub), serve(FakeNode(), subscriptions=hub) as client:
        ws = await client.ws_connect("/ws")
        await ws.send_json(request("subscribe", 1, topic="blocks"))
        await ws.receive_json(timeout=5)

        async def read() -> list[int]:
            got: list[int] = []
            while len(got) < 300:
                msg = await ws.receive(timeout=5)
                assert msg.type == aiohttp.WSMsgType.TEXT
                got.append(json.loads(msg.data)["params"]["result"]["height"])
            return got

        reader = asyncio.create_task(read())
        for _ in range(300):
            feed.commit(hub)
            await asyncio.sleep(0.001)
        assert await reader == list(range(1, 301))
        assert hub.stats.dropped_clients == 0
        # every live notification's commit-to-socket time is in the histogram
        assert sum(hub.stats.notify_delay_ms) == 300
        assert sum(hub.stats.as_dict()["notify_delay_ms"].values()) == 300
        assert 0 < sum(hub.stats.as_dict()["wake_delay_ms"].values()) <= 300
        await ws.close()
