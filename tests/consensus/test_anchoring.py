"""A block's receipts are committed by the NEXT header; an idle chain adds one block for them."""

from __future__ import annotations

from chain.block import EMPTY_ROOT, Block, CommitCertificate, commit_signing_bytes
from consensus.messages import make_pre_prepare
from tests.consensus.helpers import CHAIN, Cluster, client_txs, receipts_of
from tests.consensus.test_replica_normal import KS, backup, good_block


def _cert_for(block: Block) -> CommitCertificate:
    msg = commit_signing_bytes(CHAIN, 0, block.height, block.hash)
    sigs = tuple(sorted((k.public_hex, k.sign(msg)) for k in KS[:3]))
    return CommitCertificate(block.height, block.hash, 0, sigs)


def test_an_idle_chain_commits_one_empty_block_that_anchors_the_receipts() -> None:
    c = Cluster(receipts=receipts_of)
    c.offer(client_txs(3))
    c.tick(300)
    assert c.heights() == [2, 2, 2, 2]
    chain = [b for b, _cert in c.primary().blocks]
    assert [len(b.txs) for b in chain] == [3, 0]
    assert chain[0].header.receipts_root == EMPTY_ROOT  # genesis left no receipts
    assert chain[1].header.receipts_root == receipts_of(chain[0])
    assert chain[1].header.prev_hash == chain[0].hash
    c.tick(3_000)  # the empty block has no receipts of its own: nothing more to anchor
    assert c.heights() == [2, 2, 2, 2]


def test_waiting_transactions_anchor_the_receipts_without_an_empty_block() -> None:
    c = Cluster(receipts=receipts_of, block_max_txs=2)
    c.offer(client_txs(4))
    c.tick(300)
    chain = [b for b, _cert in c.primary().blocks]
    assert [len(b.txs) for b in chain] == [2, 2, 0]
    assert chain[1].header.receipts_root == receipts_of(chain[0])
    assert chain[2].header.receipts_root == receipts_of(chain[1])


def test_a_chain_without_receipts_never_proposes_empty_blocks() -> None:
    c = Cluster()  # receipts root EMPTY_ROOT after every block
    c.offer(client_txs(3))
    c.tick(3_000)
    assert c.heights() == [1, 1, 1, 1]


def test_a_backup_accepts_an_empty_block_only_to_anchor_receipts() -> None:
    r, v = backup()
    b1 = good_block()
    v.apply(b1)
    r.on_block_applied(b1, "11" * 32, _cert_for(b1), receipts_root=receipts_of(b1))
    anchor = good_block(
        height=2,
        prev_hash=b1.hash,
        state_root="11" * 32,
        receipts_root=receipts_of(b1),
        time=9_500,
        txs=[],
    )
    assert r.on_message(make_pre_prepare(KS[0], CHAIN, 0, anchor))  # prepares it
    assert r.stats.get("invalid_block", 0) == 0


def test_a_backup_refuses_an_empty_block_with_nothing_to_anchor() -> None:
    r, v = backup()
    b1 = good_block()
    v.apply(b1)
    r.on_block_applied(b1, "11" * 32, _cert_for(b1), receipts_root=EMPTY_ROOT)
    idle = good_block(height=2, prev_hash=b1.hash, state_root="11" * 32, time=9_500, txs=[])
    assert r.on_message(make_pre_prepare(KS[0], CHAIN, 0, idle)) == []
    assert r.stats.get("invalid_block", 0) == 1
