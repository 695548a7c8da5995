"""A broken internal invariant stops the replica with its name and state; bad input does not.

Each test builds the broken state directly (a corrupted journal, a forged in-memory vote, a
runtime that hands over the wrong block) and checks that the replica raises InvariantViolation
naming the invariant -- never that it logs and goes on.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from chain.block import EMPTY_ROOT, Block, CommitCertificate
from consensus.actions import CommitBlock, Persist
from consensus.invariants import (
    APPLIED_IN_ORDER,
    CHECKPOINT_NOT_ABOVE_COMMITTED,
    COMMIT_NEEDS_CERTIFICATE,
    JOURNALED_BEFORE_SENT,
    ONE_VOTE_PER_SLOT,
    PARENT_HASH_CHAINS,
    InvariantViolation,
    invariant,
)
from consensus.messages import (
    PreparedCert,
    make_checkpoint,
    make_commit,
    make_pre_prepare,
    make_prepare,
)
from consensus.quorum import PREPARE
from consensus.records import VoteRecord
from consensus.replica import Replica
from consensus.simulator import SIM_CHAIN_ID, SimNode, Simulation
from tests.consensus.helpers import (
    CHAIN,
    GENESIS_HASH,
    GENESIS_ROOT,
    NonceValidator,
    config,
    keys,
)
from tests.consensus.test_replica_normal import good_block

KS = keys(4)
CFG = config(KS)
OTHER_HASH = "ff" * 32


def replica(index: int = 1, journal: list[dict[str, Any]] | None = None) -> Replica:
    return Replica(
        CFG,
        KS[index],
        NonceValidator(),
        last_height=0,
        last_block_hash=GENESIS_HASH,
        last_state_root=GENESIS_ROOT,
        last_receipts_root=EMPTY_ROOT,
        last_block_time=0,
        journal=journal or [],
        mono_ms=10_000,
        wall_ms=10_000,
    )


def committed(r: Replica, block: Block) -> CommitCertificate:
    """Drive ``r`` (a backup) to commit ``block`` at height 1; returns the certificate."""
    r.on_message(make_pre_prepare(KS[0], CHAIN, 0, block))
    for k in KS[2:]:
        r.on_message(make_prepare(k, CHAIN, 0, 1, block.hash))
    acts: list[Any] = []
    for k in KS[:3]:
        acts += r.on_message(make_commit(k, CHAIN, 0, 1, block.hash))
    commits = [a for a in acts if isinstance(a, CommitBlock)]
    assert len(commits) == 1
    return commits[0].certificate


def broken(name: str) -> Any:
    return pytest.raises(InvariantViolation, match=name.replace("(", r"\(").replace(")", r"\)"))


def test_the_helper_names_the_invariant_and_the_state_and_logs_critical(
    caplog: pytest.LogCaptureFixture,
) -> None:
    invariant(True, "never checked", x=1)
    with caplog.at_level(logging.CRITICAL), pytest.raises(InvariantViolation) as info:
        invariant(False, "the sky is up", height=7, block="ab" * 32)
    assert info.value.invariant == "the sky is up"
    assert info.value.state == {"height": 7, "block": "ab" * 32}
    assert "height=7" in str(info.value)
    assert isinstance(info.value, AssertionError)
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert critical and "the sky is up" in critical[0].getMessage()


def test_a_journal_holding_two_different_votes_for_one_slot_stops_the_restart() -> None:
    journal = [
        VoteRecord(1, make_prepare(KS[1], CHAIN, 0, 1, "aa" * 32)).to_dict(),
        VoteRecord(1, make_prepare(KS[1], CHAIN, 0, 1, OTHER_HASH)).to_dict(),
    ]
    with broken(ONE_VOTE_PER_SLOT) as info:
        replica(1, journal)
    assert info.value.state["voted"] == "aa" * 32 and info.value.state["again"] == OTHER_HASH


def test_a_second_prepared_block_for_one_view_and_height_stops_the_replica() -> None:
    r = replica(1)
    r._prepared = PreparedCert(0, 1, OTHER_HASH, ())  # state broken directly
    block = good_block()
    r.on_message(make_pre_prepare(KS[0], CHAIN, 0, block))  # our PREPARE: two votes of three
    with broken(ONE_VOTE_PER_SLOT) as info:
        r.on_message(make_prepare(KS[2], CHAIN, 0, 1, block.hash))
    assert info.value.state["prepared"] == OTHER_HASH


def test_a_vote_held_in_memory_but_never_journaled_is_not_retransmitted() -> None:
    """The failure the issue names: a half-finished handler left an unjournaled vote behind."""
    r = replica(1)
    ghost = make_prepare(KS[1], CHAIN, 0, 1, OTHER_HASH)
    r._my_msgs[(PREPARE, 0, 1)] = ghost  # state broken directly: no Persist was emitted
    with broken(JOURNALED_BEFORE_SENT) as info:
        for t in range(10_000, 20_000, 100):
            r.on_tick(t, t)
    assert info.value.state["message"] == "Prepare"


def test_journaled_votes_are_retransmitted() -> None:
    r = replica(1)
    acts = r.on_message(make_pre_prepare(KS[0], CHAIN, 0, good_block()))
    assert [a for a in acts if isinstance(a, Persist)]
    resent = [a for t in range(10_000, 12_000, 100) for a in r.on_tick(t, t)]
    assert resent  # the journaled PREPARE goes out again, no invariant trips


def test_a_journaled_checkpoint_above_the_executed_chain_stops_the_restart() -> None:
    cp = make_checkpoint(KS[1], CHAIN, 16, "aa" * 32, "bb" * 32)
    with broken(CHECKPOINT_NOT_ABOVE_COMMITTED) as info:
        replica(1, [VoteRecord(16, cp).to_dict()])
    assert info.value.state == {"checkpoint": 16, "height": 0}


def test_an_applied_block_that_does_not_chain_stops_the_replica() -> None:
    r = replica(1)
    block = good_block()
    cert = committed(r, block)
    stray = good_block(prev_hash=OTHER_HASH)
    with broken(PARENT_HASH_CHAINS) as info:
        r.on_block_applied(
            stray,
            "11" * 32,
            CommitCertificate(1, stray.hash, 0, cert.signatures),
            receipts_root=EMPTY_ROOT,
        )
    assert info.value.state["prev_hash"] == OTHER_HASH
    assert r.height == 0  # nothing was adopted


def test_a_committed_block_that_does_not_chain_onto_ours_stops_the_replica() -> None:
    r = replica(1)
    r._last_hash = OTHER_HASH  # state broken directly: our chain is not what the block extends
    block = good_block()
    r.on_message(make_pre_prepare(KS[0], CHAIN, 0, block))
    with broken(PARENT_HASH_CHAINS):
        for k in (KS[0], KS[2], KS[3]):
            r.on_message(make_commit(k, CHAIN, 0, 1, block.hash))


def test_a_block_applied_without_its_certificate_stops_the_replica() -> None:
    r = replica(1)
    with broken(COMMIT_NEEDS_CERTIFICATE):
        r.on_block_applied(good_block(), "11" * 32, receipts_root=EMPTY_ROOT)
    r2 = replica(2)
    block = good_block()
    committed(r2, block)
    wrong = CommitCertificate(1, OTHER_HASH, 0, ())
    with broken(COMMIT_NEEDS_CERTIFICATE):
        r2.on_block_applied(block, "11" * 32, wrong, receipts_root=EMPTY_ROOT)


def test_the_pending_certificate_covers_a_block_the_replica_committed() -> None:
    r = replica(1)
    block = good_block()
    committed(r, block)
    r.on_block_applied(block, "11" * 32, receipts_root=EMPTY_ROOT)
    assert r.height == 1


def test_a_gap_in_applied_heights_stops_the_replica() -> None:
    r = replica(1)
    with broken(APPLIED_IN_ORDER) as info:
        r.on_block_applied(good_block(height=3), "11" * 32, receipts_root=EMPTY_ROOT)
    assert info.value.state == {"applied": 3, "height": 0}


def test_bad_input_from_outside_is_counted_not_raised() -> None:
    """Forged, stale and foreign messages are refused and counted, never an exception."""
    r = replica(1)
    forged = make_pre_prepare(KS[2], CHAIN, 0, good_block())  # not the primary of view 0
    assert r.on_message(forged) == []
    assert r.on_message(make_prepare(KS[1], CHAIN, 0, 1, OTHER_HASH)) == []  # "from" ourselves
    assert r.on_message(make_commit(KS[2], CHAIN, 10_000, 1, OTHER_HASH)) == []  # view too far
    stats = r.stats
    assert stats["pre_prepare_not_from_primary"] == 1
    assert stats["from_self"] == 1
    assert stats["view_too_far"] == 1


class CorruptingSimulation(Simulation):
    """Every crash also damages the victim's journal: a checkpoint above its executed chain."""

    def crash(self, node: SimNode) -> None:
        super().crash(node)
        height = node.height + 4 * self.cfg.checkpoint_interval
        cp = make_checkpoint(node.key, SIM_CHAIN_ID, height, "aa" * 32, "bb" * 32)
        node.journal.append(VoteRecord(height, cp).to_dict())


def test_a_broken_invariant_fails_the_simulator_seed() -> None:
    failures = []
    for seed in range(6):
        result = CorruptingSimulation(seed, 4, "crash").run()
        if not result.ok:
            failures.append(result.failure or "")
    assert failures, "no seed crashed a node"
    assert all("InvariantViolation" in f for f in failures)
    assert all(CHECKPOINT_NOT_ABOVE_COMMITTED in f for f in failures)
