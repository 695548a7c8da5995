"""Peer transport throughput between two PeerNetworks on loopback (a benchmark, not a test).

    .venv/bin/python tests/bench/bench_peers.py [--seconds S]

Prints messages/s and MB/s one way (A -> B, counted when B's handler has run) for message shapes
the daemon sends: a consensus vote, a gossip chunk of transactions, a pre-prepare with a full
block. Then two micro-measurements behind design choices in node/peers.py: canonical() (checks
for floats) versus the unchecked encoder, and text versus binary WebSocket frames.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform
import socket
import time
from typing import Any

import aiohttp
from aiohttp import web

from chain import limits
from chain.crypto import KeyPair
from chain.encoding import canonical, canonical_unchecked
from node.peers import PeerNetwork


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fake_tx(i: int) -> dict[str, Any]:
    return {
        "chain_id": "aid-bench",
        "sender": "ab" * 32,
        "nonce": i,
        "type": "transfer",
        "payload": {"to": "cd" * 32, "amount": 250 + i, "memo": "relief payment"},
        "signature": "ef" * 64,
    }


SHAPES: dict[str, dict[str, Any]] = {
    "vote": {
        "k": "c",
        "m": {
            "type": "commit",
            "view": 0,
            "seq": 7,
            "digest": "12" * 32,
            "sender": "ab" * 32,
            "signature": "ef" * 64,
        },
    },
    "gossip-64tx": {"k": "txs", "txs": [fake_tx(i) for i in range(64)]},
    "block-1000tx": {
        "k": "c",
        "m": {"type": "preprepare", "view": 0, "seq": 7, "txs": [fake_tx(i) for i in range(1000)]},
    },
}


async def one_way(shape: str, message: dict[str, Any], seconds: float) -> None:
    a_key, b_key = KeyPair.generate(), KeyPair.generate()
    a_port, b_port = free_port(), free_port()
    peers = {
        a_key.public_hex: f"ws://127.0.0.1:{a_port}/p2p",
        b_key.public_hex: f"ws://127.0.0.1:{b_port}/p2p",
    }
    received = 0

    async def count(peer_id: str, msg: dict[str, Any]) -> None:
        nonlocal received
        received += 1

    async def ignore(peer_id: str, msg: dict[str, Any]) -> None:
        return None

    a = PeerNetwork(
        key=a_key, chain_id="aid-bench", host="127.0.0.1", port=a_port, peers=peers, handler=ignore
    )
    b = PeerNetwork(
        key=b_key, chain_id="aid-bench", host="127.0.0.1", port=b_port, peers=peers, handler=count
    )
    await a.start()
    await b.start()
    try:
        while a.connected() != [b_key.public_hex]:
            await asyncio.sleep(0.01)
        size = len(canonical(message))
        high = 256 if size > 100_000 else 2_048  # keep the queue fed, never full
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        while loop.time() - start < seconds:
            while (
                a.queued(b_key.public_hex) < high
                and a.queued_bytes(b_key.public_hex) + size <= limits.DEFAULT_PEER_SEND_QUEUE_BYTES
            ):
                if not a.send(b_key.public_hex, message):
                    raise RuntimeError("queue full: the benchmark should never hit it")
                sent += 1
            await asyncio.sleep(0)
        while received < sent:
            await asyncio.sleep(0.001)
        elapsed = loop.time() - start
        print(
            f"  {shape:<13} {size:>9,} B  {sent / elapsed:>10,.0f} msg/s  "
            f"{sent * size / elapsed / 1e6:>8.1f} MB/s  ({sent} in {elapsed:.2f} s)"
        )
        assert a.stats["sent"] == sent and b.stats["received"] == sent
    finally:
        await a.stop()
        await b.stop()


def encoders() -> None:
    block = SHAPES["block-1000tx"]
    for name, fn in (
        ("canonical (float check)", canonical),
        ("canonical_unchecked", canonical_unchecked),
    ):
        n = 50
        start = time.perf_counter()
        for _ in range(n):
            fn(block)
        ms = (time.perf_counter() - start) / n * 1000
        print(f"  {name:<24} {ms:6.2f} ms per 1000-tx block")


async def frames(seconds: float) -> None:
    """Raw aiohttp: the same JSON sent as text versus binary frames, received and parsed."""
    data = canonical(SHAPES["vote"])
    for kind in ("text", "binary"):
        got = 0
        done = asyncio.Event()

        async def accept(request: web.Request, done: asyncio.Event = done) -> web.WebSocketResponse:
            nonlocal got
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for _msg in ws:
                got += 1
            done.set()
            return ws

        app = web.Application()
        app.router.add_get("/", accept)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"ws://127.0.0.1:{port}/")
            text = data.decode()
            loop = asyncio.get_running_loop()
            start = loop.time()
            sent = 0
            while loop.time() - start < seconds:
                for _ in range(1000):
                    if kind == "text":
                        await ws.send_str(text)
                    else:
                        await ws.send_bytes(data)
                sent += 1000
                await asyncio.sleep(0)
            while got < sent:
                await asyncio.sleep(0.001)
            elapsed = loop.time() - start
            await ws.close()
        await done.wait()
        await runner.cleanup()
        print(f"  {kind:<7} frames  {sent / elapsed:>10,.0f} msg/s")


async def main(seconds: float) -> None:
    print(
        f"peer transport, one way A -> B on loopback ({platform.python_version()}, "
        f"{platform.machine()}, aiohttp {aiohttp.__version__})"
    )
    for shape, message in SHAPES.items():
        await one_way(shape, message, seconds)
    print("encoding a pre-prepare once (broadcast encodes once for all peers):")
    encoders()
    print("raw aiohttp WebSocket, vote-sized messages:")
    await frames(seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(args.seconds))
