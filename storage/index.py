"""The ledger's read-side index in LevelDB: ``x<utf-8 index key>`` -> canonical JSON value.

The index is kept outside the state root (like CometBFT's tx indexer): which keys a block adds
and removes is computed by the executor (``aid.indexes``); this module only stores them in the
block's own synced batch, so after a crash the index is exactly as current as the state, and
scans it by prefix in key order for the ledger's reads (``aid.reads.ReadIndex``).

LevelDB orders keys by bytes and UTF-8 preserves code point order, so a scan returns keys in the
same order as sorting the ``str`` keys would.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from chain.encoding import canonical_unchecked
from storage.db import P_INDEX, Batch, text_key
from storage.errors import ChainStoreError

MAX_SCAN = 1_000  # entries one scan may return: a page (<= 201) or a trace's fan-out (<= 500)
MAX_INDEX_KEY_BYTES = 1_024
END_BLOCK_EVENTS = "endblock/"  # endblock/<012d height> -> [event, ...] of that block's sweep


@dataclass(frozen=True, slots=True)
class IndexChanges:
    """One block's index edits: keys to delete, then (key, JSON value) pairs to write."""

    deletes: tuple[str, ...] = ()
    puts: tuple[tuple[str, Any], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.deletes or self.puts)


NO_INDEX_CHANGES = IndexChanges()


def index_key(key: str) -> bytes:
    return text_key(P_INDEX, key, "index", MAX_INDEX_KEY_BYTES)


def put_changes(batch: Batch, changes: IndexChanges) -> None:
    """Queue a block's index edits in its batch (deletes first: a key may be re-put)."""
    for key in changes.deletes:
        batch.delete(index_key(key))
    # values repeat (None for an entity's keys, one shared history entry per action): encode
    # each object once; ``changes`` keeps them alive, so their ids are stable during the loop
    encoded: dict[int, bytes] = {}
    for key, value in changes.puts:
        raw = encoded.get(id(value))
        if raw is None:
            raw = encoded[id(value)] = canonical_unchecked(value)
        batch.put(index_key(key), raw)


class Gettable(Protocol):
    """A plyvel DB or snapshot: anything with a point read."""

    def get(self, key: bytes) -> bytes | None: ...


def end_block_events_key(height: int) -> str:
    return f"{END_BLOCK_EVENTS}{height:012d}"


def put_end_block_events(batch: Batch, height: int, events: Sequence[dict[str, Any]]) -> None:
    """Queue the events of a block's end-of-block sweep (escalations), if it had any.

    They are in no receipt, so a ``from_height`` replay of the ``events`` topic reads them
    here. Kept on the read side (not in any root): derived by executing the block, like the
    history entries, so ``node reindex`` rebuilds them with the rest of the index.
    """
    if events:
        batch.put(index_key(end_block_events_key(height)), canonical_unchecked(list(events)))


def read_end_block_events(source: Gettable, height: int) -> tuple[dict[str, Any], ...]:
    """The events ``put_end_block_events`` stored for ``height`` (none: an empty tuple)."""
    raw = source.get(index_key(end_block_events_key(height)))
    if raw is None:
        return ()
    try:
        events = json.loads(raw)
    except ValueError as exc:
        raise ChainStoreError(f"corrupt end-of-block events at height {height}: {exc}") from None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise ChainStoreError(f"corrupt end-of-block events at height {height}")
    return tuple(events)


class Readable(Protocol):
    """A plyvel DB or snapshot: anything with a byte-range iterator."""

    def iterator(self, **kwargs: Any) -> Any: ...


def scan(source: Readable, prefix: str, after: str | None, limit: int) -> list[tuple[str, Any]]:
    """Up to ``limit`` (key, value) pairs whose key starts with ``prefix``, after ``after``.

    ``after`` is the last key of the previous page (exclusive); one before ``prefix`` starts at
    the prefix, one past it yields nothing.
    """
    if type(limit) is not int or not 0 < limit <= MAX_SCAN:
        raise ChainStoreError(f"index scan limit must be 1..{MAX_SCAN}")
    low = index_key(prefix)
    start, include_start = low, True
    if after is not None:
        cursor = index_key(after)
        if cursor >= low:
            start, include_start = cursor, False
    out: list[tuple[str, Any]] = []
    with source.iterator(start=start, include_start=include_start) as it:
        for raw_key, raw_value in it:
            if not raw_key.startswith(low):
                break
            try:
                value = json.loads(raw_value)
            except ValueError as exc:
                raise ChainStoreError(f"corrupt index value at {raw_key!r}: {exc}") from None
            out.append((bytes(raw_key[len(P_INDEX) :]).decode("utf-8"), value))
            if len(out) >= limit:
                break
    return out
