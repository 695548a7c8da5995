"""PeerNetwork over real aiohttp WebSockets on 127.0.0.1 (OS-chosen ports, one event loop)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from chain.crypto import KeyPair
from chain.errors import ConfigError, EncodingError, TooLarge
from node import handshake as hs
from node import peers as peers_mod
from node.peers import (
    CLOSE_HANDSHAKE_REFUSED,
    CLOSE_MALFORMED,
    CLOSE_REPLACED,
    MAX_MALFORMED_IN_ROW,
    NOT_RPC_TEXT,
    STAT_KEYS,
    PeerNetwork,
    PeerNetworkError,
)

CHAIN = "aid-test"
FAST = {"reconnect_min_s": 0.02, "reconnect_max_s": 0.2, "handshake_timeout_s": 2.0}


def free_port() -> int:
    """A port the OS just handed out (bound to 0 then released) — never a fixed number."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def url(port: int) -> str:
    return f"ws://127.0.0.1:{port}/p2p"


async def wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


@dataclass
class Node:
    key: KeyPair
    port: int
    net: PeerNetwork
    got: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Cluster:
    peers: dict[str, str]
    nodes: list[Node]
    created: list[PeerNetwork]

    def spawn(self, key: KeyPair, port: int, **kwargs: Any) -> Node:
        """A (not yet started) PeerNetwork for ``key`` on ``port`` recording what it receives."""
        got: list[tuple[str, dict[str, Any]]] = []

        async def handler(peer_id: str, message: dict[str, Any]) -> None:
            got.append((peer_id, message))

        options = {**FAST, **kwargs}
        net = PeerNetwork(
            key=key,
            chain_id=options.pop("chain_id", CHAIN),
            host="127.0.0.1",
            port=port,
            peers=options.pop("peers", self.peers),
            handler=options.pop("handler", handler),
            **options,
        )
        self.created.append(net)
        return Node(key, port, net, got)


MakeCluster = Callable[..., Awaitable[Cluster]]


@pytest.fixture
async def make_cluster() -> AsyncIterator[MakeCluster]:
    clusters: list[Cluster] = []

    async def make(n: int, *, extra_keys: int = 0, start: bool = True, **kwargs: Any) -> Cluster:
        keys = [KeyPair.generate() for _ in range(n + extra_keys)]
        ports = [free_port() for _ in keys]
        cluster = Cluster({k.public_hex: url(p) for k, p in zip(keys, ports, strict=True)}, [], [])
        clusters.append(cluster)
        cluster.nodes = [cluster.spawn(keys[i], ports[i], **kwargs) for i in range(n)]
        if start:
            for node in cluster.nodes:
                await node.net.start()
        return cluster

    yield make
    for cluster in clusters:
        for net in cluster.created:
            await net.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def all_connected(nodes: list[Node]) -> None:
    def ready() -> bool:
        for node in nodes:
            others = sorted(o.key.public_hex for o in nodes if o is not node)
            if node.net.connected() != others or node.net.connected_inbound() != others:
                return False
        return True

    await wait_until(ready)


async def raw_handshake(
    session: aiohttp.ClientSession,
    node: Node,
    key: KeyPair,
    *,
    chain_id: str = CHAIN,
    claim: str | None = None,
) -> tuple[aiohttp.ClientWebSocketResponse, aiohttp.WSMessage]:
    """Dial ``node`` by hand as ``key`` (claiming id ``claim``); returns ws + the answer."""
    ws = await session.ws_connect(url(node.net.port), max_msg_size=0)
    hello = hs.parse_hello((await ws.receive()).data)
    auth = hs.make_auth(key, chain_id, hello)
    if claim is not None:
        auth = hs.Auth(auth.chain_id, claim, auth.challenge, auth.signature)
    await ws.send_bytes(hs.encode(auth))
    return ws, await ws.receive()


async def authenticated(
    session: aiohttp.ClientSession, node: Node, key: KeyPair
) -> aiohttp.ClientWebSocketResponse:
    ws, answer = await raw_handshake(session, node, key)
    welcome = hs.parse_welcome(answer.data)
    assert welcome.node_id == node.key.public_hex
    await wait_until(lambda: key.public_hex in node.net.connected_inbound())
    return ws


# --- the happy path ------------------------------------------------------------------------------


async def test_four_nodes_connect_and_exchange_messages_both_ways(
    make_cluster: MakeCluster,
) -> None:
    cluster = await make_cluster(4)
    nodes = cluster.nodes
    await all_connected(nodes)
    for sender in nodes:
        for receiver in nodes:
            if receiver is not sender:
                for seq in range(20):
                    msg = {"from": sender.key.public_hex, "seq": seq, "text": "资金 ✓"}
                    assert sender.net.send(receiver.key.public_hex, msg)
    await wait_until(lambda: all(len(n.got) == 60 for n in nodes))
    for receiver in nodes:
        for sender in nodes:
            if sender is receiver:
                continue
            seen = [m for pid, m in receiver.got if pid == sender.key.public_hex]
            assert [m["seq"] for m in seen] == list(range(20))  # per-pair order kept
            assert all(m["from"] == sender.key.public_hex for m in seen)
            assert seen[0]["text"] == "资金 ✓"
        assert receiver.net.stats["received"] == 60
        assert receiver.net.stats["delivered"] == 60
        assert receiver.net.stats["sent"] == 60
        assert receiver.net.stats["rejected_handshakes"] == 0
    assert set(nodes[0].net.stats) == set(STAT_KEYS)


async def test_broadcast_reaches_every_other_validator_encoded_once(
    make_cluster: MakeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = await make_cluster(4)
    await all_connected(cluster.nodes)
    calls: list[object] = []
    real = peers_mod.canonical

    def counting(obj: object) -> bytes:
        calls.append(obj)
        return real(obj)

    monkeypatch.setattr(peers_mod, "canonical", counting)
    block = {"type": "preprepare", "txs": [{"n": i, "memo": "x" * 50} for i in range(200)]}
    assert cluster.nodes[0].net.broadcast(block) == 3
    assert len(calls) == 1
    others = cluster.nodes[1:]
    await wait_until(lambda: all(len(n.got) == 1 for n in others))
    sender_id = cluster.nodes[0].key.public_hex
    assert all(n.got == [(sender_id, block)] for n in others)
    assert cluster.nodes[0].got == []


async def test_own_id_in_peers_is_ignored_and_messages_queue_before_start(
    make_cluster: MakeCluster,
) -> None:
    cluster = await make_cluster(2, start=False)
    a, b = cluster.nodes
    assert a.net.send(b.key.public_hex, {"early": 1})  # queued before anything runs
    assert not a.net.send(a.key.public_hex, {"to": "myself"})  # not a peer of itself
    assert a.net.stats["dropped_unknown_peer"] == 1
    await a.net.start()
    await b.net.start()
    await wait_until(lambda: b.got == [(a.key.public_hex, {"early": 1})])
    assert a.net.port == a.port


# --- impostors -----------------------------------------------------------------------------------


async def refused(node: Node, ws: aiohttp.ClientWebSocketResponse, answer: Any, kind: str) -> None:
    assert answer.type is WSMsgType.CLOSE
    assert answer.data == CLOSE_HANDSHAKE_REFUSED
    assert answer.extra == kind
    assert ws.closed
    assert node.net.connected_inbound() == []


async def test_dialer_with_the_wrong_key_is_refused(
    make_cluster: MakeCluster, session: aiohttp.ClientSession
) -> None:
    cluster = await make_cluster(1, extra_keys=1)
    node = cluster.nodes[0]
    victim = next(p for p in cluster.peers if p != node.key.public_hex)
    ws, answer = await raw_handshake(session, node, KeyPair.generate(), claim=victim)
    await refused(node, ws, answer, "bad_signature")
    assert node.net.stats["rejected_handshakes"] == 1


async def test_non_validator_is_refused(
    make_cluster: MakeCluster, session: aiohttp.ClientSession
) -> None:
    cluster = await make_cluster(1, extra_keys=1)
    node = cluster.nodes[0]
    ws, answer = await raw_handshake(session, node, KeyPair.generate())
    await refused(node, ws, answer, "unknown_peer")
    assert node.net.stats["rejected_handshakes"] == 1


async def test_validator_on_the_wrong_chain_is_refused(
    make_cluster: MakeCluster, session: aiohttp.ClientSession
) -> None:
    cluster = await make_cluster(1, extra_keys=1)
    node = cluster.nodes[0]
    other = KeyPair.generate()
    cluster.peers[other.public_hex] = url(free_port())
    # A real PeerNetwork on another chain dials us: both sides refuse.
    stranger = cluster.spawn(other, free_port(), chain_id="other-chain", peers=cluster.peers)
    await stranger.net.start()
    await wait_until(lambda: stranger.net.stats["rejected_handshakes"] >= 1)
    assert stranger.net.connected() == []
    ws, answer = await raw_handshake(session, node, other, chain_id="other-chain")
    await refused(node, ws, answer, "wrong_chain")


async def test_garbage_before_the_handshake_is_refused(
    make_cluster: MakeCluster, session: aiohttp.ClientSession
) -> None:
    cluster = await make_cluster(1, extra_keys=1)
    node = cluster.nodes[0]
    ws = await session.ws_connect(url(node.net.port))
    await ws.receive()  # hello
    await ws.send_bytes(b"\x00\xffnot json at all")
    await refused(node, ws, await ws.receive(), "malformed")
    async with session.get(f"http://127.0.0.1:{node.net.port}/p2p") as resp:  # no upgrade
        assert resp.status == 400
    assert node.net.stats["rejected_handshakes"] == 2


async def test_silent_dialer_times_out(
    make_cluster: MakeCluster, session: aiohttp.ClientSession
) -> None:
    cluster = await make_cluster(1, extra_keys=1, handshake_timeout_s=0.2)
    node = cluster.nodes[0]
    ws = await session.ws_connect(url(node.net.port))
    await ws.receive()  # hello, then say nothing
    await refused(node, ws, await ws.receive(), "timeout")
    assert node.net.stats["rejected_handshakes"] == 1


async def test_full_pending_slots_evict_the_oldest_of_the_busiest_address(
    make_cluster: MakeCluster, session: aiohttp.ClientSession
) -> None:
    cluster = await make_cluster(
        1, extra_keys=1, handshake_timeout_s=30.0, max_pending_per_address=2
    )
    node = cluster.nodes[0]
    first, second = [await session.ws_connect(url(node.net.port)) for _ in range(2)]
    for ws in (first, second):
        await ws.receive()  # hello; then silence
    third = await session.ws_connect(url(node.net.port))
    assert hs.parse_hello((await third.receive()).data).node_id == node.key.public_hex
    answer = await first.receive()  # the oldest silent connection made room
    assert answer.type is WSMsgType.CLOSE and answer.data == CLOSE_HANDSHAKE_REFUSED
    assert answer.extra == "busy"
    assert node.net.stats["busy_evictions"] == 1
    await wait_until(lambda: node.net.pending_handshakes() == 2)
    for ws in (second, third):
        await ws.close()


async def test_global_pending_cap_evicts_from_the_address_holding_most(
    make_cluster: MakeCluster, session: aiohttp.ClientSession
) -> None:
    cluster = await make_cluster(
        1,
        extra_keys=1,
        handshake_timeout_s=30.0,
        max_pending_handshakes=3,
        max_pending_per_address=3,
    )
    node = cluster.nodes[0]
    held = [await session.ws_connect(url(node.net.port)) for _ in range(3)]
    for ws in held:
        await ws.receive()
    newest = await session.ws_connect(url(node.net.port))
    await newest.receive()
    assert (await held[0].receive()).type is WSMsgType.CLOSE
    assert node.net.stats["busy_evictions"] == 1
    assert node.net.pending_handshakes() == 3
    for ws in [*held[1:], newest]:
        await ws.close()


async def test_a_validator_gets_in_while_outsiders_keep_every_slot_busy(
    make_cluster: MakeCluster, session: aiohttp.ClientSession
) -> None:
    cluster = await make_cluster(
        2,
        start=False,
        handshake_timeout_s=30.0,
        max_pending_handshakes=4,
        max_pending_per_address=4,
    )
    a, b = cluster.nodes
    await a.net.start()
    stop = asyncio.Event()

    async def hold_slots() -> None:
        held: list[aiohttp.ClientWebSocketResponse] = []
        while not stop.is_set():
            held.append(await session.ws_connect(url(a.net.port)))
            if len(held) > 16:
                await held.pop(0).close()
        for ws in held:
            await ws.close()

    holder = asyncio.create_task(hold_slots())
    await wait_until(lambda: a.net.stats["busy_evictions"] > 8)
    await b.net.start()
    await all_connected(cluster.nodes)
    stop.set()
    await holder
    assert a.net.stats["busy_evictions"] > 8


async def test_frames_before_authentication_are_limited_to_4_kib(
    make_cluster: MakeCluster, session: aiohttp.ClientSession
) -> None:
    cluster = await make_cluster(1, extra_keys=1)
    node = cluster.nodes[0]
    ws = await session.ws_connect(url(node.net.port))
    await ws.receive()  # hello
    await ws.send_bytes(b"x" * (hs.HANDSHAKE_MAX_BYTES + 1))
    answer = await ws.receive()
    assert answer.type is WSMsgType.CLOSE
    assert answer.data in (aiohttp.WSCloseCode.MESSAGE_TOO_BIG, CLOSE_HANDSHAKE_REFUSED)
    await wait_until(lambda: node.net.stats["rejected_handshakes"] == 1)


async def test_network_keeps_working_after_impostors(
    make_cluster: MakeCluster, session: aiohttp.ClientSession
) -> None:
    cluster = await make_cluster(2)
    a, b = cluster.nodes
    for _ in range(3):
        ws, answer = await raw_handshake(session, a, KeyPair.generate())
        assert answer.type is WSMsgType.CLOSE
        await ws.close()
    await all_connected(cluster.nodes)
    assert b.net.send(a.key.public_hex, {"still": "fine"})
    await wait_until(lambda: a.got == [(b.key.public_hex, {"still": "fine"})])
    assert a.net.stats["rejected_handshakes"] == 3


async def fake_listener(key: KeyPair, sign_with: KeyPair, chain_id: str) -> web.AppRunner:
    """An aiohttp server that says it is ``key`` but signs its welcome with ``sign_with``."""

    async def accept(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        hello = hs.make_hello(key, chain_id)
        await ws.send_bytes(hs.encode(hello))
        msg = await ws.receive()
        if msg.type is WSMsgType.BINARY:
            auth = hs.parse_auth(msg.data)
            forged = hs.make_welcome(sign_with, chain_id, auth)
            await ws.send_bytes(hs.encode(hs.Welcome(key.public_hex, forged.signature)))
            await ws.receive()
        return ws

    app = web.Application()
    app.router.add_get("/p2p", accept)
    runner = web.AppRunner(app, shutdown_timeout=0.2)
    await runner.setup()
    return runner


@pytest.mark.parametrize("case", ["wrong_key", "wrong_chain"])
async def test_dialer_refuses_an_impostor_listener(make_cluster: MakeCluster, case: str) -> None:
    cluster = await make_cluster(1, extra_keys=1, start=False)
    node = cluster.nodes[0]
    victim_id = next(p for p in cluster.peers if p != node.key.public_hex)
    victim_port = int(cluster.peers[victim_id].split(":")[2].split("/")[0])
    claimed = KeyPair.from_seed(b"\x01" * 32)
    # the listener at the victim's address is someone else pretending to be the victim
    cluster.peers.pop(victim_id)
    cluster.peers[claimed.public_hex] = url(victim_port)
    node = cluster.spawn(node.key, node.port, peers=cluster.peers)
    signer = KeyPair.generate() if case == "wrong_key" else claimed
    runner = await fake_listener(claimed, signer, CHAIN if case == "wrong_key" else "evil")
    try:
        await web.TCPSite(runner, "127.0.0.1", victim_port).start()
        await node.net.start()
        await wait_until(lambda: node.net.stats["rejected_handshakes"] >= 2)
        assert node.net.connected() == []
        assert node.net.stats["connects"] == 0
    finally:
        await node.net.stop()
        await runner.cleanup()


async def node_with_outside_validator(
    make_cluster: MakeCluster, **options: Any
) -> tuple[Any, KeyPair]:
    """A started node that also accepts ``key`` as a validator, for a test to act as that peer."""
    cluster = await make_cluster(1, extra_keys=1, **options)
    key = KeyPair.generate()
    cluster.peers[key.public_hex] = url(free_port())
    node = cluster.spawn(cluster.nodes[0].key, free_port(), peers=cluster.peers, **options)
    await node.net.start()
    return node, key


# --- bad traffic from an authenticated peer ------------------------------------------------------


async def test_malformed_messages_are_counted_then_the_peer_is_cut_off(
    make_cluster: MakeCluster, session: aiohttp.ClientSession
) -> None:
    node, key = await node_with_outside_validator(make_cluster)
    ws = await authenticated(session, node, key)
    for bad in (b"{", b"[1,2]", b'{"a":1.5}', b'{"a":1,"a":2}', b"\xff\xfe"):
        await ws.send_bytes(bad)
    await ws.send_str('{"ok":true}')  # text frames are accepted too
    await wait_until(lambda: len(node.got) == 1)
    assert node.got == [(key.public_hex, {"ok": True})]
    assert node.net.stats["malformed"] == 5
    assert key.public_hex in node.net.connected_inbound()  # survived: fewer than the limit
    for _ in range(MAX_MALFORMED_IN_ROW):
        await ws.send_bytes(b"nope")
    answer = await ws.receive()
    assert answer.type is WSMsgType.CLOSE and answer.data == CLOSE_MALFORMED
    assert node.net.stats["disconnected_malformed"] == 1
    await wait_until(lambda: node.net.connected_inbound() == [])


async def test_oversized_message_is_counted_and_closes_the_connection(
    make_cluster: MakeCluster, session: aiohttp.ClientSession
) -> None:
    limit = 8 * 1024
    node, key = await node_with_outside_validator(make_cluster, max_message_bytes=limit)
    ws = await authenticated(session, node, key)
    exact = b'{"p":"' + b"x" * (limit - 8) + b'"}'
    assert len(exact) == limit
    await ws.send_bytes(exact)  # exactly at the limit: accepted
    await wait_until(lambda: len(node.got) == 1)
    await ws.send_bytes(exact[:-2] + b'x"}')  # one byte over
    answer = await ws.receive()
    assert answer.type is WSMsgType.CLOSE and answer.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    await wait_until(lambda: node.net.stats["oversized"] == 1)
    ws2 = await authenticated(session, node, key)  # the peer may come back
    await ws2.send_bytes(b'{"after":1}')
    await wait_until(lambda: len(node.got) == 2)


async def test_second_inbound_connection_replaces_the_first(
    make_cluster: MakeCluster, session: aiohttp.ClientSession
) -> None:
    node, key = await node_with_outside_validator(make_cluster)
    first = await authenticated(session, node, key)
    second = await authenticated(session, node, key)
    answer = await first.receive()
    assert answer.type is WSMsgType.CLOSE and answer.data == CLOSE_REPLACED
    assert node.net.stats["inbound_replaced"] == 1
    await second.send_bytes(b'{"via":"second"}')
    await wait_until(lambda: node.got == [(key.public_hex, {"via": "second"})])
    assert node.net.connected_inbound() == [key.public_hex]


async def test_dead_dialer_is_detected_by_heartbeat(
    make_cluster: MakeCluster, session: aiohttp.ClientSession
) -> None:
    node, key = await node_with_outside_validator(make_cluster, heartbeat_s=0.1)
    ws = await session.ws_connect(url(node.net.port), autoping=False)
    hello = hs.parse_hello((await ws.receive()).data)
    await ws.send_bytes(hs.encode(hs.make_auth(key, CHAIN, hello)))
    await ws.receive()  # welcome; from now on never answer a ping
    await wait_until(lambda: node.net.stats["accepts"] == 1)
    await wait_until(lambda: node.net.connected_inbound() == [], timeout=2.0)


async def test_handler_errors_are_logged_and_delivery_continues(
    make_cluster: MakeCluster, caplog: pytest.LogCaptureFixture
) -> None:
    cluster = await make_cluster(2, start=False)
    a, b = cluster.nodes
    got: list[int] = []

    async def flaky(peer_id: str, message: dict[str, Any]) -> None:
        if message["n"] == 1:
            raise ValueError("boom")
        got.append(message["n"])

    b = cluster.spawn(b.key, b.port, handler=flaky)
    await a.net.start()
    await b.net.start()
    for n in range(3):
        assert a.net.send(b.key.public_hex, {"n": n})
    await wait_until(lambda: got == [0, 2])
    assert b.net.stats["handler_errors"] == 1
    assert b.net.stats["delivered"] == 2
    assert "handler failed" in caplog.text


# --- queues, restarts, shutdown ------------------------------------------------------------------


async def test_queue_full_and_unknown_peer_return_false(make_cluster: MakeCluster) -> None:
    cluster = await make_cluster(1, extra_keys=1, send_queue_len=3)
    node = cluster.nodes[0]
    down = next(p for p in cluster.peers if p != node.key.public_hex)  # never started
    assert [node.net.send(down, {"i": i}) for i in range(5)] == [True, True, True, False, False]
    assert node.net.broadcast({"i": 9}) == 0
    assert node.net.queued(down) == 3
    assert node.net.stats["dropped_queue_full"] == 3
    assert not node.net.send("ab" * 32, {"i": 0})
    assert node.net.stats["dropped_unknown_peer"] == 1
    await wait_until(lambda: node.net.stats["dial_failures"] >= 2)  # it keeps retrying
    assert node.net.queued(down) == 3 and node.net.connected() == []


async def test_bad_messages_raise_typed_errors(make_cluster: MakeCluster) -> None:
    cluster = await make_cluster(1, extra_keys=1, max_message_bytes=hs.HANDSHAKE_MAX_BYTES)
    net = cluster.nodes[0].net
    peer = next(p for p in cluster.peers if p != net.node_id)
    with pytest.raises(EncodingError):
        net.send(peer, {"amount": 1.5})
    with pytest.raises(EncodingError):
        net.broadcast(["not", "an", "object"])  # type: ignore[arg-type]
    with pytest.raises(TooLarge) as exc:
        net.send(peer, {"blob": "x" * hs.HANDSHAKE_MAX_BYTES})
    assert exc.value.reason == "too_large"
    assert net.queued(peer) == 0


async def test_restarted_peer_reconnects_and_gets_the_queued_messages(
    make_cluster: MakeCluster,
) -> None:
    cluster = await make_cluster(2)
    a, b = cluster.nodes
    await all_connected(cluster.nodes)
    await b.net.stop()
    await wait_until(lambda: a.net.connected() == [] and a.net.connected_inbound() == [])
    for n in range(50):
        assert a.net.send(b.key.public_hex, {"n": n})
    b2 = cluster.spawn(b.key, b.port)  # a new instance on the same port
    await b2.net.start()
    await wait_until(lambda: len(b2.got) == 50)
    assert [m["n"] for _, m in b2.got] == list(range(50))
    assert a.net.stats["reconnects"] >= 1
    assert b2.net.send(a.key.public_hex, {"back": 1})
    await wait_until(lambda: a.got == [(b.key.public_hex, {"back": 1})])


async def test_stop_is_idempotent_and_leaves_no_tasks(make_cluster: MakeCluster) -> None:
    before = asyncio.all_tasks()
    cluster = await make_cluster(3, start=False)
    for node in cluster.nodes:
        await node.net.start()
    await all_connected(cluster.nodes)
    cluster.nodes[0].net.broadcast({"x": 1})
    await asyncio.gather(*(node.net.stop() for node in cluster.nodes))
    await cluster.nodes[0].net.stop()
    await asyncio.sleep(0)
    assert asyncio.all_tasks() - before == set()
    assert not cluster.nodes[0].net.send(cluster.nodes[1].key.public_hex, {"late": 1})
    assert cluster.nodes[0].net.stats["dropped_stopped"] == 1
    with pytest.raises(PeerNetworkError):
        await cluster.nodes[0].net.start()


async def test_stop_is_prompt_even_with_a_stuck_handler_and_full_buffers(
    make_cluster: MakeCluster,
) -> None:
    cluster = await make_cluster(2, start=False)
    a, b = cluster.nodes
    entered = asyncio.Event()

    async def stuck(peer_id: str, message: dict[str, Any]) -> None:
        entered.set()
        await asyncio.Event().wait()  # never returns

    b = cluster.spawn(b.key, b.port, handler=stuck)
    await a.net.start()
    await b.net.start()
    n = peers_mod.INBOUND_BUFFER_MESSAGES + 500
    for i in range(n):
        assert a.net.send(b.key.public_hex, {"i": i})
    await asyncio.wait_for(entered.wait(), 5)
    inbox = b.net._peers[a.key.public_hex].inbox
    await wait_until(lambda: len(inbox) == peers_mod.INBOUND_BUFFER_MESSAGES)  # reader blocked
    loop = asyncio.get_running_loop()
    started = loop.time()
    await b.net.stop()
    await a.net.stop()
    assert loop.time() - started < 1.0


async def test_start_on_a_busy_port_raises_and_leaves_nothing_running(
    make_cluster: MakeCluster,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        cluster = await make_cluster(1, extra_keys=1, start=False)
        node = cluster.spawn(cluster.nodes[0].key, int(sock.getsockname()[1]))
        before = asyncio.all_tasks()
        with pytest.raises(OSError):
            await node.net.start()
        await node.net.stop()
        assert asyncio.all_tasks() - before == set()
        assert node.net.connected() == []


def test_constructor_refuses_bad_configuration() -> None:
    key = KeyPair.generate()

    async def handler(peer_id: str, message: dict[str, Any]) -> None:
        return None

    good: dict[str, Any] = {
        "key": key,
        "chain_id": CHAIN,
        "host": "127.0.0.1",
        "port": 0,
        "handler": handler,
    }
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"nothex": url(1)}, {}),
        ({"ab" * 32: "http://127.0.0.1:1/p2p"}, {}),
        ({"ab" * 32: 42}, {}),
        ({}, {"chain_id": ""}),
        ({}, {"port": 70000}),
        ({}, {"send_queue_len": 0}),
        ({}, {"max_message_bytes": 10}),
        ({}, {"reconnect_min_s": 2.0, "reconnect_max_s": 1.0}),
        ({}, {"handshake_timeout_s": 0}),
    ]
    for peers, extra in cases:
        with pytest.raises(ConfigError):
            PeerNetwork(**{**good, **extra}, peers=peers)


def test_backoff_grows_is_capped_and_is_deterministic_per_pair() -> None:
    key, other = KeyPair.from_seed(b"a" * 32), KeyPair.from_seed(b"b" * 32)

    async def handler(peer_id: str, message: dict[str, Any]) -> None:
        return None

    def delays() -> list[float]:
        net = PeerNetwork(
            key=key,
            chain_id=CHAIN,
            host="127.0.0.1",
            port=0,
            peers={other.public_hex: url(1)},
            handler=handler,
            reconnect_min_s=0.1,
            reconnect_max_s=5.0,
        )
        peer = net._peers[other.public_hex]
        return [net._backoff(peer, attempt) for attempt in range(12)]

    first = delays()
    assert first == delays()
    assert 0.05 <= first[0] <= 0.1
    assert all(2.5 <= d <= 5.0 for d in first[8:])
    assert first[5] > first[0]


async def test_send_queue_is_bounded_by_bytes_as_well_as_count(make_cluster: MakeCluster) -> None:
    cluster = await make_cluster(
        2, start=False, max_message_bytes=8 * 1024, send_queue_bytes=8 * 1024
    )
    a, b = cluster.nodes
    big = {"p": "x" * 3000}
    assert a.net.send(b.key.public_hex, big)
    assert a.net.send(b.key.public_hex, big)
    assert not a.net.send(b.key.public_hex, big)  # 3 x 3 KB > 8 KiB
    assert a.net.queued(b.key.public_hex) == 2
    assert a.net.queued_bytes(b.key.public_hex) <= 8 * 1024
    assert a.net.stats["dropped_queue_full"] == 1
    assert a.net.send(b.key.public_hex, {"small": 1})  # what fits still goes


async def test_inbox_holds_at_most_inbox_bytes_of_undecoded_frames(
    make_cluster: MakeCluster,
) -> None:
    cluster = await make_cluster(2, start=False, max_message_bytes=16 * 1024, inbox_bytes=16 * 1024)
    a, b = cluster.nodes
    entered = asyncio.Event()

    async def stuck(peer_id: str, message: dict[str, Any]) -> None:
        entered.set()
        await asyncio.Event().wait()

    b = cluster.spawn(
        b.key, b.port, handler=stuck, max_message_bytes=16 * 1024, inbox_bytes=16 * 1024
    )
    await a.net.start()
    await b.net.start()
    for i in range(40):
        assert a.net.send(b.key.public_hex, {"i": i, "p": "x" * 4000})
    await asyncio.wait_for(entered.wait(), 5)
    inbox = b.net._peers[a.key.public_hex].inbox
    await wait_until(lambda: len(inbox) >= 3)
    await asyncio.sleep(0.2)
    assert inbox.size_bytes <= 16 * 1024
    assert len(inbox) <= 4


def test_limit_relations_are_refused_at_construction() -> None:
    key = KeyPair.generate()

    async def handler(peer_id: str, message: dict[str, Any]) -> None:
        return None

    base: dict[str, Any] = {
        "key": key,
        "chain_id": CHAIN,
        "host": "127.0.0.1",
        "port": 0,
        "peers": {},
        "handler": handler,
        "max_message_bytes": 64 * 1024,
    }
    for bad in (
        {"send_queue_bytes": 1024},
        {"inbox_bytes": 1024},
        {"max_pending_per_address": 0},
        {"max_pending_handshakes": 2, "max_pending_per_address": 3},
        {"send_timeout_s": 0},
    ):
        with pytest.raises(ConfigError):
            PeerNetwork(**base, **bad)


async def test_sockets_that_never_upgrade_are_closed_after_the_handshake_timeout(
    make_cluster: MakeCluster,
) -> None:
    cluster = await make_cluster(1, extra_keys=1, handshake_timeout_s=0.2)
    node = cluster.nodes[0]
    silent = await asyncio.open_connection("127.0.0.1", node.net.port)
    partial = await asyncio.open_connection("127.0.0.1", node.net.port)
    partial[1].write(b"GET /p2p HTTP/1.1\r\nHost: x\r\n")  # headers never finished
    for reader, writer in (silent, partial):
        assert await asyncio.wait_for(reader.read(), 2.0) == b""  # closed by the listener
        writer.close()
    assert node.net.stats["idle_closed"] == 2


def test_pending_slots_count_ipv4_addresses_and_ipv6_slash_64s() -> None:
    assert peers_mod.address_key("10.0.0.7") == "10.0.0.7"
    assert peers_mod.address_key("::ffff:10.0.0.7") == "10.0.0.7"
    assert peers_mod.address_key("2001:db8:1:2::5") == "2001:db8:1:2::/64"
    assert peers_mod.address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert peers_mod.address_key("2001:db8:1:3::5") == "2001:db8:1:3::/64"
    assert peers_mod.address_key(None) == "unknown"
    assert peers_mod.address_key("not-an-ip") == "not-an-ip"


async def test_start_refuses_an_aiohttp_without_the_internals_the_listener_swaps(
    make_cluster: MakeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(peers_mod, "_AIOHTTP_INTERNALS", ("_no_such_attribute",))
    cluster = await make_cluster(1, start=False)
    with pytest.raises(PeerNetworkError, match="_no_such_attribute"):
        await cluster.nodes[0].net.start()


async def test_a_peer_that_stops_reading_is_dropped_and_the_frame_kept(
    make_cluster: MakeCluster,
) -> None:
    """A validator listener that authenticates, then never reads: backpressure, then a drop."""
    listener_key, port = KeyPair.generate(), free_port()
    accepted: list[web.WebSocketResponse] = []

    async def never_read(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=False)
        await ws.prepare(request)
        hello = hs.make_hello(listener_key, CHAIN)
        await ws.send_bytes(hs.encode(hello))
        auth = hs.parse_auth((await ws.receive()).data)
        await ws.send_bytes(hs.encode(hs.make_welcome(listener_key, CHAIN, auth)))
        accepted.append(ws)
        await asyncio.sleep(3600)  # never read again: aiohttp stops reading the socket
        return ws

    app = web.Application()
    app.router.add_get("/p2p", never_read)
    runner = web.AppRunner(app, shutdown_timeout=0.2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        cluster = await make_cluster(1, start=False)
        me = cluster.nodes[0]
        peers = {me.key.public_hex: url(me.port), listener_key.public_hex: url(port)}
        node = cluster.spawn(
            me.key,
            me.port,
            peers=peers,
            send_timeout_s=0.3,
            heartbeat_s=60.0,
            max_message_bytes=1024 * 1024,
            send_queue_bytes=64 * 1024 * 1024,
        )
        await node.net.start()
        chunk = {"p": "x" * (1024 * 1024 - 16)}
        for _ in range(40):  # far more than the socket buffers hold
            assert node.net.send(listener_key.public_hex, chunk)
        await wait_until(lambda: node.net.stats["slow_peer_drops"] >= 1, timeout=10)
        assert node.net.queued(listener_key.public_hex) > 0  # the unsent frames wait
        assert accepted
    finally:
        await runner.cleanup()


async def test_anything_but_the_validators_socket_is_told_where_json_rpc_is(
    make_cluster: MakeCluster, session: aiohttp.ClientSession
) -> None:
    cluster = await make_cluster(1, extra_keys=1)
    node = cluster.nodes[0]
    base = f"http://127.0.0.1:{node.net.port}"
    rpc = {"jsonrpc": "2.0", "id": 1, "method": "node_status"}
    async with session.post(f"{base}/", json=rpc) as resp:  # a JSON-RPC call at the p2p port
        assert resp.status == 404 and await resp.text() == NOT_RPC_TEXT
    async with session.get(f"{base}/public/programs/530102000000") as resp:
        assert resp.status == 404 and "[rpc] port" in await resp.text()
    async with session.get(f"{base}/p2p") as resp:  # the validators' path is unchanged
        assert resp.status == 400
    assert node.net.stats["rejected_handshakes"] == 1  # only the /p2p request counts
