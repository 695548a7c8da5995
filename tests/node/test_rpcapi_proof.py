"""``tx_proof`` on a real store: not provable until the next block anchors the receipt."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chain.block import Block, CommitCertificate, commit_signing_bytes
from chain.crypto import KeyPair
from chain.errors import NotYetProvable, UnknownTx
from chain.proof import verify_proof
from chain.tx import Transaction, make_transfer
from node.config import RpcConfig
from node.executor import Executor
from node.rpcapi import NodeRpc
from storage.chainstore import ChainStore
from tests.blocks import block_after

CHAIN = "rpc-proof"
VALS = [KeyPair.from_seed(hashlib.sha256(f"rp-{i}".encode()).digest()) for i in range(4)]
ALICE = KeyPair.from_seed(hashlib.sha256(b"rp-alice").digest())
GENESIS = {
    "chain_id": CHAIN,
    "time": 1,
    "validators": [{"id": v.public_hex, "name": f"v{i}"} for i, v in enumerate(VALS)],
    "accounts": {ALICE.public_hex: 10_000},
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChainStore]:
    s = ChainStore.open(tmp_path / "db")
    s.init_genesis(GENESIS)
    yield s
    s.close()


def commit(store: ChainStore, txs: list[Transaction]) -> Block:
    """Execute and store the next block with a 3-of-4 certificate, as the daemon does."""
    block = block_after(store, txs, VALS[0].public_hex)
    msg = commit_signing_bytes(CHAIN, 0, block.height, block.hash)
    cert = CommitCertificate(
        block.height, block.hash, 0, tuple(sorted((k.public_hex, k.sign(msg)) for k in VALS[:3]))
    )
    store.commit_block(block, cert, Executor(store).execute(block))
    return block


def rpc_for(store: ChainStore, pending: dict[str, Any] | None = None) -> NodeRpc:
    node = SimpleNamespace(
        store=store,
        chain_id=CHAIN,
        mempool=SimpleNamespace(get=(pending or {}).get),
        cfg=SimpleNamespace(name="t", rpc=RpcConfig()),
        genesis=None,
    )
    return NodeRpc(node)  # type: ignore[arg-type]


async def test_a_proof_exists_once_the_next_block_is_committed(store: ChainStore) -> None:
    pay, overdraw = (
        make_transfer(ALICE, CHAIN, 0, VALS[0].public_hex, 9_000),
        make_transfer(ALICE, CHAIN, 1, VALS[0].public_hex, 9_000),
    )
    commit(store, [pay, overdraw])
    rpc = rpc_for(store)
    try:
        with pytest.raises(NotYetProvable) as info:
            await rpc.tx_proof(pay.hash)
        assert info.value.data == {"status": "committed", "height": 1}
        commit(store, [])  # the empty block that anchors block 1's receipts
        for tx, ok in ((pay, True), (overdraw, False)):
            proven = verify_proof(await rpc.tx_proof(tx.hash), GENESIS)
            assert (proven.tx_hash, proven.height, proven.receipt["ok"]) == (tx.hash, 1, ok)
    finally:
        rpc.close()


async def test_unknown_and_pending_transactions_are_refused(store: ChainStore) -> None:
    waiting = make_transfer(ALICE, CHAIN, 0, VALS[0].public_hex, 1)
    rpc = rpc_for(store, {waiting.hash: waiting})
    try:
        with pytest.raises(NotYetProvable) as info:
            await rpc.tx_proof(waiting.hash)
        assert info.value.data == {"status": "pending"}
        with pytest.raises(UnknownTx):
            await rpc.tx_proof("ab" * 32)
    finally:
        rpc.close()
