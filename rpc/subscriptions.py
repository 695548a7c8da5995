"""WebSocket subscriptions: topics, filters, per-socket tables and send queues, and one pump.

The node tells the hub two things and never waits for it: a block was committed
(``on_block``, from the block-applied path) and a watched transaction entered the mempool
(``on_tx_pending``). Both only record and wake the pump, a single task that turns committed
blocks into notifications and puts them on each socket's bounded send queue; the socket's
writer (rpc/server.py) drains that queue. So a slow client, or many clients, can cost the
pump's time on the event loop but can never hold up a commit.

No gap, no duplicate: every ``blocks`` and ``events`` subscription has one cursor,
``next_height``, and the only thing that moves it is delivering exactly that height's
notifications. Live delivery and ``from_height`` replay are the same code: the pump delivers
height ``next_height`` (from a small cache of recently committed blocks, or from the store) for
as long as it is <= the committed head. Heights below the head (a ``from_height`` replay, or a
burst of blocks state sync applied at once) are paced by the socket's queue (delivery waits
while it is over half full) and by a per-step work budget. At the head a notification that does
not fit in the queue drops the client (told with a ``dropped`` notification, then closed with
1008): holding the newest block back for it would mean holding memory for it without bound.

A new subscription is inactive until its ``subscribe`` reply is on the socket's queue
(``Session.activate``), so the reply carrying its id always precedes its first notification.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chain import limits
from chain.block import Block, CommitCertificate
from chain.checks import is_uint
from chain.encoding import is_valid_text, shown_name
from rpc.api import NodeAPI
from rpc.errors import InvalidParams, MethodNotFound
from rpc.notifications import (
    REASON_BAD_FILTER,
    BlockNotes,
    ChainFeed,
    Committed,
    EventFilter,
    TxStatus,
    encode,
    event_filter,
    matches,
    no_filter,
    note,
    tx_filter,
)

TOPICS = ("blocks", "tx", "events", "sync")
CURSOR_TOPICS = frozenset({"blocks", "events"})  # the topics that take ``from_height``
MAX_HEIGHT = 2**63 - 1
RECENT_BLOCKS = 4  # committed blocks kept from the hook, so live delivery reads no store
BUILT_BLOCKS = 4  # heights whose notifications are kept encoded for every subscriber
STEP_TX_BUDGET = 1_000  # transactions' worth of blocks the pump reads/encodes before yielding
STEP_NOTIFICATIONS = 2_000  # ... and notifications it queues (a block for 2,000 subscribers)
SYNC_POLL_S = 1.0  # the sync topic looks at the node's sync status this often

REASON_WS_ONLY = "ws_only"
REASON_UNKNOWN_TOPIC = "unknown_topic"
REASON_TOO_MANY = "too_many_subscriptions"
QUEUE_FULL_REASON = "notification queue full: the client does not read fast enough"


def check_from_height(name: str, value: Any) -> int:
    """The ``from_height`` parameter: an integer height (0 means from the first block)."""
    if not is_uint(value, MAX_HEIGHT):
        raise InvalidParams(f"parameter '{name}' must be an integer in 0..{MAX_HEIGHT}", param=name)
    return value


# --- subscriptions and sessions ------------------------------------------------------------------

_STATUS_RANK = {"unknown": 0, "pending": 1, "committed": 2}
_DONE, _PAUSED, _DROPPED = 0, 1, 2  # what delivering (the rest of) a height to one subscription did


@dataclass(slots=True, eq=False)
class Subscription:
    id: str
    topic: str
    session: Session
    events: EventFilter | None = None
    tx_hash: str | None = None
    next_height: int = 0  # blocks/events: the next height to deliver ...
    next_event: int = 0  # events: ... and the next of its events to look at
    replaying: bool = False  # blocks/events: started behind the head, not caught up yet
    active: bool = False  # False until the subscribe reply is queued
    sent_status: int = -1  # tx: rank of the last status sent
    sent_sync: tuple[bool, int] | None = None  # sync: (syncing, peers) last sent


@dataclass(slots=True)
class _Out:
    """One message for the socket: a reply (``done`` says when it was sent) or a notification."""

    body: bytes
    counted: int  # bytes charged to the notification queue (0 for replies)
    done: asyncio.Future[bool] | None = None
    committed_at: float | None = None  # live block/event notifications: the commit hook's time


class Session:
    """One WebSocket connection: its subscriptions and its ordered, bounded send queue.

    Replies and notifications share one queue so the writer sends them in order. Reply bytes
    are bounded by the RPC reply limits (one reply in flight per socket); notification bytes by
    ``queue_bytes``: a live notification that does not fit drops the client.
    """

    def __init__(
        self,
        hub: SubscriptionHub | None,
        queue_bytes: int,
        on_drop: Callable[[], None] = lambda: None,
    ) -> None:
        self.hub = hub
        self.queue_bytes = queue_bytes
        self.subs: dict[str, Subscription] = {}
        self.note_bytes = 0
        self.drop_reason: str | None = None
        self._items: deque[_Out] = deque()
        self._ready = asyncio.Event()
        self._closed = False
        self._on_drop = on_drop

    @property
    def open(self) -> bool:
        return not self._closed and self.drop_reason is None

    def push_reply(self, body: bytes) -> asyncio.Future[bool]:
        """Queue a reply; the future says whether it reached the socket."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if not self.open:
            done.set_result(False)
            return done
        self._items.append(_Out(body, 0, done))
        self._ready.set()
        return done

    def push_note(self, message: bytes, committed_at: float | None = None) -> bool:
        """Queue a notification; False (and the client is dropped) when it does not fit."""
        if not self.open:
            return False
        if self.note_bytes + len(message) > self.queue_bytes:
            self.drop(QUEUE_FULL_REASON)
            return False
        self._items.append(_Out(message, len(message), committed_at=committed_at))
        self.note_bytes += len(message)
        self._ready.set()
        return True

    def room_for_replay(self) -> bool:
        """Replay only fills the queue to half, so live notifications and replies keep room."""
        return self.open and self.note_bytes <= self.queue_bytes // 2

    def activate(self) -> None:
        """The subscribe replies are queued: start this socket's new subscriptions."""
        if self.hub is not None and self.open:
            self.hub.activate(self)

    def drop(self, reason: str) -> None:
        """Stop notifying; tell each subscription why (ahead of nothing: unsent ones are freed)."""
        if not self.open:
            return
        self.drop_reason = reason
        kept: deque[_Out] = deque()
        for item in self._items:
            if item.done is not None:
                kept.append(item)  # replies are already counted against the reply budget
        self._items = kept
        self.note_bytes = 0
        dropped = encode({"error": "dropped", "reason": reason})
        for sub_id in self.subs:
            self._items.append(_Out(note(sub_id, dropped), 0))
        if self.hub is not None:
            self.hub.stats.dropped_clients += 1
            self.hub.forget(self)
        self._ready.set()
        self._on_drop()

    def close(self) -> None:
        """The connection is gone: free everything and let the writer end."""
        if self.hub is not None:
            self.hub.forget(self)
        self._closed = True
        for item in self._items:
            if item.done is not None and not item.done.done():
                item.done.set_result(False)
        self._items.clear()
        self.note_bytes = 0
        self._ready.set()

    async def take(self) -> _Out | None:
        """The next message for the writer; None once the connection is closed or dropped and
        everything left (replies, dropped notices) has been taken."""
        while not self._items:
            if self._closed or self.drop_reason is not None:
                return None
            self._ready.clear()
            await self._ready.wait()
        return self.pop_ready()

    def sent(self, item: _Out) -> None:
        """The writer handed ``item`` to the socket: count commit-to-notification time."""
        if item.committed_at is not None and self.hub is not None:
            self.hub.stats.record_delay(time.monotonic() - item.committed_at)

    def pop_ready(self) -> _Out | None:
        """The next queued message, or None if nothing is queued right now."""
        if not self._items:
            return None
        item = self._items.popleft()
        if item.counted:
            was_over = not self.room_for_replay()
            self.note_bytes -= item.counted
            if was_over and self.room_for_replay() and self.hub is not None:
                self.hub.wake()  # a paced replay may go on
        return item


# --- the hub -------------------------------------------------------------------------------------


# Commit hook -> live notification handed to the socket: a histogram (count per upper bound,
# ms; the last bucket holds the rest). node_status shows it; the benchmark reads its p99.
DELAY_BUCKETS_MS = (1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2**62)


@dataclass(slots=True)
class HubStats:
    subscriptions: int = 0
    notifications: int = 0
    dropped_clients: int = 0
    replayed_blocks: int = 0
    notify_delay_ms: list[int] = field(default_factory=lambda: [0] * len(DELAY_BUCKETS_MS))
    # commit hook -> the pump's next step: how long the event loop took to get to it at all
    wake_delay_ms: list[int] = field(default_factory=lambda: [0] * len(DELAY_BUCKETS_MS))

    def record_delay(self, seconds: float, histogram: list[int] | None = None) -> None:
        ms = seconds * 1000
        counts = self.notify_delay_ms if histogram is None else histogram
        for i, bound in enumerate(DELAY_BUCKETS_MS):
            if ms <= bound:
                counts[i] += 1
                return

    def as_dict(self) -> dict[str, Any]:
        return {
            "subscriptions": self.subscriptions,
            "notifications": self.notifications,
            "dropped_clients": self.dropped_clients,
            "replayed_blocks": self.replayed_blocks,
            "notify_delay_ms": _buckets(self.notify_delay_ms),
            "wake_delay_ms": _buckets(self.wake_delay_ms),
        }


def _buckets(counts: list[int]) -> dict[str, int]:
    return {f"le_{b}": n for b, n in zip(DELAY_BUCKETS_MS, counts, strict=True)}


class SubscriptionHub:
    """Every socket's subscriptions, fed by the node's commit hook, driven by one pump task."""

    def __init__(
        self,
        feed: ChainFeed,
        *,
        max_per_socket: int = limits.DEFAULT_RPC_MAX_SUBSCRIPTIONS_PER_SOCKET,
        queue_bytes: int = limits.DEFAULT_RPC_SUBSCRIPTION_QUEUE_BYTES,
    ) -> None:
        if max_per_socket < 1 or queue_bytes < 1:
            raise ValueError("subscription limits must be positive")
        self.feed = feed
        self.max_per_socket = max_per_socket
        self.queue_bytes = queue_bytes
        self.stats = HubStats()
        self._next_id = 0
        self._cursor: dict[str, Subscription] = {}  # blocks/events, in subscription order
        self._tx: dict[str, dict[str, Subscription]] = {}  # watched hash -> subscriptions
        self._sync: dict[str, Subscription] = {}
        self._pending: set[str] = set()  # watched hashes admitted since the last step
        self._recent: OrderedDict[int, tuple[Committed, float]] = OrderedDict()
        self._built: OrderedDict[int, BlockNotes] = OrderedDict()
        self._read_txs = 0  # transactions of the blocks built into notes so far (pump work)
        self._tx_height: int | None = None  # last height scanned for watched transactions
        self._woken = 0  # last hooked height whose wake-up delay is counted
        self._wake = asyncio.Event()
        self._last_sync_poll = 0.0

    # --- the node's hooks (never block, never raise into the commit path) ------------------------
    def on_block(
        self,
        block: Block,
        receipts: Sequence[dict[str, Any]],
        certificate: CommitCertificate,
        end_block_events: Sequence[dict[str, Any]] = (),
    ) -> None:
        """A block was committed and stored: remember it and wake the pump. O(1).

        ``end_block_events``: its end-of-block sweep's events, as stored with the block.
        """
        self._recent[block.height] = (
            Committed(block, receipts, certificate, end_block_events),
            time.monotonic(),
        )
        while len(self._recent) > RECENT_BLOCKS:
            self._recent.popitem(last=False)
        self._wake.set()

    def on_tx_pending(self, tx_hash: str) -> None:
        """A transaction entered the mempool. O(1)."""
        if tx_hash in self._tx:
            self._pending.add(tx_hash)
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    # --- sessions and the subscribe / unsubscribe methods ----------------------------------------
    def open_session(self, on_drop: Callable[[], None] = lambda: None) -> Session:
        return Session(self, self.queue_bytes, on_drop)

    def subscribe(
        self, session: Session, topic: str, raw: dict[str, Any] | None, from_height: int | None
    ) -> str:
        """Validate and register an (inactive) subscription; its id."""
        if topic not in TOPICS:
            raise InvalidParams(
                f"unknown topic '{shown_name(topic)}' (topics: {', '.join(TOPICS)})",
                reason=REASON_UNKNOWN_TOPIC,
                param="topic",
            )
        if len(session.subs) >= self.max_per_socket:
            raise InvalidParams(
                f"this connection already has {self.max_per_socket} subscriptions; "
                "unsubscribe one first",
                reason=REASON_TOO_MANY,
                limit=self.max_per_socket,
            )
        if from_height is not None and topic not in CURSOR_TOPICS:
            raise InvalidParams(
                "from_height applies to the blocks and events topics only",
                reason=REASON_BAD_FILTER,
                param="from_height",
            )
        sub = Subscription(self._new_id(), topic, session)
        if topic == "tx":
            sub.tx_hash = tx_filter(raw)
        elif topic == "events":
            sub.events = event_filter(raw, self.feed)
        else:
            no_filter(topic, raw)
        if topic in CURSOR_TOPICS:
            head = self.feed.head()
            start = head + 1 if from_height is None else max(1, from_height)
            sub.next_height, sub.replaying = start, start <= head
        session.subs[sub.id] = sub
        self.stats.subscriptions += 1
        return sub.id

    def unsubscribe(self, session: Session, sub_id: str) -> bool:
        sub = session.subs.pop(sub_id, None)
        if sub is None:
            return False
        self._unregister(sub)
        return True

    def activate(self, session: Session) -> None:
        """Register the session's new subscriptions; tx and sync ones get their status now."""
        for sub in list(session.subs.values()):  # a committed tx's subscription ends here
            if not session.open:
                return  # dropped by a status that did not fit: nothing more is registered
            if sub.active:
                continue
            sub.active = True
            if sub.topic in CURSOR_TOPICS:
                self._cursor[sub.id] = sub
            elif sub.topic == "tx":
                assert sub.tx_hash is not None
                if not self._tx:  # blocks up to here are covered by the status read below
                    self._tx_height = self.feed.head()
                self._tx.setdefault(sub.tx_hash, {})[sub.id] = sub
                self._send_status(sub, self.feed.tx_status(sub.tx_hash))
            else:
                self._sync[sub.id] = sub
                self._send_sync(sub, self.feed.sync_status())
        self._wake.set()

    def forget(self, session: Session) -> None:
        """The session is closed or dropped: unregister all its subscriptions."""
        for sub in session.subs.values():
            self._unregister(sub)
        session.subs = {}

    def _unregister(self, sub: Subscription) -> None:
        self._cursor.pop(sub.id, None)
        self._sync.pop(sub.id, None)
        if sub.tx_hash is not None:
            watchers = self._tx.get(sub.tx_hash)
            if watchers is not None:
                watchers.pop(sub.id, None)
                if not watchers:
                    del self._tx[sub.tx_hash]
        sub.active = False

    def _new_id(self) -> str:
        self._next_id += 1
        return f"0x{self._next_id:016x}"

    def status(self) -> dict[str, Any]:
        """For node_status: the counters and the subscriptions registered now."""
        return {**self.stats.as_dict(), "active": self.counts()}

    def counts(self) -> dict[str, int]:
        """Registered subscriptions: blocks/events ("cursor"), tx and sync."""
        return {
            "cursor": len(self._cursor),
            "tx": sum(len(w) for w in self._tx.values()),
            "sync": len(self._sync),
        }

    # --- the pump --------------------------------------------------------------------------------
    async def run(self) -> None:
        """Deliver notifications until cancelled; yields to the loop between bounded steps."""
        while True:
            try:
                async with asyncio.timeout(SYNC_POLL_S):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            more = self.step()
            if more:
                self._wake.set()
            await asyncio.sleep(0)

    def step(self) -> bool:
        """One bounded round of work; True if there is more to do right away."""
        now = time.monotonic()
        for height, (_, hooked_at) in self._recent.items():
            if height > self._woken:
                self._woken = height
                self.stats.record_delay(now - hooked_at, self.stats.wake_delay_ms)
        head = self.feed.head()
        self._scan_txs(head)
        more = self._advance_cursors(head)
        self._poll_sync()
        return more

    def _notes(self, height: int) -> BlockNotes | None:
        notes = self._built.get(height)
        if notes is None:
            recent = self._recent.get(height)
            kinds = self.feed.entity_kinds
            if recent is not None:
                notes = BlockNotes(*recent, kinds)
            else:
                committed = self.feed.committed(height)
                if committed is None:
                    return None
                notes = BlockNotes(committed, None, kinds)
            self._read_txs += len(notes.committed.block.txs)
            self._built[height] = notes
            while len(self._built) > BUILT_BLOCKS:
                self._built.popitem(last=False)
        return notes

    def _scan_txs(self, head: int) -> None:
        """Tell tx subscriptions about admissions and commits, in height order."""
        for tx_hash in sorted(self._pending):
            for sub in list(self._tx.get(tx_hash, {}).values()):
                self._send_status(sub, TxStatus("pending"))
        self._pending.clear()
        if self._tx_height is None or not self._tx:
            self._tx_height = head  # nothing watched: nothing to look for in these blocks
            return
        while self._tx_height < head and self._tx:
            height = self._tx_height + 1
            notes = self._notes(height)
            if notes is None:
                break
            for index, tx in enumerate(notes.committed.block.txs):
                watchers = self._tx.get(tx.hash)
                if watchers:
                    status = TxStatus("committed", height, dict(notes.committed.receipts[index]))
                    for sub in list(watchers.values()):
                        self._send_status(sub, status)
            self._tx_height = height

    def _send_status(self, sub: Subscription, status: TxStatus) -> None:
        rank = _STATUS_RANK[status.status]
        if rank <= sub.sent_status:
            return
        result: dict[str, Any] = {"hash": sub.tx_hash, "status": status.status}
        if status.status == "committed":
            result["height"] = status.height
            result["receipt"] = status.receipt
        sub.sent_status = rank
        if self._push(sub, encode(result)) and status.status == "committed":
            sub.session.subs.pop(sub.id, None)  # the subscription ends with its commit
            self._unregister(sub)

    def _send_sync(self, sub: Subscription, status: dict[str, Any]) -> None:
        key = (bool(status["syncing"]), int(status["peers"]))
        if key != sub.sent_sync:
            sub.sent_sync = key
            self._push(sub, encode(status))

    def _poll_sync(self) -> None:
        now = time.monotonic()
        if not self._sync or now - self._last_sync_poll < SYNC_POLL_S:
            return
        self._last_sync_poll = now
        status = self.feed.sync_status()
        for sub in list(self._sync.values()):
            self._send_sync(sub, status)

    def _push(self, sub: Subscription, result: bytes, committed_at: float | None = None) -> bool:
        if not sub.session.push_note(note(sub.id, result), committed_at):
            return False
        self.stats.notifications += 1
        return True

    def _advance_cursors(self, head: int) -> bool:
        """Deliver heights to blocks/events subscriptions; True if some can go on right away."""
        read, sent = self._read_txs, self.stats.notifications
        more = False
        for sub in list(self._cursor.values()):
            outcome = _PAUSED
            while sub.active and sub.next_height <= head:
                # the work is reading and encoding blocks (once each) and queueing notifications
                if self.stats.notifications - sent >= STEP_NOTIFICATIONS or (
                    self._read_txs - read >= STEP_TX_BUDGET and sub.next_height not in self._built
                ):
                    return True
                notes = self._notes(sub.next_height)
                if notes is None:
                    break  # not readable yet: the next block wakes the pump again
                outcome = self._deliver(sub, notes, paced=sub.replaying or sub.next_height < head)
                if outcome != _DONE:
                    break
                if sub.replaying:
                    self.stats.replayed_blocks += 1
                sub.next_height, sub.next_event = sub.next_height + 1, 0
                if sub.next_height > head:
                    sub.replaying = False
            more |= outcome == _DONE and sub.active and sub.next_height <= head
        return more

    def _deliver(self, sub: Subscription, notes: BlockNotes, *, paced: bool) -> int:
        """Queue (the rest of) one height's notifications for ``sub``.

        Below the head (a replay, or a burst of blocks the pump has not caught up with) delivery
        is paced: it stops when the queue is half full and resumes at the same event
        (``next_event``) once the writer has drained it. At the head a notification that does
        not fit drops the client.
        """
        session = sub.session
        at = None if sub.replaying else notes.committed_at
        if sub.topic == "blocks":
            if paced and not session.room_for_replay():
                return _PAUSED
            return _DONE if self._push(sub, notes.block, at) else _DROPPED
        assert sub.events is not None
        events = notes.events
        while sub.next_event < len(events):
            event = events[sub.next_event]
            if matches(sub.events, event, self.feed):
                if paced and not session.room_for_replay():
                    return _PAUSED
                if not self._push(sub, event.result, at):
                    return _DROPPED
            sub.next_event += 1
        return _DONE


# --- the JSON-RPC side: subscribe / unsubscribe reach the hub through the socket's API -----------


class SocketAPI:
    """The NodeAPI of one WebSocket connection: the node's methods plus its subscriptions."""

    def __init__(self, api: NodeAPI, session: Session) -> None:
        self._api = api
        self.session = session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)


def _socket_session(api: NodeAPI, method: str) -> tuple[SubscriptionHub, Session]:
    """The hub and this connection's session; over HTTP (or without a hub) a clear refusal."""
    if isinstance(api, SocketAPI) and api.session.hub is not None:
        return api.session.hub, api.session
    raise MethodNotFound(
        "subscriptions need the WebSocket endpoint /ws", reason=REASON_WS_ONLY, method=method
    )


async def subscribe_method(api: NodeAPI, p: dict[str, Any]) -> str:
    hub, session = _socket_session(api, "subscribe")
    return hub.subscribe(session, p["topic"], p["filter"], p["from_height"])


async def unsubscribe_method(api: NodeAPI, p: dict[str, Any]) -> bool:
    hub, session = _socket_session(api, "unsubscribe")
    return hub.unsubscribe(session, p["subscription"])


MAX_SUBSCRIPTION_ID_CHARS = 64  # ids are "0x" + 16 hex; any other string is just unknown


def check_subscription_id(name: str, value: Any) -> str:
    """A string of bounded length: a well-formed id this connection does not have is ``false``."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_SUBSCRIPTION_ID_CHARS
        or not is_valid_text(value)
    ):
        raise InvalidParams(
            f"parameter '{name}' must be a subscription id (a string of at most "
            f"{MAX_SUBSCRIPTION_ID_CHARS} characters)",
            param=name,
        )
    return value
