"""Transaction records in height order, found by hash through a locator; older data dirs, which
hold the record itself under the hash, read the same (storage/blocks.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chain.block import Block
from chain.tx import make_transfer
from storage.chainstore import ChainStore
from storage.db import P_TX, P_TX_AT, Database
from storage.errors import ChainStoreError
from tests.storage.test_chainstore import (
    ALICE,
    BOB,
    CHAIN,
    Result,
    cert_for,
    make_genesis,
    next_block,
    receipts,
)


def commit_transfers(store: ChainStore, count: int, first_nonce: int) -> Block:
    txs = tuple(
        make_transfer(ALICE, CHAIN, first_nonce + i, BOB.public_hex, 1, memo=f"m{i}")
        for i in range(count)
    )
    block = next_block(store, txs)
    store.commit_block(block, cert_for(block), Result({}, receipts(txs)))
    return block


def to_old_layout(db: Database, block: Block) -> None:
    """Rewrite one block as a data dir written before the height-ordered layout holds it."""
    batch = db.batch()
    for tx in block.txs:
        key = P_TX + bytes.fromhex(tx.hash)
        locator = db.get(key)
        assert locator is not None and len(locator) == 12
        record = db.get(P_TX_AT + locator)
        assert record is not None and record.startswith(b"{")
        batch.delete(P_TX_AT + locator)
        batch.put(key, record)
    batch.write()


def reads(store: ChainStore, block: Block) -> dict[str, Any]:
    """Everything the store answers about one block and its transactions."""
    with store.read_view() as view:
        raw = view.block_tx_raw(block.height)
    return {
        "block": store.get_block_and_receipts(block.height),
        "records": store.block_tx_records(block.height),
        "raw": raw,
        "txs": [store.get_tx(tx.hash) for tx in block.txs],
        "receipts": [store.get_receipt(tx.hash) for tx in block.txs],
    }


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = ChainStore.open(tmp_path / "db")
    s.init_genesis(make_genesis())
    yield s
    s.close()


def test_records_are_stored_by_height_and_found_by_hash(store: ChainStore) -> None:
    first = commit_transfers(store, 3, 0)
    second = commit_transfers(store, 2, 3)
    found = reads(store, second)
    assert found["block"] == (second, receipts(second.txs))
    assert [h for h, _ in found["raw"]] == [tx.hash for tx in second.txs]
    assert [r["index"] for _, r in found["records"]] == [0, 1]
    assert found["txs"] == [(tx, 2, i) for i, tx in enumerate(second.txs)]
    assert store.get_block(1) == first and store.get_tx(first.txs[2].hash) == (first.txs[2], 1, 2)


def test_a_block_in_the_old_layout_reads_the_same(store: ChainStore) -> None:
    old = commit_transfers(store, 3, 0)
    new = commit_transfers(store, 2, 3)
    before = reads(store, old)
    to_old_layout(store._db, old)
    assert reads(store, old) == before
    assert reads(store, new)["block"] == (new, receipts(new.txs))
    commit_transfers(store, 1, 5)  # the chain continues on top of an old block
    assert store.height == 3


def test_a_missing_record_is_a_clear_error(store: ChainStore) -> None:
    block = commit_transfers(store, 2, 0)
    locator = store._db.get(P_TX + bytes.fromhex(block.txs[1].hash))
    assert locator is not None
    batch = store._db.batch()
    batch.delete(P_TX_AT + locator)
    batch.write()
    with pytest.raises(ChainStoreError, match="2 transactions but 1"):
        store.get_block(1)
    with pytest.raises(ChainStoreError, match="record is missing"):
        store.get_tx(block.txs[1].hash)
