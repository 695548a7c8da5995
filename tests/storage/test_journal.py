"""The vote journal: append order across calls and reopen, the prune rule, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from consensus.messages import make_prepare
from consensus.records import ViewRecord, VoteRecord, record_from_dict
from storage import journal
from storage.chainstore import ChainStore
from storage.db import P_JOURNAL, Database, height_key
from storage.errors import ChainStoreError
from storage.journal import Journal
from tests.consensus.helpers import CHAIN, keys


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = ChainStore.open(tmp_path / "db")
    yield s
    s.close()


def test_order_is_preserved_across_appends_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db"
    s = ChainStore.open(path)
    records = [{"type": "prepare", "height": i, "seq": i} for i in range(300)]
    s.journal_append(records[:1])
    s.journal_append(records[1:257])
    s.journal_append([])
    s.journal_append(records[257:])
    assert s.journal_load() == records
    s.close()
    s = ChainStore.open(path)
    try:
        assert s.journal_load() == records
        s.journal_append([{"type": "view", "view": 1}])  # continues after the last record
        assert s.journal_load() == [*records, {"type": "view", "view": 1}]
    finally:
        s.close()


def test_prune_drops_low_heights_and_superseded_heightless_records(store: ChainStore) -> None:
    store.journal_append(
        [
            {"type": "view", "view": 0},
            {"type": "prepare", "height": 1},
            {"type": "commit", "height": 2},
            {"type": "view", "view": 1},
            {"type": "note"},
            {"type": "prepare", "height": 3},
            {"type": "view", "view": 2},
            {"type": "prepare", "height": 2},
        ]
    )
    store.journal_prune(3)
    assert store.journal_load() == [
        {"type": "note"},
        {"type": "prepare", "height": 3},
        {"type": "view", "view": 2},
    ]
    store.journal_prune(3)  # idempotent
    assert len(store.journal_load()) == 3
    store.journal_prune(10)
    assert store.journal_load() == [{"type": "note"}, {"type": "view", "view": 2}]


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([["not", "a", "dict"]], "JSON objects"),
        ([{"x": object()}], "not JSON"),
        ([{"x": float("nan")}], "not JSON"),
    ],
)
def test_bad_records_are_refused_and_nothing_is_written(
    store: ChainStore, records: list[Any], message: str
) -> None:
    with pytest.raises(ChainStoreError, match=message):
        store.journal_append([{"ok": 1}, *records])
    assert store.journal_load() == []


def test_journal_limits(store: ChainStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "MAX_JOURNAL_APPEND", 3)
    monkeypatch.setattr(journal, "MAX_JOURNAL_RECORD_BYTES", 50)
    with pytest.raises(ChainStoreError, match="exceeds 3"):
        store.journal_append([{"i": i} for i in range(4)])
    with pytest.raises(ChainStoreError, match="exceeds 50 bytes"):
        store.journal_append([{"blob": "x" * 100}])
    store.journal_append([{"i": i} for i in range(3)])
    assert len(store.journal_load()) == 3


def test_prune_index_follows_appends_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db"
    s = ChainStore.open(path)
    s.journal_append([{"type": "p", "height": h} for h in range(5)])
    s.journal_prune(2)  # builds the in-memory index
    s.journal_append([{"type": "p", "height": h} for h in range(5, 8)] + [{"type": "v", "v": 1}])
    s.journal_append([{"type": "v", "v": 2}])
    s.journal_prune(6)  # uses the index maintained by append
    assert s.journal_load() == [
        {"type": "p", "height": 6},
        {"type": "p", "height": 7},
        {"type": "v", "v": 2},
    ]
    s.close()
    s = ChainStore.open(path)
    try:
        s.journal_prune(7)  # a fresh index from disk
        assert s.journal_load() == [{"type": "p", "height": 7}, {"type": "v", "v": 2}]
    finally:
        s.close()


def test_prune_drops_unreadable_records(tmp_path: Path) -> None:
    db = Database(tmp_path / "db")
    try:
        j = Journal(db)
        j.append([{"height": 9}])
        batch = db.batch()
        batch.put(height_key(P_JOURNAL, 1), b"not json")
        batch.write()
        with pytest.raises(ChainStoreError, match="corrupt journal record"):
            j.load()
        assert j.prune(0) == 1
        assert j.load() == [{"height": 9}]
    finally:
        db.close()


def test_the_replicas_typed_records_survive_the_journal_and_a_restart(tmp_path: Path) -> None:
    """The journal stores what ``to_dict`` gives; a restarted replica reads the same records."""
    k = keys(4)[1]
    records = [
        VoteRecord(3, make_prepare(k, CHAIN, 0, 3, "ab" * 32)),
        ViewRecord(4, 1, False),
        VoteRecord(5, make_prepare(k, CHAIN, 1, 5, "cd" * 32)),
    ]
    path = tmp_path / "db"
    s = ChainStore.open(path)
    s.journal_append([r.to_dict() for r in records])
    s.journal_prune(4)
    s.close()
    s = ChainStore.open(path)
    try:
        assert [record_from_dict(raw) for raw in s.journal_load()] == records[1:]
    finally:
        s.close()
