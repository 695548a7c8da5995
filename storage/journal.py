"""The consensus vote journal: records the replica must remember across a crash, in order.

Each record is a JSON object stored under ``j<u64 seq>``; the sequence number only grows, so
iteration order is append order. ``append`` is one synced batch, so a record the replica persisted
before sending a vote is on disk before the vote leaves the node.

Pruning rule: a record with an integer ``"height"`` is deleted once that height is below the
prune point. A record without ``"height"`` (for example the replica's current view) is kept until
a LATER heightless record with the same ``"type"`` value exists; then the older one is deleted at
the next prune. So the journal always keeps the newest heightless record of each type.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chain.checks import is_int
from chain.encoding import canonical
from chain.errors import EncodingError
from storage.db import P_JOURNAL, Database, height_key, read_u64
from storage.errors import ChainStoreError

MAX_JOURNAL_RECORD_BYTES = 32 * 1024 * 1024  # a record may carry a whole proposed block
MAX_JOURNAL_APPEND = 10_000  # records in one append call


class Journal:
    def __init__(self, db: Database) -> None:
        self._db = db
        last = db.last_key(P_JOURNAL)
        self._next_seq = 0 if last is None else read_u64(last) + 1
        # seq -> (height or None, type tag of a heightless record); built lazily on first prune
        # so that pruning never re-parses records (they may hold whole blocks)
        self._index: dict[int, tuple[int | None, str]] | None = None

    def append(self, records: Sequence[dict[str, Any]]) -> None:
        if len(records) > MAX_JOURNAL_APPEND:
            raise ChainStoreError(
                f"journal append of {len(records)} records exceeds {MAX_JOURNAL_APPEND}"
            )
        encoded = []
        for record in records:
            if not isinstance(record, dict):
                raise ChainStoreError("journal records must be JSON objects")
            try:
                # checked: a record carries its block's transactions as strings, so the walk is
                # short, and a value JSON has not (a float, NaN) must not reach the journal
                data = canonical(record)
            except EncodingError as exc:
                raise ChainStoreError(f"journal record is not JSON: {exc.message}") from None
            if len(data) > MAX_JOURNAL_RECORD_BYTES:
                raise ChainStoreError(f"journal record exceeds {MAX_JOURNAL_RECORD_BYTES} bytes")
            encoded.append(data)
        if not encoded:
            return
        batch = self._db.batch()
        seq = self._next_seq
        for data in encoded:
            batch.put(height_key(P_JOURNAL, seq), data)
            seq += 1
        batch.write()
        if self._index is not None:
            for offset, record in enumerate(records):
                self._index[self._next_seq + offset] = _index_entry(record)
        self._next_seq = seq

    def load(self) -> list[dict[str, Any]]:
        out = []
        for _, value in self._db.iterate(P_JOURNAL):
            try:
                out.append(json.loads(value))
            except ValueError as exc:
                raise ChainStoreError(f"corrupt journal record: {exc}") from None
        return out

    def _build_index(self) -> dict[int, tuple[int | None, str]]:
        index: dict[int, tuple[int | None, str]] = {}
        for key, value in self._db.iterate(P_JOURNAL):
            try:
                record = json.loads(value)
            except ValueError:
                record = None
            # an unreadable record is useless: index it below every height so prune drops it
            index[read_u64(key)] = _index_entry(record) if isinstance(record, dict) else (-1, "")
        return index

    def prune(self, below_height: int) -> int:
        """Delete records below ``below_height`` and superseded heightless ones; returns the count."""
        if self._index is None:
            self._index = self._build_index()
        doomed: list[int] = []
        latest_heightless: dict[str, int] = {}
        for seq, (height, kind) in self._index.items():  # insertion order == seq order
            if height is not None:
                if height < below_height:
                    doomed.append(seq)
                continue
            older = latest_heightless.get(kind)
            if older is not None:
                doomed.append(older)
            latest_heightless[kind] = seq
        if doomed:
            batch = self._db.batch()
            for seq in doomed:
                batch.delete(height_key(P_JOURNAL, seq))
            batch.write()
            for seq in doomed:
                del self._index[seq]
        return len(doomed)


def _index_entry(record: dict[str, Any]) -> tuple[int | None, str]:
    height = record.get("height")
    if is_int(height):
        return height, ""
    return None, json.dumps(record.get("type"), sort_keys=True, default=str)
