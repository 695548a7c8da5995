"""The ledger's statistics counters in LevelDB: ``g<utf-8 key>`` -> a decimal integer.

Like the read-side index (storage/index.py) the counters live outside the state root and are
written in the block's own synced batch: the executor sums a block's deltas per key
(``aid.stats``), reads each key's committed value once and hands this module the new absolute
values, so there is no read-modify-write across blocks and after a crash the counters are exactly
as current as the state. A value of 0 is stored as an absent key, so a counter that returns to 0
leaves nothing behind and two nodes at one height hold byte-identical tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from storage.db import P_STATS, Batch, text_key
from storage.errors import ChainStoreError

MAX_STATS_SCAN = 1_000  # entries one scan may return; callers page with ``after``
MAX_STATS_KEY_BYTES = 512


@dataclass(frozen=True, slots=True)
class StatsChanges:
    """One block's counters: (key, new absolute value), 0 meaning delete, sorted by key."""

    values: tuple[tuple[str, int], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.values)


NO_STATS_CHANGES = StatsChanges()


def stats_key(key: str) -> bytes:
    return text_key(P_STATS, key, "stats", MAX_STATS_KEY_BYTES)


def decode_value(raw: bytes, key: Any) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ChainStoreError(f"corrupt stats value at {key!r}") from None


def put_changes(batch: Batch, changes: StatsChanges) -> None:
    for key, value in changes.values:
        if value == 0:
            batch.delete(stats_key(key))
        else:
            batch.put(stats_key(key), b"%d" % value)


class Readable(Protocol):
    """A plyvel DB or snapshot."""

    def get(self, key: bytes) -> Any: ...

    def iterator(self, **kwargs: Any) -> Any: ...


def read(source: Readable, key: str) -> int:
    raw = source.get(stats_key(key))
    return 0 if raw is None else decode_value(bytes(raw), key)


def read_many(source: Readable, keys: list[str]) -> list[int]:
    """Committed values of ``keys`` (0 if absent), in order: one block's counters, read once."""
    get = source.get
    out = []
    for key in keys:
        raw = get(P_STATS + key.encode("utf-8"))
        out.append(0 if raw is None else decode_value(bytes(raw), key))
    return out


def scan(source: Readable, prefix: str, after: str | None, limit: int) -> list[tuple[str, int]]:
    """Up to ``limit`` (key, value) pairs whose key starts with ``prefix``, after ``after``."""
    if type(limit) is not int or not 0 < limit <= MAX_STATS_SCAN:
        raise ChainStoreError(f"stats scan limit must be 1..{MAX_STATS_SCAN}")
    low = stats_key(prefix)
    start, include_start = low, True
    if after is not None:
        cursor = stats_key(after)
        if cursor >= low:
            start, include_start = cursor, False
    out: list[tuple[str, int]] = []
    with source.iterator(start=start, include_start=include_start) as it:
        for raw_key, raw_value in it:
            if not raw_key.startswith(low):
                break
            key = bytes(raw_key[len(P_STATS) :]).decode("utf-8")
            out.append((key, decode_value(bytes(raw_value), key)))
            if len(out) >= limit:
                break
    return out
