"""What subscriptions are made of: the node feed they read, filters, and encoded notifications.

Pure: no sockets, no tasks. A filter is validated once, at ``subscribe``, into a frozen value with
a clear ``bad_filter`` error for anything it cannot use. A committed block's notifications are
encoded once (``BlockNotes``) and shared by every subscriber; only the subscription id differs,
and ``note`` splices it in without re-encoding the result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from chain.block import Block, CommitCertificate
from chain.encoding import is_valid_text, shown_name
from rpc.errors import InvalidParams

EVENT_FILTER_KEYS = ("contract", "event", "kind", "area")
MAX_FILTER_TEXT_CHARS = 64  # an event name or an entity kind (contract events: 1..64 chars)
MAX_AREA_DIGITS = 12  # an area code (aid/areas.py); a shorter string is a prefix
REASON_BAD_FILTER = "bad_filter"

_HEX64 = re.compile(r"\A[0-9a-fA-F]{64}\Z")
_DIGITS = re.compile(r"\A[0-9]+\Z")
_NOTE_HEAD = b'{"jsonrpc":"2.0","method":"subscription","params":{"subscription":"'


# --- what the hub reads from the node ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Committed:
    """A committed block with its receipts (in block order) and commit certificate.

    ``end_block_events`` are the events of the ledger's end-of-block sweep (escalations): in no
    receipt, so the node hands them over beside the receipts (live) or reads them from the
    store (replay), and both give the same notifications.
    """

    block: Block
    receipts: Sequence[dict[str, Any]]
    certificate: CommitCertificate
    end_block_events: Sequence[dict[str, Any]] = ()


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


def no_filter(topic: str, raw: dict[str, Any] | None) -> None:
    if raw:
        raise _bad_filter(f"the {topic} topic takes no filter")


def tx_filter(raw: dict[str, Any] | None) -> str:
    if raw is None or set(raw) != {"hash"}:
        raise _bad_filter('the tx topic needs the filter {"hash": <64 hex>} and nothing else')
    value = raw["hash"]
    if not isinstance(value, str) or _HEX64.match(value) is None:
        raise _bad_filter("filter.hash must be a 64-character hex string")
    return value.lower()


def event_filter(raw: dict[str, Any] | None, feed: ChainFeed) -> EventFilter:
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


# --- one block's notifications, encoded once for every subscriber -------------------------------


_encode_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # built once


def encode(value: Any) -> bytes:
    return _encode_text(value).encode("utf-8", "surrogatepass")


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
    return encode(
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
        yield _event(result, source, emitter, kinds, refs)


def _event(
    result: dict[str, Any],
    source: str,
    emitter: str | None,
    kinds: frozenset[str],
    refs: tuple[str, ...],
) -> _Event:
    """An event's notification (``result``, holding the event itself) and its filter fields."""
    event = result["event"]
    area = event.get("area")
    return _Event(
        encode(result),
        source,
        emitter,
        event.get("name"),
        kinds,
        area if isinstance(area, str) else None,
        refs,
    )


SOURCE_END_BLOCK = "end_block"  # an event of the block's end (the deadline sweep), no tx


def _end_block_events(c: Committed, entity_kinds: frozenset[str]) -> Iterator[_Event]:
    """The sweep's events, after every transaction's: ``tx_hash`` and ``tx_index`` are null.

    No transaction touched anything, so what ``kind`` and ``area`` filters look at are the
    entities each event names (``{"alert": id, "household": id, ...}``): one escalation in
    another county does not match an area filter because another one in the block does.
    """
    for event in c.end_block_events:
        refs = tuple(
            f"{key}/{value}"
            for key, value in event.items()
            if key in entity_kinds and isinstance(value, str)
        )
        result = {
            "height": c.block.height,
            "tx_hash": None,
            "tx_index": None,
            "source": SOURCE_END_BLOCK,
            "action": SOURCE_END_BLOCK,
            "event": event,
        }
        kinds = frozenset(r.split("/", 1)[0] for r in refs)
        yield _event(result, SOURCE_END_BLOCK, None, kinds, refs)


class BlockNotes:
    """A height's encoded results, built on first use and shared by every subscriber.

    ``entity_kinds`` (the feed's) tells which fields of an end-of-block event name an entity.
    """

    __slots__ = ("_block", "_events", "committed", "committed_at", "entity_kinds")

    def __init__(
        self,
        committed: Committed,
        committed_at: float | None,
        entity_kinds: frozenset[str] = frozenset(),
    ) -> None:
        self.committed = committed
        self.committed_at = committed_at  # when the hook saw it (None: read from the store)
        self.entity_kinds = entity_kinds
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
            self._events += _end_block_events(c, self.entity_kinds)
        return self._events


def matches(f: EventFilter, e: _Event, feed: ChainFeed) -> bool:
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
