"""Validator-to-validator transport: long-lived, authenticated aiohttp WebSockets.

Every node dials every other validator; the connection it dialed is the one it SENDS on, and the
connections other validators dialed to it are the ones it RECEIVES on. Two one-way connections
per pair keep each side simple (one writer task per outbound connection, one reader per inbound)
and make "who may send me what" a question answered once, by the handshake (node/handshake.py).

Delivery is best effort and ordered per (sender, receiver) pair: messages queued while a peer is
unreachable wait in a bounded queue and are flushed when the dialer reconnects; a message being
written when a connection breaks may be lost or, rarely, sent twice. The consensus layer above
tolerates both (it retransmits and deduplicates), so the transport never blocks its caller.
See docs/peers.md for the wire protocol and every limit.
"""

from __future__ import annotations

import asyncio
import hashlib
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

log = logging.getLogger(__name__)

PeerHandler = Callable[[str, dict[str, Any]], Awaitable[None]]

P2P_PATH = "/p2p"
DEFAULT_HEARTBEAT_S = 5.0  # ping after this long without traffic; dead if no pong in half of it
MAX_MALFORMED_IN_ROW = 8  # consecutive undecodable messages before an inbound peer is cut off
MAX_PENDING_HANDSHAKES = 64  # unauthenticated inbound connections held at once
INBOUND_BUFFER_MESSAGES = 1_024  # decoded messages per peer waiting for the handler
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
    "busy_refusals",  # inbound connections refused over MAX_PENDING_HANDSHAKES
)


class PeerNetworkError(AidchainError):
    """Misuse of a PeerNetwork (e.g. starting it twice)."""

    reason = "peer_network"


class PeerRefused(AidchainError):
    """The validator we dialed refused our handshake (its close text says why)."""

    reason = "peer_refused"


class _SendQueue:
    """Bounded FIFO of encoded messages: the oldest are kept, the newest refused when full.

    A deque (not asyncio.Queue) so the writer can peek, send, and only then pop: a message whose
    write was interrupted stays at the head and goes out on the next connection.
    """

    __slots__ = ("_items", "_limit", "_ready")

    def __init__(self, limit: int) -> None:
        self._items: deque[bytes] = deque()
        self._limit = limit
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def push(self, data: bytes) -> bool:
        if len(self._items) >= self._limit:
            return False
        self._items.append(data)
        self._ready.set()
        return True

    def head(self) -> bytes:
        return self._items[0]

    def pop(self) -> None:
        self._items.popleft()

    async def wait(self) -> None:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()


@dataclass(slots=True)
class _Peer:
    id: str
    url: str
    queue: _SendQueue
    inbox: asyncio.Queue[dict[str, Any]]
    rng: random.Random
    outbound: aiohttp.ClientWebSocketResponse | None = None
    inbound: web.WebSocketResponse | None = None
    ever_connected: bool = False
    failing: bool = False  # last dial failed (log repeats at debug only)
    full_warned: bool = False  # queue-full already logged since the last accepted message
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


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
        reconnect_min_s: float = 0.1,
        reconnect_max_s: float = 5.0,
        handshake_timeout_s: float = 5.0,
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
                queue=_SendQueue(send_queue_len),
                inbox=asyncio.Queue(INBOUND_BUFFER_MESSAGES),
                rng=random.Random(seed),
            )
        self.stats: dict[str, int] = dict.fromkeys(STAT_KEYS, 0)
        self._state = "new"  # new -> running -> stopping -> stopped
        self._stopped = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._sockets: set[web.WebSocketResponse] = set()  # every accepted WebSocket
        self._pending_handshakes = 0
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
        self._state = "running"
        app = web.Application()
        app.router.add_get(P2P_PATH, self._accept)
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
            log.warning("p2p: dropping message for unknown peer %.16s", peer_id)
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
                log.warning("p2p: send queue to %.16s full; refusing new messages", peer.id)
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
                log.exception("p2p: unexpected error dialing %.16s; retrying", peer.id)
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
        queue = peer.queue
        while True:
            await queue.wait()
            await ws.send_bytes(queue.head())
            queue.pop()
            self.stats["sent"] += 1

    async def _watch(self, peer: _Peer, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Read the outbound connection: it answers pings and tells us when the peer goes away."""
        while True:
            msg = await ws.receive()
            if msg.type in (WSMsgType.BINARY, WSMsgType.TEXT):
                self.stats["malformed"] += 1
                log.warning("p2p: %.16s sent data on our outbound connection; closing", peer.id)
                await ws.close(code=CLOSE_PROTOCOL, message=b"listener must not send")
                return
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return

    # --- receiving -------------------------------------------------------------------------------

    async def _accept(self, request: web.Request) -> web.StreamResponse:
        """aiohttp handler for GET /p2p: handshake, then read until the connection ends."""
        if self._state != "running":
            return web.Response(status=503, text="shutting down")
        if self._pending_handshakes >= MAX_PENDING_HANDSHAKES:
            self.stats["busy_refusals"] += 1
            log.warning(
                "p2p: %d handshakes pending; refusing %s", MAX_PENDING_HANDSHAKES, request.remote
            )
            return web.Response(status=503, text="too many pending handshakes")
        ws = web.WebSocketResponse(
            max_msg_size=self._max_message_bytes + 1,  # aiohttp refuses size >= max_msg_size
            heartbeat=self._heartbeat_s,
            compress=False,
            timeout=CLOSE_TIMEOUT_S,
        )
        if not ws.can_prepare(request).ok:
            self.stats["rejected_handshakes"] += 1
            return web.Response(status=400, text="expected a WebSocket upgrade")
        try:
            await ws.prepare(request)
        except ConnectionError as exc:  # the dialer hung up before the upgrade was written
            log.debug("p2p: %s left before the WebSocket upgrade: %r", request.remote, exc)
            return ws
        self._pending_handshakes += 1
        self._sockets.add(ws)
        peer: _Peer | None = None
        try:
            try:
                async with asyncio.timeout(self._handshake_timeout_s):
                    try:
                        peer = await self._listener_handshake(ws)
                    except (aiohttp.ClientError, ConnectionError) as exc:
                        raise hs.HandshakeError("malformed", f"connection lost: {exc!r}") from None
            except TimeoutError:
                self._refuse(request.remote, hs.HandshakeError("timeout", "dialer too slow"))
                await ws.close(code=CLOSE_HANDSHAKE_REFUSED, message=b"timeout")
                return ws
            except hs.HandshakeError as exc:
                self._refuse(request.remote, exc)
                await ws.close(code=CLOSE_HANDSHAKE_REFUSED, message=exc.kind.encode())
                return ws
            except PeerRefused as exc:
                self.stats["refused_by_peer"] += 1
                log.warning("p2p: dialer %s gave up its handshake: %s", request.remote, exc.message)
                return ws
            finally:
                self._pending_handshakes -= 1
            await self._register_inbound(peer, ws)
            try:
                await self._read(peer, ws)
            except (aiohttp.ClientError, ConnectionError) as exc:
                log.info("p2p: inbound connection from %.16s lost: %r", peer.id, exc)
            return ws
        finally:
            self._sockets.discard(ws)
            if peer is not None and peer.inbound is ws:
                peer.inbound = None
            if not ws.closed:
                await ws.close()

    def _refuse(self, who: str | None, exc: hs.HandshakeError) -> None:
        self.stats["rejected_handshakes"] += 1
        log.warning("p2p: handshake with %s refused: %s", who, exc.message)

    async def _listener_handshake(self, ws: web.WebSocketResponse) -> _Peer:
        hello = hs.make_hello(self._key, self._chain_id)
        await ws.send_bytes(hs.encode(hello))
        auth = hs.parse_auth(await self._handshake_frame(ws))
        peer_id = hs.check_auth(auth, hello=hello, validators=self._peers)
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
        """Decode frames into the peer's inbox; the consumer task hands them to the handler.

        Reading never waits for the handler (only for inbox space), so pings are answered
        and the dialer's heartbeat does not mistake a busy node for a dead one.
        """
        malformed_in_row = 0
        while True:
            msg = await ws.receive()
            if msg.type in (WSMsgType.BINARY, WSMsgType.TEXT):
                try:
                    obj = loads_strict(msg.data)
                    if not isinstance(obj, dict):
                        raise EncodingError("peer message must be a JSON object")
                except EncodingError as exc:
                    self.stats["malformed"] += 1
                    malformed_in_row += 1
                    log.debug("p2p: malformed message from %.16s: %s", peer.id, exc.message)
                    if malformed_in_row >= MAX_MALFORMED_IN_ROW:
                        self.stats["disconnected_malformed"] += 1
                        log.warning(
                            "p2p: %d malformed messages in a row from %.16s; closing",
                            malformed_in_row,
                            peer.id,
                        )
                        await ws.close(code=CLOSE_MALFORMED, message=b"malformed messages")
                        return
                    continue
                malformed_in_row = 0
                self.stats["received"] += 1
                await peer.inbox.put(obj)
            elif msg.type is WSMsgType.ERROR:
                exc_data = msg.data
                if (
                    isinstance(exc_data, aiohttp.WebSocketError)
                    and exc_data.code == WSCloseCode.MESSAGE_TOO_BIG
                ):
                    self.stats["oversized"] += 1
                    log.warning(
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
        """Hand ``peer``'s messages to the handler one at a time, in the order received."""
        while True:
            message = await peer.inbox.get()
            try:
                await self._handler(peer.id, message)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.stats["handler_errors"] += 1
                log.exception("p2p: handler failed on a message from %.16s", peer.id)
            else:
                self.stats["delivered"] += 1

    @staticmethod
    def _discard_inbox(peer: _Peer) -> None:
        while not peer.inbox.empty():
            peer.inbox.get_nowait()

    # --- shutdown --------------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        tasks = [task for peer in self._peers.values() for task in peer.tasks]
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
