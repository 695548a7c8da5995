"""storage.stats: counters commit with their block, read back, scan by prefix, 0 deletes; the
read side is replaced whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from storage.chainstore import ChainStore
from storage.db import META_REINDEX, P_STATS
from storage.errors import ChainStoreError
from storage.index import NO_INDEX_CHANGES, IndexChanges
from storage.stats import MAX_STATS_SCAN, StatsChanges, stats_key
from tests.storage.test_chainstore import Result, cert_for, make_genesis, next_block


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = ChainStore.open(tmp_path / "db")
    s.init_genesis(make_genesis())
    yield s
    s.close()


def commit(
    store: ChainStore, values: dict[str, int], index: IndexChanges = NO_INDEX_CHANGES
) -> None:
    block = next_block(store)
    changes = StatsChanges(tuple(sorted(values.items())))
    store.commit_block(block, cert_for(block), Result({}, [], "11" * 32, index, stats=changes))


def test_counters_commit_with_their_block_and_scan_in_key_order(store: ChainStore) -> None:
    commit(store, {"c|530102000000|all|paid": 500, "c|530102000000|all|in": 900, "c|x|all|a": 1})
    assert store.get_stat("c|530102000000|all|paid") == 500
    assert store.get_stat("c|nothing") == 0
    assert store.get_stats(["c|x|all|a", "c|nothing", "c|530102000000|all|in"]) == [1, 0, 900]
    with store.read_view() as view:
        rows = view.stats_scan("c|530102000000|all|", None, 10)
        assert rows == [("c|530102000000|all|in", 900), ("c|530102000000|all|paid", 500)]
        assert view.stats_scan("c|530102000000|all|", rows[0][0], 10) == rows[1:]
        assert view.head() == (store.height, store.head_time)
        commit(store, {"c|530102000000|all|paid": 0})  # a counter back at 0 leaves no key
        assert view.stat("c|530102000000|all|paid") == 500  # the snapshot keeps its height
    assert store.get_stat("c|530102000000|all|paid") == 0
    with store.read_view() as view:
        assert view.stats_scan("c|530102000000|all|", None, 10) == [("c|530102000000|all|in", 900)]


def test_scan_limits_and_bad_keys_are_refused(store: ChainStore) -> None:
    with store.read_view() as view, pytest.raises(ChainStoreError, match="limit"):
        view.stats_scan("c|", None, MAX_STATS_SCAN + 1)
    with pytest.raises(ChainStoreError, match="exceeds"):
        stats_key("k" * 600)


def test_a_corrupt_value_is_a_clear_error(store: ChainStore, tmp_path: Path) -> None:
    commit(store, {"c|a": 3})
    batch = store._db.batch()
    batch.put(P_STATS + b"c|a", b"not a number")
    batch.write()
    with pytest.raises(ChainStoreError, match="corrupt stats value"):
        store.get_stat("c|a")


def test_replace_read_side_swaps_index_and_stats_in_one_batch(
    store: ChainStore, tmp_path: Path
) -> None:
    rebuilt = ChainStore.open(tmp_path / "rebuilt")
    try:
        rebuilt.init_genesis(make_genesis())
        commit(store, {"c|old": 1, "c|both": 2}, IndexChanges((), (("k/old", None),)))
        with pytest.raises(ChainStoreError, match="at height 0"):
            store.replace_read_side(rebuilt)
        commit(rebuilt, {"c|new": 7, "c|both": 3}, IndexChanges((), (("k/new", 1),)))
        assert store.replace_read_side(rebuilt) == (1, 2)
    finally:
        rebuilt.close()
    with store.read_view() as view:
        assert view.stats_scan("c|", None, 10) == [("c|both", 3), ("c|new", 7)]
        assert view.scan("k/", None, 10) == [("k/new", 1)]


def test_an_interrupted_swap_opens_only_for_another_reindex(
    store: ChainStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuilt = ChainStore.open(tmp_path / "rebuilt")
    try:
        rebuilt.init_genesis(make_genesis())
        many = {f"c|k{i:03d}": i + 1 for i in range(25)}
        commit(store, {"c|old": 1})
        commit(rebuilt, many, IndexChanges((), tuple((f"k/{i}", i) for i in range(7))))
        monkeypatch.setattr("storage.chainstore.REINDEX_BATCH", 4)  # several batches each way
        assert store.replace_read_side(rebuilt) == (7, 25)
    finally:
        rebuilt.close()
    with store.read_view() as view:
        assert dict(view.stats_scan("c|", None, 100)) == many
    path = store._db.path
    batch = store._db.batch()
    batch.put(META_REINDEX, b"1")  # what a crash between the two marks leaves
    batch.write()
    store.close()
    with pytest.raises(ChainStoreError, match="interrupted reindex"):
        ChainStore.open(path)
    again = ChainStore.open(path, reindexing=True)
    again.close()
