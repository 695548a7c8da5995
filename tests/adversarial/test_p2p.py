"""Attacks on the validator transport (issue 7 findings 5, 6 (p2p half) and 7), on real nodes.

The outsider dials from other loopback addresses (127.0.0.2 and up): on a real network it is
another host, and the listener's per-address slots only make sense if the outsider is not on the
validators' own address. The Byzantine validator is the test process holding a stopped node's
key, connected through the real handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from urllib.parse import urlsplit

import aiohttp
import pytest

from chain import limits
from chain.crypto import KeyPair
from chain.keyfile import load_key
from node import handshake as hs
from tests.adversarial.probe import (
    MemoryWatch,
    assert_commits,
    assert_healthy,
    assert_responsive,
    node_rss_mb,
)
from tests.integration.harness import LocalCluster, sign_batch, submit_all, wait_committed

pytestmark = pytest.mark.integration

RECONNECT_PAUSE_S = 0.5  # the outsider re-opens a closed connection after this
SILENT_ADDRESSES = [f"127.0.0.{i}" for i in range(2, 10)]  # 8 hosts
SILENT_PER_ADDRESS = 9  # 72 per listener: more than the 64 slots, more than 8 per address
BIG_ADDRESSES = [f"127.0.0.{i}" for i in range(20, 24)]  # 4 hosts
BIG_PER_ADDRESS = 6  # 24 per listener, each announcing an 8 MiB frame before authenticating
BIG_FRAME_BYTES = 8 * 1024 * 1024
TCP_ADDRESSES = [f"127.0.0.{i}" for i in range(40, 44)]  # 4 hosts
TCP_PER_ADDRESS = 50  # 200 per listener that connect and never send a request
ATTACK_GROWTH_MB = 100  # RSS above each node's baseline allowed during an outsider attack
BYZANTINE_GROWTH_MB = 150  # ... during a Byzantine validator's flood (bounded queues: ~50 MiB)
SETTLED_GROWTH_MB = 60  # ... some seconds after an attack ended


def p2p_address(cluster: LocalCluster, i: int) -> tuple[str, int]:
    parts = urlsplit(str(cluster.manifest["nodes"][i]["p2p_url"]))
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def p2p_url(cluster: LocalCluster, i: int) -> str:
    return str(cluster.manifest["nodes"][i]["p2p_url"])


async def open_upgraded(
    host: str, port: int, local: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """A raw WebSocket upgrade from ``local``; None if the listener refused it (e.g. HTTP 503)."""
    reader, writer = await asyncio.open_connection(host, port, local_addr=(local, 0))
    writer.write(
        f"GET /p2p HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await writer.drain()
    status = await reader.readline()
    if b" 101 " not in status:
        writer.close()
        return None
    return reader, writer


class Outsider:
    """Holds silent pre-auth connections, half-sent big frames and sockets that never send a
    request on listeners, re-opening whatever a listener closes, until stopped."""

    def __init__(self, targets: Sequence[tuple[str, int]]) -> None:
        self.targets = targets
        self.upgraded = 0
        self.refused = 0
        self.sockets = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def _tcp(self, host: str, port: int, local: str) -> None:
        reader, writer = await asyncio.open_connection(host, port, local_addr=(local, 0))
        self.sockets += 1
        try:
            await reader.read()  # silent until the listener closes it
        finally:
            writer.close()

    async def _connection(self, host: str, port: int, local: str, big: bool) -> None:
        streams = await open_upgraded(host, port, local)
        if streams is None:
            self.refused += 1
            return
        reader, writer = streams
        self.upgraded += 1
        try:
            if big:  # announce a frame of BIG_FRAME_BYTES (masked, zero key), send all but 1 byte
                header = bytes([0x82, 0x80 | 127]) + BIG_FRAME_BYTES.to_bytes(8, "big") + bytes(4)
                writer.write(header)
                chunk = bytes(64 * 1024)
                for _ in range(BIG_FRAME_BYTES // len(chunk) - 1):
                    writer.write(chunk)
                    await writer.drain()
                writer.write(chunk[:-1])
                await writer.drain()
            while await reader.read(65536):  # silent from here: wait for the listener to close
                pass
        finally:
            writer.close()

    async def _hold(self, host: str, port: int, local: str, kind: str) -> None:
        while True:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                if kind == "tcp":
                    await self._tcp(host, port, local)
                else:
                    await self._connection(host, port, local, kind == "big")
            await asyncio.sleep(RECONNECT_PAUSE_S)

    def start(self) -> None:
        for host, port in self.targets:
            for kind, addresses, per_address in (
                ("silent", SILENT_ADDRESSES, SILENT_PER_ADDRESS),
                ("big", BIG_ADDRESSES, BIG_PER_ADDRESS),
                ("tcp", TCP_ADDRESSES, TCP_PER_ADDRESS),
            ):
                for local in addresses:
                    for _ in range(per_address):
                        hold = self._hold(host, port, local, kind)
                        self._tasks.append(asyncio.create_task(hold))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def sampling(watch: MemoryWatch) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(watch.sample_every(0.25, stop))
    try:
        yield
    finally:
        stop.set()
        await task


def assert_growth_under(watch: MemoryWatch, growth_mb: float) -> None:
    over = {
        i: (round(watch.baseline[i]), round(peak))
        for i, peak in watch.peak.items()
        if peak > watch.baseline[i] + growth_mb
    }
    assert not over, f"RSS grew more than {growth_mb} MiB (baseline, peak): {over}"


async def test_validators_get_back_in_while_an_outsider_holds_every_listener(
    cluster: LocalCluster,
) -> None:
    payer = cluster.accounts[0]
    watch = MemoryWatch.start(cluster)
    outsider = Outsider([p2p_address(cluster, i) for i in range(cluster.n)])
    async with sampling(watch):
        outsider.start()
        try:
            await asyncio.sleep(3)  # every listener's pending slots are now the outsider's
            for i in (2, 3):  # two validators drop: no quorum until they get back in
                cluster.kill(i)
            for i in (2, 3):
                await cluster.restart(i)
            await cluster.wait_connected(range(cluster.n), timeout=30)
            await assert_healthy(cluster, payer)
            stats = [(await cluster.status(i))["stats"]["peers"] for i in range(cluster.n)]
        finally:
            await outsider.stop()
    print(f"baseline {watch.baseline} peak {watch.peak} outsider {outsider.upgraded}")
    print({k: [s[k] for s in stats] for k in ("busy_evictions", "idle_closed", "accepts")})
    assert_growth_under(watch, ATTACK_GROWTH_MB)
    assert outsider.upgraded > 4 * 64, "the outsider never held the listeners' slots"
    assert outsider.sockets > 4 * 200
    assert all(s["idle_closed"] > 0 for s in stats[:2]), stats  # 2, 3 restarted: fewer
    assert all(s["busy_evictions"] > 0 for s in stats), stats
    await asyncio.sleep(3)
    for i in range(cluster.n):
        assert node_rss_mb(cluster, i) < watch.baseline[i] + SETTLED_GROWTH_MB


async def authenticate_as(
    session: aiohttp.ClientSession, url: str, key: KeyPair, chain_id: str, listener_id: str
) -> aiohttp.ClientWebSocketResponse:
    """Dial ``url`` through the real handshake as the validator holding ``key``."""
    ws = await session.ws_connect(url, max_msg_size=0)
    hello = hs.parse_hello((await ws.receive()).data)
    hs.check_hello(hello, chain_id=chain_id, expected_id=listener_id)
    auth = hs.make_auth(key, chain_id, hello)
    await ws.send_bytes(hs.encode(auth))
    welcome = hs.parse_welcome((await ws.receive()).data)
    hs.check_welcome(welcome, chain_id=chain_id, auth=auth, expected_id=listener_id)
    return ws


async def test_a_byzantine_validator_cannot_exhaust_a_peer_with_big_messages_and_sync_requests(
    cluster: LocalCluster,
) -> None:
    payer, filler = cluster.accounts[0], cluster.accounts[1]
    hashes = await submit_all(
        cluster.url(0),
        sign_batch(filler, cluster.chain_id, 0, 2_000, payer.public_hex),
        batch=100,
        pause=0.05,
    )
    await wait_committed(cluster, 0, hashes[-1:], timeout=60)
    height = (await cluster.status(0))["height"]
    assert height >= 5, height
    cluster.kill(3)  # its key is now ours
    key = load_key(cluster.config_path(3).parent / "node.key")
    victim, victim_id = p2p_url(cluster, 0), cluster.node_id(0)
    honest = [0, 1, 2]
    watch = MemoryWatch.start(cluster)
    async with sampling(watch), aiohttp.ClientSession() as session:
        ws = await authenticate_as(session, victim, key, cluster.chain_id, victim_id)
        junk = b'{"k":"junk","pad":"' + b"x" * (limits.DEFAULT_PEER_MAX_MESSAGE_BYTES - 64) + b'"}'
        for _ in range(10):  # ten messages just under the limit
            await ws.send_bytes(junk)
        for _ in range(3):  # and over it: refused from the frame header, connection closed
            with contextlib.suppress(ConnectionError, aiohttp.ClientError):
                await ws.send_bytes(junk + b" " * 128)
                await ws.receive()
            await ws.close()
            ws = await authenticate_as(session, victim, key, cluster.chain_id, victim_id)
        for i in range(1_000):  # tiny requests for as many blocks as allowed
            await ws.send_bytes(b'{"count":256,"from":1,"id":%d,"k":"sync_req"}' % i)
        started = time.monotonic()
        while time.monotonic() - started < 5:  # the flood is being handled
            await assert_responsive(cluster, honest)
            await asyncio.sleep(0.5)
        await assert_commits(cluster, payer, honest)
        stats = (await cluster.status(0))["stats"]
        await ws.close()
    print(f"baseline {watch.baseline} peak {watch.peak} sync {stats['sync']}")
    assert_growth_under(watch, BYZANTINE_GROWTH_MB)
    assert stats["peers"]["oversized"] >= 3
    assert stats["sync"]["serve_busy_dropped"] > 0, stats["sync"]
    await cluster.restart(3)
    await cluster.wait_connected(range(cluster.n), timeout=30)
    await assert_healthy(cluster, payer)
    for i in honest:
        assert node_rss_mb(cluster, i) < watch.baseline[i] + BYZANTINE_GROWTH_MB


def log_lines(cluster: LocalCluster, i: int) -> int:
    path = cluster.config_path(i).parent / "node.log"
    return len(path.read_text(errors="replace").splitlines())


FLOOD_S = 6.0
MAX_NEW_LOG_LINES = 40  # per node over the flood, whatever its length


async def test_a_handshake_flood_adds_a_bounded_number_of_log_lines(cluster: LocalCluster) -> None:
    before = [log_lines(cluster, i) for i in range(cluster.n)]
    stranger = KeyPair.generate()
    refused = 0

    async def flood(url: str, local: str) -> None:
        nonlocal refused
        connector = aiohttp.TCPConnector(local_addr=(local, 0), limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            deadline = time.monotonic() + FLOOD_S
            while time.monotonic() < deadline:
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.ws_connect(url) as ws:
                        hello = hs.parse_hello((await ws.receive()).data)
                        if refused % 2:  # not a validator
                            await ws.send_bytes(hs.encode(hs.make_auth(stranger, "x", hello)))
                        else:  # not even JSON
                            await ws.send_bytes(b"\xff garbage")
                        await ws.receive()
                        refused += 1

    await asyncio.gather(
        *(
            flood(p2p_url(cluster, i), f"127.0.0.{30 + k}")
            for i in range(cluster.n)
            for k in range(2)
        )
    )
    after = [log_lines(cluster, i) for i in range(cluster.n)]
    rejected = [
        (await cluster.status(i))["stats"]["peers"]["rejected_handshakes"] for i in range(cluster.n)
    ]
    assert min(rejected) > 4 * MAX_NEW_LOG_LINES, rejected  # the flood was real
    grown = [a - b for a, b in zip(after, before, strict=True)]
    print(f"refused handshakes {rejected}, new log lines {grown}")
    assert max(grown) <= MAX_NEW_LOG_LINES, grown
    await assert_healthy(cluster, cluster.accounts[0])
