"""WebSocket subscriptions on real node processes (issue 12 part 1).

Blocks on a live cluster, a transfer's status from unknown through pending to committed, ledger
events filtered by kind and area, a reconnect that resumes ``from_height`` with no gap and no
duplicate, the per-connection limit, and a client that never reads being dropped while a
normal client and the chain carry on.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from typing import Any

import aiohttp
import pytest

from chain.crypto import KeyPair
from chain.tx import make_transfer, sign_tx
from tests.integration.aid_genesis import COUNTY, OTHER_COUNTY, add_aid_genesis
from tests.integration.harness import LocalCluster, sign_batch, submit_all, wait_committed
from tests.rpc import rawnet

pytestmark = pytest.mark.integration


class Subscriber:
    """A JSON-RPC WebSocket client that keeps notifications per subscription."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/ws"
        self.notes: dict[str, deque[Any]] = defaultdict(deque)
        self._next_id = 0

    async def __aenter__(self) -> Subscriber:
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(self.url, max_msg_size=16 << 20)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()
        await self.http.close()

    async def _receive(self, timeout: float) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        return dict(json.loads(msg.data))

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """The whole response object (result or error); notifications meanwhile are kept."""
        self._next_id += 1
        await self.ws.send_json(
            {"jsonrpc": "2.0", "method": method, "params": params, "id": self._next_id}
        )
        while True:
            msg = await self._receive(10)
            if msg.get("id") == self._next_id:
                return msg
            self._keep(msg)

    async def subscribe(self, topic: str, **params: Any) -> str:
        reply = await self.call("subscribe", topic=topic, **params)
        assert "result" in reply, reply
        return str(reply["result"])

    def _keep(self, msg: dict[str, Any]) -> None:
        assert msg["method"] == "subscription", msg
        self.notes[msg["params"]["subscription"]].append(msg["params"]["result"])

    async def next(self, sub: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while not self.notes[sub]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no notification for {sub} in {timeout}s")
            self._keep(await self._receive(left))
        return self.notes[sub].popleft()


async def test_blocks_tx_events_limit_and_resume_on_a_live_cluster(new_cluster: Any) -> None:
    cluster: LocalCluster = new_cluster()
    setup = add_aid_genesis(cluster)
    await cluster.start_all()
    url = cluster.url(0)
    alice, bob = cluster.accounts[6], cluster.accounts[7]
    async with Subscriber(url) as client:
        blocks = await client.subscribe("blocks")
        county = await client.subscribe("events", filter={"kind": "proposal", "area": "530102"})
        elsewhere = await client.subscribe("events", filter={"area": OTHER_COUNTY})
        households = await client.subscribe("events", filter={"kind": "household"})
        transfer = make_transfer(alice, cluster.chain_id, 0, bob.public_hex, 5)
        watch = await client.subscribe("tx", filter={"hash": transfer.hash})
        assert await client.next(watch) == {"hash": transfer.hash, "status": "unknown"}

        # a transfer: pending on admission, committed with its receipt, then nothing more
        await submit_all(url, [transfer])
        assert (await client.next(watch))["status"] == "pending"
        done = await client.next(watch)
        assert done["status"] == "committed" and done["receipt"]["ok"] is True
        assert (await client.call("unsubscribe", subscription=watch))["result"] is False

        # an aid action: its event reaches the kind/area filter, not the others
        propose = sign_tx(
            setup.admins["fin"],
            cluster.chain_id,
            0,
            "aid",
            {
                "action": "role.propose",
                "args": {
                    "account": KeyPair.generate().public_hex,
                    "role": "allocator",
                    "area": COUNTY,
                    "org": "fin",
                    "change": "grant",
                    "as_admin_of": "fin",
                },
            },
        )
        await submit_all(url, [propose])
        event = await client.next(county)
        assert event["source"] == "aid" and event["action"] == "role.propose"
        assert event["tx_hash"] == propose.hash and event["event"]["name"] == "role_proposed"
        committed = await wait_committed(cluster, 0, [propose.hash])
        assert event["height"] == committed[propose.hash]["height"]

        # blocks arrived one by one, each matching the chain
        seen = []
        while len(seen) < 2 or seen[-1]["height"] < event["height"]:
            seen.append(await client.next(blocks))
        heights = [b["height"] for b in seen]
        assert heights == list(range(heights[0], heights[0] + len(heights)))
        stored = await cluster.call(0, "block_get", height=heights[-1])
        assert seen[-1]["hash"] == stored["hash"] and seen[-1]["header"] == stored["header"]
        assert seen[-1]["certificate"]["count"] >= 3
        assert not client.notes[elsewhere] and not client.notes[households]

        # the per-connection limit: 16 by default (5 used, the tx one ended)
        for _ in range(16 - 4):
            await client.subscribe("sync")
        refused = await client.call("subscribe", topic="blocks")
        assert refused["error"]["data"]["reason"] == "too_many_subscriptions"
        last = seen[-1]["height"]

    # reconnect: resume from the next height; blocks committed meanwhile are replayed first
    key = cluster.accounts[8]
    for start in (0, 10, 20):  # three blocks at least: each batch commits before the next
        batch = sign_batch(key, cluster.chain_id, start, 10, bob.public_hex)
        await wait_committed(cluster, 0, await submit_all(url, batch))
    assert (await cluster.status(0))["height"] >= last + 3
    async with Subscriber(url) as client:
        resumed = await client.subscribe("blocks", from_height=last + 1)
        events = await client.subscribe("events", filter={"kind": "proposal"}, from_height=1)
        replayed = await client.next(events)
        assert replayed["tx_hash"] == propose.hash  # an event from before the reconnect
        more = sign_batch(key, cluster.chain_id, 30, 20, bob.public_hex)
        await submit_all(url, more)
        target = (await wait_committed(cluster, 0, [more[-1].hash]))[more[-1].hash]["height"]
        got = []
        while not got or got[-1]["height"] < target:
            got.append(await client.next(resumed))
        assert [b["height"] for b in got] == list(range(last + 1, target + 1))
        hashes = await cluster.block_hashes(0, target)
        assert [b["hash"] for b in got] == hashes[last + 1 : target + 1]


async def dropped_clients(cluster: LocalCluster) -> int:
    return int((await cluster.status(0))["stats"]["subscriptions"]["dropped_clients"])


# Each call emits ~600 KB of events: loopback send buffers soak up a few MB for a client that
# does not read, so the test makes the silent client's notifications big rather than many.
LOUD = """
def init():
    storage["calls"] = 0


def shout(n):
    storage["calls"] += 1
    for i in range(n):
        emit("loud", i=i, data="x" * 12000)
"""


async def test_a_client_that_never_reads_is_dropped_while_the_chain_carries_on(
    new_cluster: Any,
) -> None:
    cluster: LocalCluster = new_cluster()
    path = cluster.config_path(0)
    text = path.read_text()
    path.write_text(text.replace("[rpc]\n", "[rpc]\nsubscription_queue_bytes = 65536\n", 1))
    await cluster.start_all()
    url = cluster.url(0)
    owner, payer, to = cluster.accounts[2], cluster.accounts[0], cluster.accounts[1].public_hex
    deploy = sign_tx(owner, cluster.chain_id, 0, "deploy", {"source": LOUD, "gas": 200_000})
    receipt = (await wait_committed(cluster, 0, await submit_all(url, [deploy])))[deploy.hash]
    contract = receipt["receipt"]["address"]
    sock = await asyncio.to_thread(rawnet.ws_connect, url)
    try:
        for i in range(16):  # every loud call costs this client 16 x 600 KB
            await asyncio.to_thread(
                rawnet.ws_send,
                sock,
                {"jsonrpc": "2.0", "method": "subscribe", "params": {"topic": "events"}, "id": i},
            )
        async with Subscriber(url) as client:
            blocks = await client.subscribe("blocks")
            nonce, seen = 1, []
            started = time.monotonic()
            while (await dropped_clients(cluster)) == 0:
                assert time.monotonic() - started < 60, "the silent client was never dropped"
                payload = {"contract": contract, "method": "shout", "args": {"n": 50}}
                payload["gas"] = 1_000_000
                loud = sign_tx(owner, cluster.chain_id, nonce, "call", payload)
                nonce += 1
                await submit_all(url, [loud])
                while (
                    client.notes[blocks]
                    or not seen
                    or seen[-1] < (await cluster.status(0))["height"]
                ):
                    seen.append((await client.next(blocks))["height"])
            # its connection is cut off (what it finds when it finally reads, then EOF)
            await asyncio.wait_for(asyncio.to_thread(rawnet.drained, sock), 30)
            # the normal client missed nothing, and the node still answers and commits
            await submit_all(url, sign_batch(payer, cluster.chain_id, 0, 5, to))
            height = (await cluster.status(0))["height"]
            while seen[-1] < height:
                seen.append((await client.next(blocks))["height"])
            assert seen == list(range(seen[0], seen[-1] + 1))
            status = await cluster.status(0)
            assert status["peers_connected"] == 3
            assert status["stats"]["subscriptions"]["dropped_clients"] == 1
            await cluster.wait_height(range(cluster.n), height)
    finally:
        sock.close()


async def test_a_subscribe_unsubscribe_flood_leaves_nothing_behind(cluster: LocalCluster) -> None:
    url = cluster.url(0)
    async with Subscriber(url) as client:
        for round_ in range(150):
            await client.ws.send_json(
                [
                    {"jsonrpc": "2.0", "method": "subscribe", "params": {"topic": t}, "id": i}
                    for i, t in enumerate(["blocks", "events", "sync"] * 6)
                ]
            )
            answers = await client.ws.receive_json(timeout=30)
            ids = [a["result"] for a in answers if "result" in a]
            refused = [a["error"]["data"]["reason"] for a in answers if "error" in a]
            assert len(ids) == 16 and refused == ["too_many_subscriptions"] * 2, round_
            await client.ws.send_json(
                [
                    {"jsonrpc": "2.0", "method": "unsubscribe", "params": [sub], "id": i}
                    for i, sub in enumerate(ids)
                ]
            )
            while True:  # sync notifications may come first; the batch answer is a list
                msg = await client.ws.receive_json(timeout=30)
                if isinstance(msg, list):
                    assert [a["result"] for a in msg] == [True] * 16
                    break
        subs = (await cluster.status(0))["stats"]["subscriptions"]
        assert subs["active"] == {"cursor": 0, "tx": 0, "sync": 0}
        assert subs["subscriptions"] >= 150 * 16
    key, to = cluster.accounts[0], cluster.accounts[1].public_hex
    hashes = await submit_all(url, sign_batch(key, cluster.chain_id, 0, 5, to))
    await wait_committed(cluster, 0, hashes)
