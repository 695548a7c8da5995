"""Validator-to-validator transport: long-lived, authenticated aiohttp WebSockets.

Every node dials every other validator; the connection it dialed is the one it SENDS on, and the
connections other validators dialed to it are the ones it RECEIVES on. Two one-way connections
per pair keep each side simple (one writer task per outbound connection, one reader per inbound)
and make "who may send me what" a question answered once, by the handshake (node/handshake.py).

Delivery is best effort and ordered per (sender, receiver) pair: messages queued while a peer is
unreachable wait in a bounded queue and are flushed when the dialer reconnects; a message being
written when a connection breaks may be lost or, rarely, sent twice. The consensus layer above
tolerates both (it retransmits and deduplicates), so the transport never blocks its caller.
An unauthenticated connection can make a node hold very little: one 4 KiB frame, for at most
the handshake timeout, in one of a bounded set of pending slots (per remote address and overall);
when the slots are full the oldest pending connection of the busiest address is evicted, so a
flood of silent sockets cannot keep a validator from getting back in. After authentication every
buffer is bounded by bytes as well as by count. See docs/peers.md for the wire protocol and every
limit.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

from chain import limits
from chain.crypto import KeyPair, is_pubkey_hex
from chain.encoding import canonical, loads_strict
from chain.errors import AidchainError, ConfigError, EncodingError, TooLarge
from node import handshake as hs
from node.lograte import ratelimited

log = logging.getLogger(__name__)

PeerHandler = Callable[[str, dict[str, Any]], Awaitable[None]]

P2P_PATH = "/p2p"
# what anything but the validators' WebSocket gets on this port: a clerk or an integrator who
# pasted the p2p port where the RPC port belongs should learn which port to use, not just 404
NOT_RPC_TEXT = (
    "404: this is an aidchain validator (p2p) port; validators connect to /p2p. "
    "JSON-RPC is served on the node's [rpc] port (its config.toml; cluster.json's rpc_url).\n"
)
DEFAULT_HEARTBEAT_S = 5.0  # ping after this long without traffic; dead if no pong in half of it
MAX_MALFORMED_IN_ROW = 8  # consecutive undecodable messages before an inbound peer is cut off
INBOUND_BUFFER_MESSAGES = 1_024  # received messages per peer waiting for the handler
CLOSE_TIMEOUT_S = 1.0  # wait this long for the peer's close frame
SHUTDOWN_TIMEOUT_S = 2.0  # aiohttp's grace period for request handlers at stop()

# WebSocket close codes (4000-4999 are for applications); the close text carries the reason.
CLOSE_HANDSHAKE_REFUSED = 4001
CLOSE_REPLACED = 4002
CLOSE_MALFORMED = 4003
CLOSE_PROTOCOL = 4004

STAT_KEYS = (
    "enqueued",  # accepted by send()/broadcast()
    "sent",  # frames written to an outbound connection
    "received",  # valid messages read from an inbound connection
    "delivered",  # handler calls that returned normally
    "handler_errors",  # handler calls that raised
    "dropped_queue_full",
    "dropped_unknown_peer",
    "dropped_stopped",  # send() after stop()
    "rejected_handshakes",  # handshakes we refused (either role), incl. timeouts
    "refused_by_peer",  # our dial was refused by the listener's handshake
    "dial_failures",  # TCP/HTTP-level failures to reach a peer
    "connects",  # authenticated outbound connections established
    "reconnects",  # ... of which to a peer we had been connected to before
    "accepts",  # authenticated inbound connections accepted
    "inbound_replaced",  # an inbound connection replaced by a newer one from the same peer
    "malformed",  # undecodable or non-object messages
    "disconnected_malformed",  # inbound connections cut after MAX_MALFORMED_IN_ROW
    "oversized",  # messages over max_message_bytes (connection closed, aiohttp rule)
    "busy_evictions",  # pending handshakes evicted to make room for a newer connection
    "slow_peer_drops",  # outbound connections dropped because one frame took over send_timeout
    "idle_closed",  # TCP connections closed for not upgrading within handshake_timeout_s
)


class PeerNetworkError(AidchainError):
    """Misuse of a PeerNetwork (e.g. starting it twice)."""

    reason = "peer_network"


class PeerRefused(AidchainError):
    """The validator we dialed refused our handshake (its close text says why)."""

    reason = "peer_refused"


class _SendQueue:
    """FIFO of encoded messages bounded by count and bytes: the oldest kept, the newest refused.

    A deque (not asyncio.Queue) so the writer can peek, send, and only then pop: a message whose
    write was interrupted stays at the head and goes out on the next connection. Bytes are
    bounded as well as count because a count bound alone lets a few thousand large messages
    (e.g. sync responses) take gigabytes.
    """

    __slots__ = ("_bytes", "_items", "_limit", "_max_bytes", "_ready")

    def __init__(self, limit: int, max_bytes: int) -> None:
        self._items: deque[bytes] = deque()
        self._limit = limit
        self._max_bytes = max_bytes
        self._bytes = 0
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def push(self, data: bytes) -> bool:
        if len(self._items) >= self._limit or self._bytes + len(data) > self._max_bytes:
            return False
        self._items.append(data)
        self._bytes += len(data)
        self._ready.set()
        return True

    def head(self) -> bytes:
        return self._items[0]

    def pop(self) -> None:
        self._bytes -= len(self._items.popleft())

    async def wait(self) -> None:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()


Frame = bytes | str


class _Inbox:
    """Received frames (still encoded) of one peer, bounded by count and bytes.

    Frames wait here undecoded, so what a peer can make us hold is its wire bytes, not the
    several-times-larger Python objects they decode to; the consumer decodes one at a time.
    A full inbox makes the reader wait, which stops reading the socket: TCP backpressure.
    """

    __slots__ = ("_bytes", "_items", "_limit", "_max_bytes", "_nonempty", "_space")

    def __init__(self, limit: int, max_bytes: int) -> None:
        self._items: deque[tuple[web.WebSocketResponse, Frame]] = deque()
        self._limit = limit
        self._max_bytes = max_bytes
        self._bytes = 0
        self._nonempty = asyncio.Event()
        self._space = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    async def put(self, ws: web.WebSocketResponse, frame: Frame) -> None:
        while self._items and (
            len(self._items) >= self._limit or self._bytes + len(frame) > self._max_bytes
        ):
            self._space.clear()
            await self._space.wait()
        self._items.append((ws, frame))
        self._bytes += len(frame)
        self._nonempty.set()

    async def get(self) -> tuple[web.WebSocketResponse, Frame]:
        while not self._items:
            self._nonempty.clear()
            await self._nonempty.wait()
        item = self._items.popleft()
        self._bytes -= len(item[1])
        self._space.set()
        return item

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0
        self._space.set()


@dataclass(slots=True)
class _Pending:
    """One unauthenticated inbound connection; eviction moves its handshake deadline to now."""

    address: str
    deadline: asyncio.Timeout | None = None
    evicted: bool = False

    def evict(self) -> None:
        self.evicted = True
        if self.deadline is not None and not self.deadline.expired():  # else already leaving
            self.deadline.reschedule(asyncio.get_running_loop().time())


def _raise_frame_limit(ws: web.WebSocketResponse, request: web.Request, max_msg_size: int) -> None:
    """Give an authenticated connection the full frame limit (it was prepared with 4 KiB).

    aiohttp fixes a WebSocket's frame limit when it is prepared and has no public way to change
    it, and the parser buffers a whole frame up to that limit before we see any of it. So a
    connection is prepared with the handshake limit and, once authenticated, gets a new parser
    with the full limit on the same message queue. Only an honest dialer's silence between its
    auth and our welcome makes the swap lossless; a dialer that sent more is refused.
    """
    old = ws._parser
    queue = ws._reader
    if old is None or queue is None or queue._stalled_reader is not None or len(queue._buffer):
        raise hs.HandshakeError("malformed", "data sent before the welcome")
    parser = type(old)(queue, max_msg_size, compress=False, decode_text=ws._decode_text)
    ws._parser = parser
    protocol = request.protocol
    protocol._payload_parser = None
    protocol.set_parser(
        parser, data_received_cb=None if ws._heartbeat is None else ws._on_data_received
    )


@dataclass(slots=True)
class _Peer:
    id: str
    url: str
    queue: _SendQueue
    inbox: _Inbox
    rng: random.Random
    outbound: aiohttp.ClientWebSocketResponse | None = None
    inbound: web.WebSocketResponse | None = None
    ever_connected: bool = False
    malformed_in_row: int = 0
    failing: bool = False  # last dial failed (log repeats at debug only)
    full_warned: bool = False  # queue-full already logged since the last accepted message
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


_AIOHTTP_INTERNALS = ("_parser", "_reader", "_decode_text", "_heartbeat", "_on_data_received")


def _check_aiohttp_internals() -> None:
    """Fail at start-up, not on every validator's connection, if aiohttp lacks what
    _raise_frame_limit swaps (developed against aiohttp 3.14)."""
    probe = web.WebSocketResponse()
    missing = [name for name in _AIOHTTP_INTERNALS if not hasattr(probe, name)]
    if missing or not hasattr(web.RequestHandler, "set_parser"):
        raise PeerNetworkError(
            f"aiohttp {aiohttp.__version__} lacks WebSocket internals the p2p listener needs "
            f"({', '.join(missing) or 'RequestHandler.set_parser'}); install aiohttp 3.14"
        )


async def _not_rpc(request: web.Request) -> web.Response:
    """Any path but /p2p: a 404 that names the port to use instead."""
    return web.Response(status=404, text=NOT_RPC_TEXT)


def _log_if_crashed(task: asyncio.Task[None]) -> None:
    """A background task that ends with an exception is a bug: say so loudly, once."""
    if not task.cancelled() and task.exception() is not None:
        log.critical("p2p: task %s crashed", task.get_name(), exc_info=task.exception())


def address_key(remote: str | None) -> str:
    """The unit pending slots are counted per: an IPv4 address, or an IPv6 /64.

    One IPv6 host is routinely given a whole /64, so counting single IPv6 addresses would let
    one outsider look like millions of hosts.
    """
    if not remote:
        return "unknown"
    try:
        ip = ipaddress.ip_address(remote)
    except ValueError:
        return remote
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _check_url(url: object) -> str:
    if not isinstance(url, str):
        raise ConfigError("peer address must be a string like ws://host:port/p2p")
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigError(f"peer address {url!r} must look like ws://host:port{P2P_PATH}")
    return url


class PeerNetwork:
    """Authenticated, bounded, reconnecting message transport between the validators."""

    def __init__(
        self,
        *,
        key: KeyPair,
        chain_id: str,
        host: str,
        port: int,
        peers: Mapping[str, str],
        handler: PeerHandler,
        max_message_bytes: int = limits.DEFAULT_PEER_MAX_MESSAGE_BYTES,
        send_queue_len: int = limits.DEFAULT_PEER_SEND_QUEUE,
        send_queue_bytes: int = limits.DEFAULT_PEER_SEND_QUEUE_BYTES,
        inbox_bytes: int = limits.DEFAULT_PEER_INBOX_BYTES,
        reconnect_min_s: float = 0.1,
        reconnect_max_s: float = 5.0,
        handshake_timeout_s: float = limits.DEFAULT_PEER_HANDSHAKE_TIMEOUT_MS / 1000,
        max_pending_handshakes: int = limits.DEFAULT_PEER_MAX_PENDING_HANDSHAKES,
        max_pending_per_address: int = limits.DEFAULT_PEER_MAX_PENDING_PER_ADDRESS,
        send_timeout_s: float = limits.DEFAULT_PEER_SEND_TIMEOUT_MS / 1000,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
    ) -> None:
        if not isinstance(chain_id, str) or not 0 < len(chain_id) <= limits.MAX_CHAIN_ID_CHARS:
            raise ConfigError(f"chain_id must be 1..{limits.MAX_CHAIN_ID_CHARS} characters")
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError(f"port must be 0..65535, got {port!r}")
        if max_message_bytes < hs.HANDSHAKE_MAX_BYTES:
            raise ConfigError(f"max_message_bytes must be at least {hs.HANDSHAKE_MAX_BYTES}")
        if send_queue_len < 1:
            raise ConfigError("send_queue_len must be at least 1")
        if send_queue_bytes < max_message_bytes or inbox_bytes < max_message_bytes:
            raise ConfigError("send_queue_bytes and inbox_bytes must be >= max_message_bytes")
        if not 1 <= max_pending_per_address <= max_pending_handshakes:
            raise ConfigError("need 1 <= max_pending_per_address <= max_pending_handshakes")
        if send_timeout_s <= 0:
            raise ConfigError("send_timeout_s must be positive")
        if not 0 < reconnect_min_s <= reconnect_max_s:
            raise ConfigError("need 0 < reconnect_min_s <= reconnect_max_s")
        if handshake_timeout_s <= 0 or heartbeat_s <= 0:
            raise ConfigError("handshake_timeout_s and heartbeat_s must be positive")
        self._key = key
        self._chain_id = chain_id
        self._host = host
        self._port = port
        self._handler = handler
        self._max_message_bytes = max_message_bytes
        self._reconnect_min_s = reconnect_min_s
        self._reconnect_max_s = reconnect_max_s
        self._handshake_timeout_s = handshake_timeout_s
        self._max_pending = max_pending_handshakes
        self._max_pending_per_address = max_pending_per_address
        self._send_timeout_s = send_timeout_s
        self._heartbeat_s = heartbeat_s
        self._peers: dict[str, _Peer] = {}
        for peer_id, url in peers.items():
            if not is_pubkey_hex(peer_id):
                raise ConfigError(f"validator id {peer_id!r} must be 64 lowercase hex")
            if peer_id == key.public_hex:
                continue
            seed = hashlib.sha256(f"{key.public_hex}:{peer_id}".encode()).digest()
            self._peers[peer_id] = _Peer(
                id=peer_id,
                url=_check_url(url),
                queue=_SendQueue(send_queue_len, send_queue_bytes),
                inbox=_Inbox(INBOUND_BUFFER_MESSAGES, inbox_bytes),
                rng=random.Random(seed),
            )
        self.stats: dict[str, int] = dict.fromkeys(STAT_KEYS, 0)
        self._state = "new"  # new -> running -> stopping -> stopped
        self._stopped = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._sockets: set[web.WebSocketResponse] = set()  # every accepted WebSocket
        self._pending: dict[int, _Pending] = {}  # by id(ws), oldest first
        self._upgraded: set[object] = set()  # aiohttp connections that reached the WebSocket
        self._sweeper: asyncio.Task[None] | None = None
        self._bound_port: int | None = None

    # --- public API ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port once started (so port=0 picks a free one), else the configured one."""
        return self._bound_port if self._bound_port is not None else self._port

    @property
    def node_id(self) -> str:
        return self._key.public_hex

    async def start(self) -> None:
        """Bind the listener on host:port/p2p, then start one dialer per other validator."""
        if self._state != "new":
            raise PeerNetworkError(f"start() on a PeerNetwork that is {self._state}")
        _check_aiohttp_internals()
        self._state = "running"
        app = web.Application()
        app.router.add_get(P2P_PATH, self._accept)
        app.router.add_route("*", "/{tail:.*}", _not_rpc)
        runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except BaseException:
            await runner.cleanup()
            self._state = "stopped"
            self._stopped.set()
            raise
        self._runner = runner
        self._bound_port = int(runner.addresses[0][1])
        self._sweeper = asyncio.create_task(self._sweep_idle(runner), name="p2p-sweep")
        self._sweeper.add_done_callback(_log_if_crashed)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=None, connect=self._handshake_timeout_s),
        )
        for peer in self._peers.values():
            peer.tasks.append(
                asyncio.create_task(self._consume(peer), name=f"p2p-in-{peer.id[:8]}")
            )
            peer.tasks.append(asyncio.create_task(self._dial(peer), name=f"p2p-out-{peer.id[:8]}"))
        log.info(
            "p2p listening on %s:%d%s, %d peers", self._host, self.port, P2P_PATH, len(self._peers)
        )

    async def stop(self) -> None:
        """Close every connection and cancel every task; safe to call more than once."""
        if self._state in ("stopping", "stopped"):
            await self._stopped.wait()
            return
        was_running = self._state == "running"
        self._state = "stopping"
        try:
            if was_running:
                await self._shutdown()
        finally:
            self._state = "stopped"
            self._stopped.set()

    def send(self, peer_id: str, message: dict[str, Any]) -> bool:
        """Queue one message for ``peer_id``; False (counted, logged) if unknown or queue full.

        Raises EncodingError if ``message`` is not a JSON object of ints/strs/..., TooLarge if its
        encoding exceeds max_message_bytes: both are bugs in the caller, not network conditions.
        """
        data = self._encode(message)
        peer = self._peers.get(peer_id)
        if peer is None:
            self.stats["dropped_unknown_peer"] += 1
            ratelimited.warning(
                log, "unknown_peer", "p2p: dropping message for unknown peer %.16s", peer_id
            )
            return False
        return self._enqueue(peer, data)

    def broadcast(self, message: dict[str, Any]) -> int:
        """Queue ``message`` for every other validator (encoded once); returns how many accepted."""
        data = self._encode(message)
        return sum(self._enqueue(peer, data) for peer in self._peers.values())

    def connected(self) -> list[str]:
        """Peers with an authenticated outbound connection (usable for sending), sorted."""
        return sorted(
            p.id for p in self._peers.values() if p.outbound is not None and not p.outbound.closed
        )

    def connected_inbound(self) -> list[str]:
        """Peers with an authenticated inbound connection (we can hear them), sorted."""
        return sorted(
            p.id for p in self._peers.values() if p.inbound is not None and not p.inbound.closed
        )

    def queued(self, peer_id: str) -> int:
        """Messages waiting in ``peer_id``'s send queue (0 for an unknown peer)."""
        peer = self._peers.get(peer_id)
        return 0 if peer is None else len(peer.queue)

    def queued_bytes(self, peer_id: str) -> int:
        """Bytes waiting in ``peer_id``'s send queue (0 for an unknown peer)."""
        peer = self._peers.get(peer_id)
        return 0 if peer is None else peer.queue.size_bytes

    def pending_handshakes(self) -> int:
        """Unauthenticated inbound connections held right now (evicted ones excluded)."""
        return sum(not entry.evicted for entry in self._pending.values())

    # --- sending ---------------------------------------------------------------------------------

    def _encode(self, message: dict[str, Any]) -> bytes:
        if not isinstance(message, dict):
            raise EncodingError(f"peer messages must be JSON objects, not {type(message).__name__}")
        data = canonical(message)
        if len(data) > self._max_message_bytes:
            raise TooLarge(
                f"peer message of {len(data)} bytes exceeds {self._max_message_bytes}",
                size=len(data),
                limit=self._max_message_bytes,
            )
        return data

    def _enqueue(self, peer: _Peer, data: bytes) -> bool:
        if self._state in ("stopping", "stopped"):
            self.stats["dropped_stopped"] += 1
            return False
        if not peer.queue.push(data):
            self.stats["dropped_queue_full"] += 1
            if not peer.full_warned:
                peer.full_warned = True
                ratelimited.warning(
                    log,
                    "queue_full",
                    "p2p: send queue to %.16s full; refusing new messages",
                    peer.id,
                )
            return False
        peer.full_warned = False
        self.stats["enqueued"] += 1
        return True

    def _backoff(self, peer: _Peer, attempt: int) -> float:
        """Exponential backoff with jitter in [50%, 100%], seeded per (us, peer) pair."""
        base = min(self._reconnect_max_s, self._reconnect_min_s * 2 ** min(attempt, 32))
        return base * peer.rng.uniform(0.5, 1.0)

    async def _dial(self, peer: _Peer) -> None:
        """Keep one authenticated outbound connection to ``peer`` open until stop()."""
        assert self._session is not None
        attempt = 0
        while True:
            ws: aiohttp.ClientWebSocketResponse | None = None
            try:
                async with asyncio.timeout(self._handshake_timeout_s):
                    ws = await self._session.ws_connect(
                        peer.url,
                        max_msg_size=hs.HANDSHAKE_MAX_BYTES + 1,
                        heartbeat=self._heartbeat_s,
                        compress=0,
                        timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_TIMEOUT_S),
                    )
                    await self._dialer_handshake(peer, ws)
            except hs.HandshakeError as exc:
                self._refuse(peer.id, exc)
                if ws is not None:
                    await ws.close(code=CLOSE_HANDSHAKE_REFUSED, message=exc.kind.encode())
            except PeerRefused as exc:
                self.stats["refused_by_peer"] += 1
                self._dial_failed(peer, exc.message, level=logging.WARNING)
            except TimeoutError:
                if ws is None:
                    self.stats["dial_failures"] += 1
                    self._dial_failed(peer, "connect timed out")
                else:
                    self._refuse(peer.id, hs.HandshakeError("timeout", "listener too slow"))
                    await ws.close(code=CLOSE_HANDSHAKE_REFUSED, message=b"timeout")
            except (aiohttp.ClientError, OSError) as exc:
                self.stats["dial_failures"] += 1
                self._dial_failed(peer, f"{type(exc).__name__}: {exc}")
            except Exception:  # a bug must not end this peer's dialer for good
                self.stats["dial_failures"] += 1
                ratelimited.log(
                    log,
                    logging.ERROR,
                    "dial_error",
                    "p2p: unexpected error dialing %.16s; retrying",
                    peer.id,
                    exc_info=True,
                )
            else:
                attempt = 0
                peer.failing = False
                self.stats["connects"] += 1
                if peer.ever_connected:
                    self.stats["reconnects"] += 1
                peer.ever_connected = True
                log.info("p2p: connected to %.16s (%d queued)", peer.id, len(peer.queue))
                await self._run_outbound(peer, ws)
                log.info("p2p: connection to %.16s lost", peer.id)
            finally:
                if ws is not None and not ws.closed:
                    await ws.close()
            await asyncio.sleep(self._backoff(peer, attempt))
            attempt += 1

    def _dial_failed(self, peer: _Peer, why: str, level: int = logging.INFO) -> None:
        """Log the first failure of a streak at ``level``, the repeats at debug."""
        log.log(
            logging.DEBUG if peer.failing else level,
            "p2p: cannot connect to %.16s at %s (%s); retrying",
            peer.id,
            peer.url,
            why,
        )
        peer.failing = True

    async def _dialer_handshake(self, peer: _Peer, ws: aiohttp.ClientWebSocketResponse) -> None:
        hello = hs.parse_hello(await self._handshake_frame(ws))
        hs.check_hello(hello, chain_id=self._chain_id, expected_id=peer.id)
        auth = hs.make_auth(self._key, self._chain_id, hello)
        await ws.send_bytes(hs.encode(auth))
        welcome = hs.parse_welcome(await self._handshake_frame(ws))
        hs.check_welcome(welcome, chain_id=self._chain_id, auth=auth, expected_id=peer.id)

    async def _run_outbound(self, peer: _Peer, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Write the queue to ``ws`` while watching it for close; returns when either ends."""
        peer.outbound = ws
        writer = asyncio.create_task(self._write(peer, ws), name=f"p2p-w-{peer.id[:8]}")
        watcher = asyncio.create_task(self._watch(peer, ws), name=f"p2p-r-{peer.id[:8]}")
        try:
            done, _ = await asyncio.wait({writer, watcher}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is not None:
                    log.info("p2p: connection to %.16s ended: %r", peer.id, exc)
        finally:
            peer.outbound = None
            writer.cancel()
            watcher.cancel()
            await asyncio.gather(writer, watcher, return_exceptions=True)

    async def _write(self, peer: _Peer, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Drain the queue; aiohttp waits while the socket buffer is full (backpressure).

        A peer that takes longer than send_timeout_s to take one frame is dropped: the message
        stays at the head of the queue and the dialer reconnects, so a slow reader costs us at
        most the bounded queue, never an ever-growing write buffer.
        """
        queue = peer.queue
        while True:
            await queue.wait()
            try:
                async with asyncio.timeout(self._send_timeout_s):
                    await ws.send_bytes(queue.head())
            except TimeoutError:
                self.stats["slow_peer_drops"] += 1
                ratelimited.warning(
                    log,
                    "slow_peer",
                    "p2p: %.16s took over %.0f s to read one frame; dropping the connection",
                    peer.id,
                    self._send_timeout_s,
                )
                return
            queue.pop()
            self.stats["sent"] += 1

    async def _watch(self, peer: _Peer, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Read the outbound connection: it answers pings and tells us when the peer goes away."""
        while True:
            msg = await ws.receive()
            if msg.type in (WSMsgType.BINARY, WSMsgType.TEXT):
                self.stats["malformed"] += 1
                ratelimited.warning(
                    log,
                    "listener_sent_data",
                    "p2p: %.16s sent data on our outbound connection; closing",
                    peer.id,
                )
                await ws.close(code=CLOSE_PROTOCOL, message=b"listener must not send")
                return
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return

    # --- receiving -------------------------------------------------------------------------------

    async def _accept(self, request: web.Request) -> web.StreamResponse:
        """aiohttp handler for GET /p2p: handshake, then read until the connection ends."""
        if self._state != "running":
            return web.Response(status=503, text="shutting down")
        ws = web.WebSocketResponse(
            max_msg_size=hs.HANDSHAKE_MAX_BYTES + 1,  # raised once authenticated
            heartbeat=self._heartbeat_s,
            compress=False,
            timeout=CLOSE_TIMEOUT_S,
        )
        if not ws.can_prepare(request).ok:
            self._refuse(request.remote, hs.HandshakeError("malformed", "no WebSocket upgrade"))
            return web.Response(status=400, text="expected a WebSocket upgrade")
        entry = _Pending(address_key(request.remote))
        self._make_room(entry.address)
        self._pending[id(ws)] = entry
        self._sockets.add(ws)
        peer: _Peer | None = None
        try:
            peer = await self._pending_handshake(request, ws, entry)
            if peer is None:
                return ws if ws.prepared else web.Response(status=503, text="busy")
            await self._register_inbound(peer, ws)
            try:
                await self._read(peer, ws)
            except (aiohttp.ClientError, ConnectionError) as exc:
                log.info("p2p: inbound connection from %.16s lost: %r", peer.id, exc)
            return ws
        finally:
            self._pending.pop(id(ws), None)
            self._upgraded.discard(request.protocol)
            self._sockets.discard(ws)
            if peer is not None and peer.inbound is ws:
                peer.inbound = None
            if ws.prepared and not ws.closed:
                await ws.close()

    async def _sweep_idle(self, runner: web.AppRunner) -> None:
        """Close TCP connections that have not become a WebSocket within the handshake timeout.

        aiohttp waits for a request's headers without a deadline, so without this a socket that
        never sends a request (or sends half of one) would be held forever, outside the pending
        handshake slots: enough of them exhaust the process's file descriptors.
        """
        server = runner.server
        assert server is not None
        first_seen: dict[object, float] = {}
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._handshake_timeout_s / 2)
            now = loop.time()
            current = server.connections
            first_seen = {c: first_seen.get(c, now) for c in current if c not in self._upgraded}
            for conn in current:
                if conn in first_seen and now - first_seen[conn] >= self._handshake_timeout_s:
                    self.stats["idle_closed"] += 1
                    conn.force_close()

    def _make_room(self, address: str) -> None:
        """Evict a pending handshake if ``address`` or the listener is at its limit.

        The newcomer always gets in: a silent connection is indistinguishable from a slow
        validator, but a validator finishes in milliseconds while a holder must outnumber the
        limit continuously. The victim is the oldest connection of the address holding the most
        slots, so an outsider flooding from its own addresses only ever evicts itself.
        """
        live = [e for e in self._pending.values() if not e.evicted]
        same = [e for e in live if e.address == address]
        if len(same) >= self._max_pending_per_address:
            victim = same[0]
        elif len(live) >= self._max_pending:
            counts: dict[str, int] = {}
            for e in live:
                counts[e.address] = counts.get(e.address, 0) + 1
            busiest = max(counts.values())
            victim = next(e for e in live if counts[e.address] == busiest)
        else:
            return
        self.stats["busy_evictions"] += 1
        ratelimited.warning(
            log,
            "handshake_evicted",
            "p2p: pending handshakes full; evicting the oldest from %s",
            victim.address,
        )
        victim.evict()

    async def _pending_handshake(
        self, request: web.Request, ws: web.WebSocketResponse, entry: _Pending
    ) -> _Peer | None:
        """Upgrade and authenticate within the handshake timeout; None if refused."""
        try:
            try:
                async with asyncio.timeout(self._handshake_timeout_s) as deadline:
                    entry.deadline = deadline
                    if entry.evicted:  # evicted before it could even start
                        deadline.reschedule(asyncio.get_running_loop().time())
                    try:
                        await ws.prepare(request)
                        self._upgraded.add(request.protocol)
                        return await self._listener_handshake(request, ws)
                    except (aiohttp.ClientError, ConnectionError) as exc:
                        raise hs.HandshakeError("malformed", f"connection lost: {exc!r}") from None
            except TimeoutError:
                kind: hs.HandshakeKind = "busy" if entry.evicted else "timeout"
                why = "evicted to make room" if entry.evicted else "dialer too slow"
                self._refuse(request.remote, hs.HandshakeError(kind, why))
                if ws.prepared:
                    await ws.close(code=CLOSE_HANDSHAKE_REFUSED, message=kind.encode())
                return None
            except hs.HandshakeError as exc:
                self._refuse(request.remote, exc)
                if ws.prepared:
                    await ws.close(code=CLOSE_HANDSHAKE_REFUSED, message=exc.kind.encode())
                return None
            except PeerRefused as exc:
                self.stats["refused_by_peer"] += 1
                ratelimited.warning(
                    log,
                    "dialer_gave_up",
                    "p2p: dialer %s gave up its handshake: %s",
                    request.remote,
                    exc.message,
                )
                return None
        finally:
            self._pending.pop(id(ws), None)

    def _refuse(self, who: str | None, exc: hs.HandshakeError) -> None:
        self.stats["rejected_handshakes"] += 1
        ratelimited.warning(
            log, "handshake_refused", "p2p: handshake with %s refused: %s", who, exc.message
        )

    async def _listener_handshake(self, request: web.Request, ws: web.WebSocketResponse) -> _Peer:
        hello = hs.make_hello(self._key, self._chain_id)
        await ws.send_bytes(hs.encode(hello))
        auth = hs.parse_auth(await self._handshake_frame(ws))
        peer_id = hs.check_auth(auth, hello=hello, validators=self._peers)
        _raise_frame_limit(ws, request, self._max_message_bytes + 1)  # aiohttp refuses >= limit
        await ws.send_bytes(hs.encode(hs.make_welcome(self._key, self._chain_id, auth)))
        return self._peers[peer_id]

    async def _handshake_frame(
        self, ws: web.WebSocketResponse | aiohttp.ClientWebSocketResponse
    ) -> bytes | str:
        msg = await ws.receive()
        if msg.type in (WSMsgType.BINARY, WSMsgType.TEXT):
            data: bytes | str = msg.data
            return data
        if msg.type is WSMsgType.ERROR:
            raise hs.HandshakeError("malformed", f"bad frame during handshake: {msg.data}")
        code = msg.data if msg.type is WSMsgType.CLOSE else ws.close_code
        if code == CLOSE_HANDSHAKE_REFUSED:
            text = msg.extra if isinstance(msg.extra, str) and msg.extra else "no reason"
            raise PeerRefused(f"our handshake was refused ({text})", kind=text)
        raise hs.HandshakeError("malformed", f"connection closed during handshake (code {code})")

    async def _register_inbound(self, peer: _Peer, ws: web.WebSocketResponse) -> None:
        old, peer.inbound = peer.inbound, ws
        self.stats["accepts"] += 1
        log.info("p2p: %.16s connected inbound", peer.id)
        if old is not None and not old.closed:
            self.stats["inbound_replaced"] += 1
            log.info("p2p: newer inbound connection from %.16s replaces the old one", peer.id)
            await old.close(code=CLOSE_REPLACED, message=b"replaced")

    async def _read(self, peer: _Peer, ws: web.WebSocketResponse) -> None:
        """Move frames into the peer's inbox; the consumer task decodes and handles them.

        Reading never waits for the handler (only for inbox space), so pings are answered
        and the dialer's heartbeat does not mistake a busy node for a dead one.
        """
        while True:
            msg = await ws.receive()
            if msg.type in (WSMsgType.BINARY, WSMsgType.TEXT):
                await peer.inbox.put(ws, msg.data)
            elif msg.type is WSMsgType.ERROR:
                exc_data = msg.data
                if (
                    isinstance(exc_data, aiohttp.WebSocketError)
                    and exc_data.code == WSCloseCode.MESSAGE_TOO_BIG
                ):
                    self.stats["oversized"] += 1
                    ratelimited.warning(
                        log,
                        "oversized",
                        "p2p: %.16s sent a message over %d bytes; connection closed",
                        peer.id,
                        self._max_message_bytes,
                    )
                else:
                    log.info("p2p: inbound connection from %.16s failed: %r", peer.id, exc_data)
                return
            else:  # CLOSE / CLOSING / CLOSED
                return

    async def _consume(self, peer: _Peer) -> None:
        """Decode and hand ``peer``'s messages to the handler one at a time, in receive order."""
        while True:
            ws, frame = await peer.inbox.get()
            message = await self._decode_inbound(peer, ws, frame)
            if message is None:
                continue
            try:
                await self._handler(peer.id, message)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.stats["handler_errors"] += 1
                ratelimited.log(
                    log,
                    logging.ERROR,
                    "handler_failed",
                    "p2p: handler failed on a message from %.16s",
                    peer.id,
                    exc_info=True,
                )
            else:
                self.stats["delivered"] += 1

    async def _decode_inbound(
        self, peer: _Peer, ws: web.WebSocketResponse, frame: Frame
    ) -> dict[str, Any] | None:
        """The message in ``frame``, or None (counted) if malformed; too many in a row cut ``ws``."""
        try:
            obj = loads_strict(frame)
            if not isinstance(obj, dict):
                raise EncodingError("peer message must be a JSON object")
        except EncodingError as exc:
            self.stats["malformed"] += 1
            peer.malformed_in_row += 1
            log.debug("p2p: malformed message from %.16s: %s", peer.id, exc.message)
            if peer.malformed_in_row >= MAX_MALFORMED_IN_ROW:
                peer.malformed_in_row = 0
                self.stats["disconnected_malformed"] += 1
                ratelimited.warning(
                    log,
                    "malformed",
                    "p2p: %d malformed messages in a row from %.16s; closing",
                    MAX_MALFORMED_IN_ROW,
                    peer.id,
                )
                if not ws.closed:
                    await ws.close(code=CLOSE_MALFORMED, message=b"malformed messages")
            return None
        peer.malformed_in_row = 0
        self.stats["received"] += 1
        return obj

    @staticmethod
    def _discard_inbox(peer: _Peer) -> None:
        peer.inbox.clear()

    # --- shutdown --------------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        tasks = [task for peer in self._peers.values() for task in peer.tasks]
        if self._sweeper is not None:
            tasks.append(self._sweeper)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for peer in self._peers.values():
            peer.tasks.clear()
            self._discard_inbox(peer)  # frees a reader blocked on a full inbox
        sockets = list(self._sockets)
        await asyncio.gather(
            *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"shutdown") for ws in sockets),
            return_exceptions=True,
        )
        for peer in self._peers.values():
            self._discard_inbox(peer)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
        log.info("p2p stopped")
