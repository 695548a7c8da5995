"""ChainStore: genesis, commit_block (and its refusals), reads, reopen, atomic batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chain.block import EMPTY_ROOT, Block, BlockHeader, CommitCertificate
from chain.crypto import KeyPair
from chain.encoding import canonical, sha256_hex
from chain.statekeys import account_key
from chain.tx import Transaction, make_transfer, sign_tx
from storage.blocks import tx_bytes
from storage.chainstore import ChainStore
from storage.db import META_HEAD, P_STATE, Database
from storage.errors import ChainStoreError
from storage.index import MAX_SCAN, NO_INDEX_CHANGES, IndexChanges
from storage.stats import NO_STATS_CHANGES, StatsChanges
from tests.blocks import block_after

CHAIN = "test-chain"
ALICE = KeyPair.from_seed(b"a" * 32)
BOB = KeyPair.from_seed(b"b" * 32)
VALIDATOR = KeyPair.from_seed(b"v" * 32)


def make_genesis(**overrides: Any) -> dict[str, Any]:
    genesis: dict[str, Any] = {
        "chain_id": CHAIN,
        "time": 1_700_000_000_000,
        "validators": [{"id": VALIDATOR.public_hex, "name": "v0"}],
        "accounts": {ALICE.public_hex: 1_000, BOB.public_hex: 5},
    }
    genesis.update(overrides)
    return genesis


@dataclass(frozen=True, slots=True)
class Result:
    writes: dict[str, Any] = field(default_factory=dict)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    state_root: str = "ab" * 32
    index: IndexChanges = NO_INDEX_CHANGES
    receipts_root: str = "ef" * 32
    stats: StatsChanges = NO_STATS_CHANGES
    end_block_events: tuple[dict[str, Any], ...] = ()
    write_bytes: dict[str, bytes] | None = None
    receipt_bytes: tuple[bytes, ...] | None = None


def next_block(store: ChainStore, txs: tuple[Transaction, ...] = (), **header: Any) -> Block:
    return block_after(store, txs, VALIDATOR.public_hex, **header)


def cert_for(block: Block) -> CommitCertificate:
    return CommitCertificate(block.height, block.hash, 0, ((VALIDATOR.public_hex, "cd" * 64),))


def receipts(txs: tuple[Transaction, ...]) -> list[dict[str, Any]]:
    return [{"ok": True, "error": None, "events": [], "i": i} for i in range(len(txs))]


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = ChainStore.open(tmp_path / "db")
    s.init_genesis(make_genesis())
    yield s
    s.close()


def test_genesis_head_accounts_and_block_zero(store: ChainStore) -> None:
    genesis = make_genesis()
    assert store.is_initialised()
    assert store.height == 0
    assert store.chain_id == CHAIN
    assert store.state_root == sha256_hex(canonical(genesis))
    assert store.head_time == genesis["time"]
    header = store.get_header(0)
    assert header == BlockHeader(
        0, "0" * 64, EMPTY_ROOT, 0, store.state_root, EMPTY_ROOT, genesis["time"], "0" * 64, 0
    )
    assert store.receipts_root == EMPTY_ROOT
    assert store.head_hash == header.hash
    assert store.get_block(0) == Block(header, ())
    assert store.get_certificate(0) is None
    assert store.get_header(1) is None and store.get_block(1) is None
    assert store.get_header(-1) is None
    assert store.account(ALICE.public_hex) == (1_000, 0)
    assert store.account(BOB.public_hex) == (5, 0)
    assert store.account("ee" * 32) == (0, 0)
    assert store.get_state(account_key(ALICE.public_hex)) == {"balance": 1_000, "nonce": 0}
    assert store.get_genesis() == genesis


def test_uninitialised_store(tmp_path: Path) -> None:
    s = ChainStore.open(tmp_path / "fresh")
    try:
        assert not s.is_initialised()
        with pytest.raises(ChainStoreError):
            _ = s.height
        assert s.get_genesis() is None
    finally:
        s.close()


def test_genesis_is_idempotent_and_refuses_a_different_one(store: ChainStore) -> None:
    store.init_genesis(make_genesis())  # same genesis: no-op
    assert store.height == 0
    with pytest.raises(ChainStoreError, match="different genesis"):
        store.init_genesis(make_genesis(time=5))


@pytest.mark.parametrize(
    ("genesis", "message"),
    [
        ([], "JSON object"),
        ({"chain_id": CHAIN}, "missing fields"),
        (make_genesis(chain_id=""), "chain_id"),
        (make_genesis(chain_id="x" * 65), "chain_id"),
        (make_genesis(time=-1), "time"),
        (make_genesis(time=True), "time"),
        (make_genesis(validators=[]), "validators"),
        (make_genesis(validators=[{"id": "nothex", "name": "v"}]), "validator"),
        (make_genesis(accounts={"nothex": 1}), "public key"),
        (make_genesis(accounts={ALICE.public_hex: -1}), "balance"),
        (make_genesis(accounts={ALICE.public_hex: 2**53}), "balance"),
        (make_genesis(accounts={ALICE.public_hex: 1.5}), "balance"),
        (make_genesis(extra=1.5), "canonical"),
    ],
)
def test_malformed_genesis_is_refused(tmp_path: Path, genesis: Any, message: str) -> None:
    s = ChainStore.open(tmp_path / "db")
    try:
        with pytest.raises(ChainStoreError, match=message):
            s.init_genesis(genesis)
        assert not s.is_initialised()
    finally:
        s.close()


def test_commit_block_writes_everything_and_reads_back(store: ChainStore) -> None:
    tx1 = make_transfer(ALICE, CHAIN, 0, BOB.public_hex, 10, memo="rice")
    tx2 = make_transfer(ALICE, CHAIN, 1, BOB.public_hex, 20)
    block = next_block(store, (tx1, tx2))
    cert = cert_for(block)
    writes = {
        account_key(ALICE.public_hex): {"balance": 970, "nonce": 2},
        account_key(BOB.public_hex): None,
    }
    store.commit_block(block, cert, Result(writes, receipts(block.txs), "11" * 32))
    assert (store.height, store.head_hash, store.state_root) == (1, block.hash, "11" * 32)
    assert store.head_time == block.header.time
    assert store.receipts_root == "ef" * 32  # survives a reopen: see the reopen test
    assert store.get_block(1) == block
    assert store.get_block_tx_hashes(1) == [tx1.hash, tx2.hash]
    assert store.get_certificate(1) == cert
    assert store.get_tx(tx2.hash) == (tx2, 1, 1)
    assert store.get_tx(tx1.hash) == (tx1, 1, 0)
    assert store.get_receipt(tx2.hash) == {"ok": True, "error": None, "events": [], "i": 1}
    assert store.account(ALICE.public_hex) == (970, 2)
    assert store.get_state(account_key(BOB.public_hex)) is None  # None = delete
    assert store.get_tx("00" * 32) is None and store.get_receipt("00" * 32) is None
    assert store.get_tx("not a hash") is None


def _refusals(store: ChainStore) -> list[tuple[Block, CommitCertificate, Result, str]]:
    good = next_block(store)
    wrong_height = next_block(store, height=store.height + 2)
    wrong_prev = next_block(store, prev_hash="99" * 32)
    other = next_block(store, time=store.head_time + 99)
    tx = make_transfer(ALICE, CHAIN, 0, BOB.public_hex, 1)
    with_tx = next_block(store, (tx,))
    return [
        (wrong_height, cert_for(wrong_height), Result(), "cannot commit height"),
        (wrong_prev, cert_for(wrong_prev), Result(), "prev_hash"),
        (good, cert_for(other), Result(), "certificate"),
        (good, CommitCertificate(2, good.hash, 0, ()), Result(), "certificate"),
        (with_tx, cert_for(with_tx), Result(), "receipts"),
    ]


def test_commit_block_refusals_leave_the_store_unchanged(store: ChainStore) -> None:
    before = (store.height, store.head_hash, store.state_root)
    for block, cert, result, message in _refusals(store):
        with pytest.raises(ChainStoreError, match=message):
            store.commit_block(block, cert, result)
        assert (store.height, store.head_hash, store.state_root) == before
        assert store.get_header(block.height) is None or block.height == 0


def test_replaying_a_committed_height_is_refused(store: ChainStore) -> None:
    block = next_block(store)
    store.commit_block(block, cert_for(block), Result())
    with pytest.raises(ChainStoreError):
        store.commit_block(block, cert_for(block), Result())


def test_reopen_after_close_resumes_at_the_head(tmp_path: Path) -> None:
    path = tmp_path / "db"
    s = ChainStore.open(path)
    s.init_genesis(make_genesis())
    for i in range(3):
        block = next_block(s)
        s.commit_block(block, cert_for(block), Result({"k/x": i}, [], f"{i:064x}"))
    head = (s.height, s.head_hash, s.state_root, s.receipts_root, s.head_time)
    s.close()
    s.close()  # idempotent
    with pytest.raises(ChainStoreError, match="closed"):
        s.get_state("k/x")
    s2 = ChainStore.open(path)
    try:
        assert (s2.height, s2.head_hash, s2.state_root, s2.receipts_root, s2.head_time) == head
        assert s2.chain_id == CHAIN
        assert s2.get_state("k/x") == 2
        s2.init_genesis(make_genesis())  # still idempotent after reopen
        assert s2.height == 3
    finally:
        s2.close()


def test_second_open_of_the_same_dir_is_refused(store: ChainStore, tmp_path: Path) -> None:
    with pytest.raises(ChainStoreError, match="cannot open"):
        ChainStore.open(tmp_path / "db")


def test_heights_beyond_one_byte_iterate_in_numeric_order(store: ChainStore) -> None:
    for _ in range(300):
        block = next_block(store)
        store.commit_block(block, cert_for(block), Result())
    assert store.height == 300
    assert store.get_header(256).height == 256  # type: ignore[union-attr]
    assert store.get_header(300).prev_hash == store.get_header(299).hash  # type: ignore[union-attr]


def test_unwritten_batch_is_invisible_after_reopen(tmp_path: Path) -> None:
    """A crash before a batch is written loses the whole batch, never part of it."""
    path = tmp_path / "db"
    db = Database(path)
    batch = db.batch()
    batch.put(P_STATE + b"a", b"1")
    batch.put(P_STATE + b"b", b"2")
    assert db.get(P_STATE + b"a") is None  # nothing visible before write()
    batch.discard()
    db.close()
    db = Database(path)
    try:
        assert db.get(P_STATE + b"a") is None and db.get(P_STATE + b"b") is None
        batch = db.batch()
        batch.put(P_STATE + b"a", b"1")
        batch.put(P_STATE + b"b", b"2")
        batch.write()
        assert db.get(P_STATE + b"a") == b"1" and db.get(P_STATE + b"b") == b"2"
    finally:
        db.close()


@pytest.mark.parametrize(
    "tx",
    [
        make_transfer(ALICE, CHAIN, 7, BOB.public_hex, 3, memo='type","type":"x 中文'),
        sign_tx(ALICE, CHAIN, 0, "deploy", {"source": "x = 1", "init": {"type": "call"}}),
        sign_tx(ALICE, CHAIN, 1, "call", {"contract": BOB.public_hex, "method": "m", "args": {}}),
    ],
)
def test_stored_tx_bytes_are_the_canonical_encoding(tx: Transaction) -> None:
    assert tx_bytes(tx) == canonical(tx.to_dict())


@pytest.mark.parametrize("height", [-1, 2**64, "1", None, True, 1.0])
def test_bad_heights_read_as_absent(store: ChainStore, height: Any) -> None:
    assert store.get_header(height) is None
    assert store.get_block(height) is None
    assert store.get_block_tx_hashes(height) is None
    assert store.get_certificate(height) is None


@pytest.mark.parametrize("key", [None, 5, b"acct/x", "\ud800"])
def test_bad_state_keys_are_refused_with_a_clear_error(store: ChainStore, key: Any) -> None:
    with pytest.raises(ChainStoreError, match="state key"):
        store.get_state(key)
    if not isinstance(key, str):
        with pytest.raises(ChainStoreError):
            store.account(key)


@pytest.mark.parametrize("height", [-1, "1", None, 1.5])
def test_bad_prune_heights_are_refused(store: ChainStore, height: Any) -> None:
    with pytest.raises(ChainStoreError, match="journal_prune"):
        store.journal_prune(height)


# --- the ledger's read-side index and genesis records ----------------------------------------------
def test_genesis_records_are_written_into_state(tmp_path: Path) -> None:
    s = ChainStore.open(tmp_path / "db")
    try:
        s.init_genesis(make_genesis(), {"aid/policy/current": {"q": 3}, "aid/area/1": {"n": "A"}})
        assert s.get_state("aid/policy/current") == {"q": 3}
        assert s.get_state("aid/area/1") == {"n": "A"}
        assert s.get_state(account_key(ALICE.public_hex)) == {"balance": 1_000, "nonce": 0}
    finally:
        s.close()


def test_genesis_records_may_not_overwrite_an_account(tmp_path: Path) -> None:
    s = ChainStore.open(tmp_path / "db")
    try:
        with pytest.raises(ChainStoreError, match="overwrite accounts"):
            s.init_genesis(make_genesis(), {account_key(ALICE.public_hex): {"balance": 9}})
        assert not s.is_initialised()
    finally:
        s.close()


def index_block(store: ChainStore, changes: IndexChanges, writes: dict[str, Any]) -> None:
    block = next_block(store)
    store.commit_block(block, cert_for(block), Result(writes, [], "11" * 32, changes))


def test_index_changes_commit_with_the_block_and_scan_by_prefix(store: ChainStore) -> None:
    keys = [f"household/area/5301020010{v:02d}/h{v}" for v in range(1, 6)]
    index_block(store, IndexChanges((), tuple((k, None) for k in keys)), {"aid/x": 1})
    index_block(store, IndexChanges((keys[0],), (("history/household/h2/1", {"tx": "t"}),)), {})
    with store.read_view() as view:
        assert [k for k, _ in view.scan("household/area/", None, 10)] == keys[1:]
        page = view.scan("household/area/530102", None, 2)
        assert [k for k, _ in page] == keys[1:3]
        rest = view.scan("household/area/530102", page[-1][0], 10)
        assert [k for k, _ in rest] == keys[3:]
        assert view.scan("household/area/", "a", 10)[0][0] == keys[1]  # before the prefix
        assert view.scan("household/area/", "zzz", 10) == []  # past it
        assert view.scan("history/", None, 10) == [("history/household/h2/1", {"tx": "t"})]
        assert view.get("aid/x") == 1
        with pytest.raises(ChainStoreError, match="read-only"):
            view.set("aid/x", 2)
        with pytest.raises(ChainStoreError, match="limit"):
            view.scan("", None, MAX_SCAN + 1)


def test_a_read_view_sees_one_block_while_the_next_commits(store: ChainStore) -> None:
    index_block(store, IndexChanges((), (("k/a", None),)), {"aid/n": 1})
    with store.read_view() as view:
        index_block(store, IndexChanges(("k/a",), (("k/b", None),)), {"aid/n": 2})
        assert view.get("aid/n") == 1 and [k for k, _ in view.scan("k/", None, 5)] == ["k/a"]
    with store.read_view() as view:
        assert view.get("aid/n") == 2 and [k for k, _ in view.scan("k/", None, 5)] == ["k/b"]


def test_the_index_survives_a_reopen_with_the_state(tmp_path: Path) -> None:
    s = ChainStore.open(tmp_path / "db")
    s.init_genesis(make_genesis())
    index_block(s, IndexChanges((), (("k/a", None),)), {"aid/n": 1})
    s.close()
    s = ChainStore.open(tmp_path / "db")
    try:
        with s.read_view() as view:
            assert view.get("aid/n") == 1 and view.scan("k/", None, 5) == [("k/a", None)]
    finally:
        s.close()


def test_a_store_from_before_receipts_roots_is_refused_clearly(tmp_path: Path) -> None:
    db = Database(tmp_path / "old")
    batch = db.batch()
    old_head = {"hash": "ab" * 32, "height": 3, "state_root": "cd" * 32, "time": 5}
    batch.put(META_HEAD, canonical(old_head))
    batch.write()
    db.close()
    with pytest.raises(ChainStoreError, match="no receipts_root"):
        ChainStore.open(tmp_path / "old")


def test_counter_reads_follow_every_commit(store: ChainStore, tmp_path: Path) -> None:
    """get_stats keeps committed counters in memory; each commit and a reindex keep it true."""
    assert store.get_stats(["c|a|all|x", "c|a|all|y"]) == [0, 0]
    for value in (3, 5, 0):
        block = next_block(store)
        changes = StatsChanges((("c|a|all|x", value), ("c|a|all|z", value + 1)))
        store.commit_block(block, cert_for(block), Result(stats=changes))
        assert store.get_stats(["c|a|all|x", "c|a|all|y", "c|a|all|z"]) == [value, 0, value + 1]
    other = ChainStore.open(tmp_path / "rebuilt")
    try:
        other.init_genesis(make_genesis())
        for height in range(1, store.height + 1):
            block = store.get_block(height)
            assert block is not None
            changes = StatsChanges((("c|a|all|x", 7 * height),))
            other.commit_block(block, cert_for(block), Result(stats=changes))
        store.replace_read_side(other)
    finally:
        other.close()
    assert store.get_stats(["c|a|all|x", "c|a|all|z"]) == [7 * store.height, 0]
