"""Table-driven tests of the replica's normal case: propose, prepare, commit, refuse."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chain.block import EMPTY_ROOT, Block, BlockHeader, tx_root
from consensus.actions import Broadcast, CommitBlock, Persist
from consensus.messages import (
    Commit,
    Prepare,
    make_commit,
    make_pre_prepare,
    make_prepare,
)
from consensus.replica import Replica
from tests.consensus.helpers import (
    CHAIN,
    GENESIS_HASH,
    GENESIS_ROOT,
    Cluster,
    NonceValidator,
    client_txs,
    config,
    keys,
    receipts_of,
)

KS = keys(4)
CFG = config(KS)


def backup(index: int = 1, now: int = 10_000) -> tuple[Replica, NonceValidator]:
    v = NonceValidator()
    r = Replica(
        CFG,
        KS[index],
        v,
        last_height=0,
        last_block_hash=GENESIS_HASH,
        last_state_root=GENESIS_ROOT,
        last_receipts_root=EMPTY_ROOT,
        last_block_time=0,
        mono_ms=now,
        wall_ms=now,
    )
    return r, v


def good_block(**changes: Any) -> Block:
    txs = tuple(changes.pop("txs", client_txs(3)))
    fields: dict[str, Any] = dict(
        height=1,
        prev_hash=GENESIS_HASH,
        tx_root=tx_root(txs),
        tx_count=len(txs),
        state_root=GENESIS_ROOT,
        receipts_root=EMPTY_ROOT,
        time=9_000,
        proposer=KS[0].public_hex,
        view=0,
    )
    fields.update(changes)
    return Block(BlockHeader(**fields), txs)


def test_normal_case_commits_identical_blocks_everywhere() -> None:
    c = Cluster()
    txs = client_txs(10)
    for i in range(0, 10, 2):
        c.offer(txs[i : i + 2])
        c.tick(60)
    hashes = {tuple(b.hash for b, _ in n.blocks) for n in c.nodes.values()}
    assert len(hashes) == 1
    committed = [t.hash for b, _ in next(iter(c.nodes.values())).blocks for t in b.txs]
    assert committed == [t.hash for t in txs]
    for node in c.nodes.values():
        for block, cert in node.blocks:
            cert.verify(CHAIN, list(c.cfg.validators))
            assert cert.block_hash == block.hash and cert.height == block.height


def test_primary_waits_for_batch_delay_and_never_proposes_empty() -> None:
    c = Cluster(batch_delay_ms=100)
    c.tick(500)
    assert c.heights() == [0, 0, 0, 0]  # nothing offered: no empty blocks
    c.offer(client_txs(1))
    c.tick(40)
    assert c.heights() == [0, 0, 0, 0]
    c.tick(120)
    assert c.heights() == [1, 1, 1, 1]


@pytest.mark.parametrize("interval", [0, 5_000])
def test_full_batch_is_proposed_at_once_and_respects_block_max_txs(interval: int) -> None:
    # neither the batch delay nor the pacing holds back a full block
    c = Cluster(
        block_max_txs=4, batch_delay_ms=10_000, block_interval_ms=interval,
        request_timeout_ms=60_000,
    )  # fmt: skip
    c.offer(client_txs(9))
    c.deliver_all()
    assert c.heights() == [2, 2, 2, 2]  # two full blocks at once, the last tx waits
    assert [len(b.txs) for b, _ in c.primary().blocks] == [4, 4]
    c.tick(200)
    assert c.heights() == [2, 2, 2, 2]


def test_primary_paces_blocks_under_load_but_not_an_idle_chain() -> None:
    c = Cluster(batch_delay_ms=20, block_interval_ms=150)
    c.tick(300)  # idle for longer than the interval
    c.offer(client_txs(1))
    c.tick(40)
    assert c.heights() == [1, 1, 1, 1]  # only the batch delay: an idle chain is not slowed
    c.offer(client_txs(2)[1:])  # the next transaction arrives right after that block
    c.tick(80)
    assert c.heights() == [1, 1, 1, 1]  # batch delay over, but 150 ms since block 1 are not
    c.tick(100)
    assert c.heights() == [2, 2, 2, 2]


def test_an_offer_the_mempool_calls_full_is_proposed_unpaced() -> None:
    # under a ledger load the block gas limit, which only the mempool sees, fills a block long
    # before block_max_txs does; pacing such a block would idle the cluster
    # (docs/ledger-performance.md, "A block the gas limit fills goes at once")
    c = Cluster(batch_delay_ms=20, block_interval_ms=150)
    c.tick(300)
    c.offer(client_txs(1))
    c.tick(40)
    assert c.heights() == [1, 1, 1, 1]
    c.offer(client_txs(3)[1:])
    c.tick(40)
    assert c.heights() == [1, 1, 1, 1]  # not full: paced
    c.offer(client_txs(3)[1:], full=True)
    c.deliver_all()
    assert c.heights() == [2, 2, 2, 2]  # full: at once, 40 ms after block 1


def test_every_vote_is_persisted_before_it_is_sent() -> None:
    r, _ = backup()
    pp = make_pre_prepare(KS[0], CHAIN, 0, good_block())
    acts = r.on_message(pp)
    kinds = [type(a).__name__ for a in acts]
    assert kinds == ["Persist", "Broadcast"]
    persist, bcast = acts
    assert isinstance(persist, Persist) and isinstance(bcast, Broadcast)
    assert persist.record["msg"]["type"] == "prepare" and persist.record["height"] == 1
    acts = r.on_message(make_prepare(KS[2], CHAIN, 0, 1, pp.block_hash))
    assert [type(a).__name__ for a in acts] == ["Persist", "Broadcast"]
    assert isinstance(acts[1], Broadcast) and isinstance(acts[1].msg, Commit)
    assert "prepared" in acts[0].record  # type: ignore[union-attr]


def test_commit_needs_two_f_plus_one_and_yields_verifiable_certificate() -> None:
    r, _ = backup()
    pp = make_pre_prepare(KS[0], CHAIN, 0, good_block())
    r.on_message(pp)
    r.on_message(make_prepare(KS[2], CHAIN, 0, 1, pp.block_hash))
    assert not [
        a
        for a in r.on_message(make_commit(KS[0], CHAIN, 0, 1, pp.block_hash))
        if isinstance(a, CommitBlock)
    ]
    acts = r.on_message(make_commit(KS[2], CHAIN, 0, 1, pp.block_hash))
    commits = [a for a in acts if isinstance(a, CommitBlock)]
    assert len(commits) == 1
    commits[0].certificate.verify(CHAIN, list(CFG.validators))
    # more commits and re-delivery never commit the height twice
    assert not [
        a
        for a in r.on_message(make_commit(KS[3], CHAIN, 0, 1, pp.block_hash))
        if isinstance(a, CommitBlock)
    ]
    r.on_block_applied(commits[0].block, "11" * 32, receipts_root=receipts_of(commits[0].block))
    assert r.height == 1
    assert not [
        a
        for a in r.on_message(make_commit(KS[3], CHAIN, 0, 1, pp.block_hash))
        if isinstance(a, CommitBlock)
    ]


BAD_BLOCKS = [
    ("wrong prev_hash", dict(prev_hash="00" * 32)),
    ("wrong state_root", dict(state_root="00" * 32)),
    ("time not after previous", dict(time=0)),
    ("time too far ahead", dict(time=10_000 + 30_001)),
    ("wrong proposer", dict(proposer=KS[1].public_hex)),
    ("header view above message view", dict(view=1)),
    ("empty block", dict(txs=[])),
    ("duplicate tx", dict(txs=client_txs(1) * 2)),
    ("bad nonce", dict(txs=client_txs(3)[1:])),
    ("tx root mismatch", dict(tx_root="00" * 32)),
    ("tx count mismatch", dict(tx_count=4)),
    ("wrong receipts_root", dict(receipts_root="00" * 32)),
]


@pytest.mark.parametrize("name,changes", BAD_BLOCKS, ids=[b[0] for b in BAD_BLOCKS])
def test_backup_refuses_invalid_proposals(name: str, changes: dict[str, Any]) -> None:
    r, _ = backup()
    pp = make_pre_prepare(KS[0], CHAIN, 0, good_block(**changes))
    assert r.on_message(pp) == []
    assert r.stats.get("invalid_block", 0) == 1


def test_transaction_validator_veto_is_respected() -> None:
    r, v = backup()
    block = good_block()
    v.refuse.add(block.txs[1].hash)
    assert r.on_message(make_pre_prepare(KS[0], CHAIN, 0, block)) == []


@pytest.mark.parametrize(
    "msg,counter",
    [
        (
            make_pre_prepare(KS[1], CHAIN, 0, good_block(proposer=KS[1].public_hex)),
            "pre_prepare_not_from_primary",
        ),
        (make_prepare(KS[2], CHAIN, 0, 500, "aa" * 32), "above_watermark"),
        (make_prepare(KS[2], CHAIN, 40, 1, "aa" * 32), "view_too_far"),
        (make_commit(KS[1], CHAIN, 0, 0, "aa" * 32), "old_height"),
    ],
    ids=["not-primary", "far-future-height", "far-future-view", "old-height"],
)
def test_out_of_place_messages_are_dropped_and_counted(msg: Any, counter: str) -> None:
    r, _ = backup(index=3)
    assert [a for a in r.on_message(msg) if isinstance(a, (Broadcast, CommitBlock))] == []
    assert r.stats.get(counter, 0) == 1


def test_non_validator_and_self_messages_are_dropped() -> None:
    r, _ = backup()
    stranger = keys(5)[4]
    assert r.on_message(make_prepare(stranger, CHAIN, 0, 1, "aa" * 32)) == []
    assert r.on_message(make_prepare(KS[1], CHAIN, 0, 1, "aa" * 32)) == []
    assert r.stats["non_validator"] == 1 and r.stats["from_self"] == 1


def test_equivocating_primary_gets_only_its_first_proposal_prepared() -> None:
    r, _ = backup()
    a = make_pre_prepare(KS[0], CHAIN, 0, good_block())
    b = make_pre_prepare(KS[0], CHAIN, 0, good_block(txs=client_txs(2)))
    assert r.on_message(a)
    assert r.on_message(b) == []
    assert r.stats["equivocation"] == 1


def test_equivocating_voter_is_counted_once() -> None:
    r, _ = backup()
    pp = make_pre_prepare(KS[0], CHAIN, 0, good_block())
    r.on_message(pp)
    r.on_message(make_prepare(KS[2], CHAIN, 0, 1, "bb" * 32))
    # a conflicting second vote is not counted: primary + us = 2 < 3, no commit yet
    assert r.on_message(make_prepare(KS[2], CHAIN, 0, 1, pp.block_hash)) == []
    assert r.stats["equivocation"] == 1
    acts = r.on_message(make_prepare(KS[3], CHAIN, 0, 1, pp.block_hash))
    assert [a.msg for a in acts if isinstance(a, Broadcast) and isinstance(a.msg, Commit)]


def test_replayed_messages_are_duplicates() -> None:
    r, _ = backup()
    pp = make_pre_prepare(KS[0], CHAIN, 0, good_block())
    prep = make_prepare(KS[2], CHAIN, 0, 1, pp.block_hash)
    r.on_message(pp)
    first = r.on_message(prep)
    assert first
    for _ in range(5):
        assert r.on_message(prep) == []
        assert r.on_message(pp) == []
    assert r.stats["duplicate"] == 10


def test_buffered_future_height_messages_are_bounded() -> None:
    cfg = replace(CFG, max_buffered_messages=400)
    r = Replica(
        cfg,
        KS[1],
        NonceValidator(),
        last_height=0,
        last_block_hash=GENESIS_HASH,
        last_state_root=GENESIS_ROOT,
        last_receipts_root=EMPTY_ROOT,
        last_block_time=0,
    )
    for h in range(2, 65):
        for view in range(8):
            r.on_message(make_prepare(KS[2], CHAIN, view, h, "cc" * 32))
    assert r.buffered <= 400 // 4
    assert r.stats["buffer_full"] > 0


def test_lagging_backup_recovers_through_retransmission() -> None:
    c = Cluster()
    txs = client_txs(4)
    late = c.keys[3].public_hex
    c.drop = lambda s, r, m: r == late and isinstance(m, Commit)
    c.offer(txs[:2])
    c.tick(60)
    assert c.nodes[late].replica.height == 0
    c.drop = lambda s, r, m: False
    c.tick(2000)  # retransmissions and answers to the lagging node
    assert c.heights() == [1, 1, 1, 1]


def test_next_height_proposal_is_buffered_until_the_previous_is_applied() -> None:
    r, v = backup()
    b1 = good_block()
    b2 = good_block(
        height=2,
        prev_hash=b1.hash,
        state_root="11" * 32,
        receipts_root=receipts_of(b1),
        time=9_500,
        txs=client_txs(5)[3:],
    )
    assert r.on_message(make_pre_prepare(KS[0], CHAIN, 0, b2)) == []
    assert r.on_message(make_pre_prepare(KS[0], CHAIN, 0, b1))  # prepares height 1
    for k in KS[2:]:
        r.on_message(make_prepare(k, CHAIN, 0, 1, b1.hash))
    acts: list[Any] = []
    for k in KS[:3]:
        acts += r.on_message(make_commit(k, CHAIN, 0, 1, b1.hash))
    assert [a.block.height for a in acts if isinstance(a, CommitBlock)] == [1]
    v.apply(b1)
    after = r.on_block_applied(b1, "11" * 32, receipts_root=receipts_of(b1))
    prepares = [a.msg for a in after if isinstance(a, Broadcast) and isinstance(a.msg, Prepare)]
    assert [(p.height, p.block_hash) for p in prepares] == [(2, b2.hash)]


def test_a_key_outside_the_validator_set_is_a_config_error() -> None:
    from chain.errors import ConfigError

    with pytest.raises(ConfigError):
        Replica(
            CFG,
            keys(5)[4],
            NonceValidator(),
            last_height=0,
            last_block_hash=GENESIS_HASH,
            last_state_root=GENESIS_ROOT,
            last_receipts_root=EMPTY_ROOT,
            last_block_time=0,
        )
