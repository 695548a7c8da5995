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
from dataclasses import dataclass
from typing import Any, Protocol

from chain.encoding import canonical_unchecked
from storage.db import P_INDEX, Batch, text_key
from storage.errors import ChainStoreError

MAX_SCAN = 1_000  # entries one scan may return: a page (<= 201) or a trace's fan-out (<= 500)
MAX_INDEX_KEY_BYTES = 1_024


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
    for key, value in changes.puts:
        batch.put(index_key(key), canonical_unchecked(value))


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
