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
as long as it is <= the committed head. A subscription that starts behind the head is
*replaying*: it is paced by its socket's queue (it waits while the queue is over half full) and
by a per-step work budget. Once it reaches the head it is *live*: a notification that does not
fit in its queue drops the client (told with a ``dropped`` notification, then closed with 1008),
because holding notifications back for it would mean holding memory for it without bound.

A new subscription is inactive until its ``subscribe`` reply is on the socket's queue
(``Session.activate``), so the reply carrying its id always precedes its first notification.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from chain import limits
from chain.block import Block, CommitCertificate
from chain.encoding import is_valid_text, shown_name
from rpc.api import NodeAPI
from rpc.errors import InvalidParams, MethodNotFound

log = logging.getLogger(__name__)

TOPICS = ("blocks", "tx", "events", "sync")
CURSOR_TOPICS = frozenset({"blocks", "events"})  # the topics that take ``from_height``
EVENT_FILTER_KEYS = ("contract", "event", "kind", "area")
MAX_FILTER_TEXT_CHARS = 64  # an event name or an entity kind (contract events: 1..64 chars)
MAX_AREA_DIGITS = 12  # an area code (aid/areas.py); a shorter string is a prefix
MAX_HEIGHT = 2**63 - 1
RECENT_BLOCKS = 16  # committed blocks kept from the hook, so live delivery reads no store
BUILT_BLOCKS = 8  # heights whose notifications are kept encoded for every subscriber
STEP_TX_BUDGET = 4_000  # transactions' worth of blocks the pump reads/encodes before yielding
SYNC_POLL_S = 1.0  # the sync topic looks at the node's sync status this often
DROPPED_NOTICE_RESERVE = 256  # bytes per subscription a dropped notice may add past the queue

REASON_WS_ONLY = "ws_only"
REASON_UNKNOWN_TOPIC = "unknown_topic"
REASON_BAD_FILTER = "bad_filter"
REASON_TOO_MANY = "too_many_subscriptions"
QUEUE_FULL_REASON = "notification queue full: the client does not read fast enough"

_HEX64 = re.compile(r"\A[0-9a-fA-F]{64}\Z")
_DIGITS = re.compile(r"\A[0-9]+\Z")
_NOTE_HEAD = b'{"jsonrpc":"2.0","method":"subscription","params":{"subscription":"'


# --- what the hub reads from the node ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Committed:
    """A committed block with its receipts (in block order) and commit certificate."""

    block: Block
    receipts: Sequence[dict[str, Any]]
    certificate: CommitCertificate


@dataclass(frozen=True, slots=True)
class TxStatus:
    status: str  # "pending" | "committed" | "unknown"
    height: int | None = None
    receipt: dict[str, Any] | None = None


class ChainFeed(Protocol):
    """The node as the hub sees it; ``node.rpcapi.NodeFeed`` implements it over the store."""

    @property
    def entity_kinds(self) -> frozenset[str]:
        """Ledger entity kinds an ``events`` filter may name."""
        ...

    def head(self) -> int:
        """The height of the last committed block."""
        ...

    def committed(self, height: int) -> Committed | None:
        """A committed block from the store (replay), or None above the head."""
        ...

    def tx_status(self, tx_hash: str) -> TxStatus: ...

    def entity_areas(self, refs: Sequence[str]) -> tuple[str, ...]:
        """The area codes of ledger entities named ``kind/id`` (those that have one)."""
        ...

    def area_prefix(self, code: str) -> str | None:
        """The prefix every area inside ``code`` starts with, or None if it is no area code."""
        ...

    def sync_status(self) -> dict[str, Any]:
        """``{"height", "syncing", "peers"}``."""
        ...


# --- filters (validated once, at subscribe) ------------------------------------------------------


def _bad_filter(message: str) -> InvalidParams:
    return InvalidParams(message, reason=REASON_BAD_FILTER, param="filter")


@dataclass(frozen=True, slots=True)
class EventFilter:
    contract: str | None = None
    event: str | None = None
    kind: str | None = None
    area: str | None = None  # an area code prefix (digits)


def _filter_text(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_FILTER_TEXT_CHARS
        or not is_valid_text(value)
    ):
        raise _bad_filter(
            f"filter.{key} must be a non-empty string of at most {MAX_FILTER_TEXT_CHARS} characters"
        )
    return value


def _no_filter(topic: str, raw: dict[str, Any] | None) -> None:
    if raw:
        raise _bad_filter(f"the {topic} topic takes no filter")


def _tx_filter(raw: dict[str, Any] | None) -> str:
    if raw is None or set(raw) != {"hash"}:
        raise _bad_filter('the tx topic needs the filter {"hash": <64 hex>} and nothing else')
    value = raw["hash"]
    if not isinstance(value, str) or _HEX64.match(value) is None:
        raise _bad_filter("filter.hash must be a 64-character hex string")
    return value.lower()


def _event_filter(raw: dict[str, Any] | None, feed: ChainFeed) -> EventFilter:
    raw = raw or {}
    unknown = sorted(set(raw) - set(EVENT_FILTER_KEYS))
    if unknown:
        raise _bad_filter(
            f"unknown filter key '{shown_name(unknown[0])}' for events "
            f"(allowed: {', '.join(EVENT_FILTER_KEYS)})"
        )
    contract = raw.get("contract")
    if contract is not None and (not isinstance(contract, str) or not _HEX64.match(contract)):
        raise _bad_filter("filter.contract must be a 64-character hex address")
    kind = _filter_text(raw, "kind")
    if kind is not None and kind not in feed.entity_kinds:
        raise _bad_filter(
            f"filter.kind '{shown_name(kind)}' is not a ledger entity kind "
            f"(one of: {', '.join(sorted(feed.entity_kinds))})"
        )
    area = raw.get("area")
    if area is not None:
        if not isinstance(area, str) or not 0 < len(area) <= MAX_AREA_DIGITS:
            raise _bad_filter(f"filter.area must be 1..{MAX_AREA_DIGITS} digits")
        prefix = area if len(area) < MAX_AREA_DIGITS else feed.area_prefix(area)
        if _DIGITS.match(area) is None or prefix is None:
            raise _bad_filter(
                "filter.area must be an area code or the leading digits of one (e.g. 530102)"
            )
        area = prefix
    return EventFilter(
        contract=contract.lower() if contract else None,
        event=_filter_text(raw, "event"),
        kind=kind,
        area=area,
    )


def check_from_height(name: str, value: Any) -> int:
    """The ``from_height`` parameter: an integer height (0 means from the first block)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_HEIGHT:
        raise InvalidParams(f"parameter '{name}' must be an integer in 0..{MAX_HEIGHT}", param=name)
    return value


# --- one block's notifications, encoded once for every subscriber -------------------------------


def _encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass"
    )


def note(sub_id: str, result: bytes) -> bytes:
    """A ``subscription`` notification around an already encoded result."""
    return b"".join((_NOTE_HEAD, sub_id.encode("ascii"), b'","result":', result, b"}}"))


@dataclass(slots=True)
class _Event:
    """One event of a block, encoded, with what a filter looks at."""

    result: bytes
    source: str
    contract: str | None
    name: str | None
    kinds: frozenset[str]
    own_area: str | None
    refs: tuple[str, ...]  # entities the transaction touched (kind/id)
    areas: tuple[str, ...] | None = None  # their areas, read once when an area filter asks


def _block_result(c: Committed) -> bytes:
    block, cert = c.block, c.certificate
    return _encode(
        {
            "height": block.height,
            "hash": block.hash,
            "header": block.header.to_dict(),
            "tx_count": len(block.txs),
            "certificate": {
                "view": cert.view,
                "signers": [v for v, _ in cert.signatures],
                "count": len(cert.signatures),
            },
        }
    )


def _tx_events(c: Committed, index: int) -> Iterator[_Event]:
    tx, receipt = c.block.txs[index], c.receipts[index]
    if tx.type == "aid":
        source, contract, action = "aid", None, tx.payload.get("action")
    elif tx.type in ("call", "deploy"):
        source, action = "contract", None
        contract = tx.payload.get("contract") if tx.type == "call" else receipt.get("address")
    else:
        return  # transfers: no contract or ledger events
    refs = tuple(r for r in receipt.get("touched") or () if isinstance(r, str))
    kinds = frozenset(r.split("/", 1)[0] for r in refs)
    for event in receipt.get("events") or ():
        emitter = event.get("contract", contract) if source == "contract" else None
        result: dict[str, Any] = {
            "height": c.block.height,
            "tx_hash": tx.hash,
            "tx_index": index,
            "source": source,
        }
        if emitter is not None:
            result["contract"] = emitter
        if action is not None:
            result["action"] = action
        result["event"] = event
        area = event.get("area")
        yield _Event(
            _encode(result),
            source,
            emitter,
            event.get("name"),
            kinds,
            area if isinstance(area, str) else None,
            refs,
        )


class _BlockNotes:
    """A height's encoded results, built on first use and shared by every subscriber."""

    __slots__ = ("_block", "_events", "committed", "committed_at")

    def __init__(self, committed: Committed, committed_at: float | None) -> None:
        self.committed = committed
        self.committed_at = committed_at  # when the hook saw it (None: read from the store)
        self._block: bytes | None = None
        self._events: list[_Event] | None = None

    @property
    def block(self) -> bytes:
        if self._block is None:
            self._block = _block_result(self.committed)
        return self._block

    @property
    def events(self) -> list[_Event]:
        if self._events is None:
            c = self.committed
            self._events = [e for i in range(len(c.block.txs)) for e in _tx_events(c, i)]
        return self._events


def _matches(f: EventFilter, e: _Event, feed: ChainFeed) -> bool:
    if f.contract is not None and e.contract != f.contract:
        return False
    if f.event is not None and e.name != f.event:
        return False
    if f.kind is not None and f.kind not in e.kinds:
        return False
    if f.area is not None:
        if e.own_area is not None and e.own_area.startswith(f.area):
            return True
        if e.areas is None:
            e.areas = feed.entity_areas(e.refs) if e.refs else ()
        return any(a.startswith(f.area) for a in e.areas)
    return True


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
        dropped = _encode({"error": "dropped", "reason": reason})
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

    def record_delay(self, seconds: float) -> None:
        ms = seconds * 1000
        for i, bound in enumerate(DELAY_BUCKETS_MS):
            if ms <= bound:
                self.notify_delay_ms[i] += 1
                return

    def as_dict(self) -> dict[str, Any]:
        return {
            "subscriptions": self.subscriptions,
            "notifications": self.notifications,
            "dropped_clients": self.dropped_clients,
            "replayed_blocks": self.replayed_blocks,
            "notify_delay_ms": {
                f"le_{b}": n for b, n in zip(DELAY_BUCKETS_MS, self.notify_delay_ms, strict=True)
            },
        }


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
        self._built: OrderedDict[int, _BlockNotes] = OrderedDict()
        self._tx_height: int | None = None  # last height scanned for watched transactions
        self._wake = asyncio.Event()
        self._last_sync_poll = 0.0

    # --- the node's hooks (never block, never raise into the commit path) ------------------------
    def on_block(
        self, block: Block, receipts: Sequence[dict[str, Any]], certificate: CommitCertificate
    ) -> None:
        """A block was committed and stored: remember it and wake the pump. O(1)."""
        self._recent[block.height] = (
            Committed(block, receipts, certificate),
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
            sub.tx_hash = _tx_filter(raw)
        elif topic == "events":
            sub.events = _event_filter(raw, self.feed)
        else:
            _no_filter(topic, raw)
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

    def counts(self) -> dict[str, int]:
        """Live registrations per topic (tests and node_status use these)."""
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
        head = self.feed.head()
        self._scan_txs(head)
        more = self._advance_cursors(head)
        self._poll_sync()
        return more

    def _notes(self, height: int) -> _BlockNotes | None:
        notes = self._built.get(height)
        if notes is None:
            recent = self._recent.get(height)
            if recent is not None:
                notes = _BlockNotes(*recent)
            else:
                committed = self.feed.committed(height)
                if committed is None:
                    return None
                notes = _BlockNotes(committed, None)
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
        if self._push(sub, _encode(result)) and status.status == "committed":
            sub.session.subs.pop(sub.id, None)  # the subscription ends with its commit
            self._unregister(sub)

    def _send_sync(self, sub: Subscription, status: dict[str, Any]) -> None:
        key = (bool(status["syncing"]), int(status["peers"]))
        if key != sub.sent_sync:
            sub.sent_sync = key
            self._push(sub, _encode(status))

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
        budget = STEP_TX_BUDGET
        more = False
        for sub in list(self._cursor.values()):
            outcome = _PAUSED
            while sub.active and sub.next_height <= head:
                if budget <= 0:
                    return True
                notes = self._notes(sub.next_height)
                if notes is None:
                    break  # not readable yet: the next block wakes the pump again
                budget -= max(1, len(notes.committed.block.txs))
                outcome = self._deliver(sub, notes)
                if outcome != _DONE:
                    break
                if sub.replaying:
                    self.stats.replayed_blocks += 1
                sub.next_height, sub.next_event = sub.next_height + 1, 0
                if sub.next_height > head:
                    sub.replaying = False
            more |= outcome == _DONE and sub.active and sub.next_height <= head
        return more

    def _deliver(self, sub: Subscription, notes: _BlockNotes) -> int:
        """Queue (the rest of) one height's notifications for ``sub``.

        A replaying subscription stops when its queue is half full and resumes at the same
        event (``next_event``) once the writer has drained it; a live one is dropped when a
        notification does not fit.
        """
        session = sub.session
        at = None if sub.replaying else notes.committed_at
        if sub.topic == "blocks":
            if sub.replaying and not session.room_for_replay():
                return _PAUSED
            return _DONE if self._push(sub, notes.block, at) else _DROPPED
        assert sub.events is not None
        events = notes.events
        while sub.next_event < len(events):
            event = events[sub.next_event]
            if _matches(sub.events, event, self.feed):
                if sub.replaying and not session.room_for_replay():
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


def check_subscription_id(name: str, value: Any) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 2 + 16 or not is_valid_text(value):
        raise InvalidParams(f"parameter '{name}' must be a subscription id string", param=name)
    return value
