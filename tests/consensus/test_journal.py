"""Crash recovery from the vote journal: never sign a conflicting vote, resume the view."""

from __future__ import annotations

from typing import Any

from chain.block import EMPTY_ROOT
from chain.encoding import loads_strict
from consensus.actions import Broadcast, Persist
from consensus.messages import (
    Prepare,
    PrePrepare,
    ViewChange,
    decode_message,
    make_pre_prepare,
    make_prepare,
    make_view_change,
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
)
from tests.consensus.test_replica_normal import good_block

KS = keys(4)
CFG = config(KS)


def replica(index: int, journal: list[dict[str, Any]]) -> Replica:
    return Replica(
        CFG,
        KS[index],
        NonceValidator(),
        last_height=0,
        last_block_hash=GENESIS_HASH,
        last_state_root=GENESIS_ROOT,
        last_receipts_root=EMPTY_ROOT,
        last_block_time=0,
        journal=journal,
        mono_ms=10_000,
        wall_ms=10_000,
    )


def persisted(acts: list[Any]) -> list[dict[str, Any]]:
    return [a.record for a in acts if isinstance(a, Persist)]


def test_restarted_backup_does_not_prepare_a_conflicting_block() -> None:
    r = replica(1, [])
    a = make_pre_prepare(KS[0], CHAIN, 0, good_block())
    journal = persisted(r.on_message(a))
    assert len(journal) == 1
    again = replica(1, journal)  # crash + restart: in-memory state is gone
    b = make_pre_prepare(KS[0], CHAIN, 0, good_block(txs=client_txs(2)))
    acts = again.on_message(b)
    assert not [x for x in acts if isinstance(x, Broadcast)]
    assert again.stats["would_equivocate"] == 1
    # the same block is still fine (and is not re-signed twice)
    third = replica(1, journal)
    assert not [x for x in third.on_message(a) if isinstance(x, Broadcast)]


def test_restarted_primary_re_sends_its_proposal_instead_of_a_new_one() -> None:
    c = Cluster()
    primary = c.cfg.validators[0]
    c.drop = lambda s, r, m: s == primary  # the proposal never leaves the primary
    c.offer(client_txs(2))
    c.tick(40)
    proposals = [r for r in c.nodes[primary].journal if r["msg"]["type"] == "pre_prepare"]
    assert len(proposals) == 1
    c.restart(primary)
    c.drop = lambda s, r, m: False
    c.offer(client_txs(3))  # a bigger offer must not produce a second, different proposal
    c.tick(1_000)
    sent = {
        (m.height, m.block_hash)
        for s, _r, m in c.sent
        if s == primary and isinstance(m, PrePrepare)
    }
    assert [h for h, _ in sorted(sent)] == [1, 2]  # one proposal per height, never two
    first = next(h for hh, h in sent if hh == 1)
    assert c.heights() == [2, 2, 2, 2]
    assert c.nodes[primary].blocks[0][0].hash == first


def test_restart_resumes_the_journaled_view_change() -> None:
    r = replica(3, [])
    r.on_message(make_view_change(KS[0], CHAIN, 4, 0, None, None, None))
    journal = persisted(r.on_message(make_view_change(KS[1], CHAIN, 4, 0, None, None, None)))
    assert r.view == 4 and r.in_view_change
    again = replica(3, journal)
    assert again.view == 4 and again.in_view_change


def test_restart_after_new_view_keeps_the_view_and_its_constraint() -> None:
    c = Cluster()
    c.offer(client_txs(1))
    c.tick(100)
    c.primary().up = False
    c.offer(client_txs(2))
    c.tick(c.cfg.request_timeout_ms + 1_000)
    pub = c.cfg.validators[2]
    assert c.nodes[pub].replica.view == 1
    c.restart(pub)
    assert c.nodes[pub].replica.view == 1 and not c.nodes[pub].replica.in_view_change


def test_every_vote_record_precedes_its_send_across_a_whole_run() -> None:
    c = Cluster()
    order: list[str] = []
    real = c.perform

    def spy(pub: str, actions: list[Any]) -> None:
        for act in actions:
            if isinstance(act, Persist):
                order.append(
                    "persist:" + act.record["msg"]["signature"]
                    if "msg" in act.record
                    else "persist"
                )
            elif isinstance(act, Broadcast) and isinstance(act.msg, (PrePrepare, Prepare)):
                order.append("send:" + act.msg.signature)
        real(pub, actions)

    c.perform = spy  # type: ignore[method-assign]
    c.offer(client_txs(5))
    c.tick(200)
    sends = [o for o in order if o.startswith("send:")]
    assert sends
    for s in sends:
        assert order.index("persist:" + s[5:]) < order.index(s)


def test_unreadable_journal_records_are_skipped_and_counted() -> None:
    good = persisted(replica(1, []).on_message(make_pre_prepare(KS[0], CHAIN, 0, good_block())))
    junk: list[dict[str, Any]] = [
        {"kind": "msg", "height": 1, "msg": {"type": "nope"}},
        {"kind": "weird", "height": 1},
        {"height": 1},
    ]
    r = replica(1, junk + good)
    assert r.stats["bad_journal_record"] == 3
    other = make_prepare(KS[1], CHAIN, 0, 1, "ff" * 32)
    assert other.block_hash != good[0]["msg"]["block_hash"]
    b = make_pre_prepare(KS[0], CHAIN, 0, good_block(txs=client_txs(2)))
    assert not [x for x in r.on_message(b) if isinstance(x, Broadcast)]


def test_prepared_certificate_and_block_survive_a_restart_into_the_view_change() -> None:
    """Regression (sim seed 5022): the prepared block must reach the VIEW-CHANGE after a crash."""
    r = replica(2, [])
    pp = make_pre_prepare(KS[0], CHAIN, 0, good_block())
    journal = persisted(r.on_message(pp))
    journal += persisted(r.on_message(make_prepare(KS[1], CHAIN, 0, 1, pp.block_hash)))
    assert any(rec["msg"]["type"] == "commit" and "block" in rec for rec in journal)
    again = replica(2, journal)
    again.on_message(make_view_change(KS[0], CHAIN, 1, 0, None, None, None))
    acts = again.on_message(make_view_change(KS[1], CHAIN, 1, 0, None, None, None))
    vcs = [a.msg for a in acts if isinstance(a, Broadcast) and isinstance(a.msg, ViewChange)]
    assert len(vcs) == 1
    assert vcs[0].prepared is not None and vcs[0].prepared.block_hash == pp.block_hash
    assert vcs[0].block is not None and vcs[0].block.hash == pp.block_hash


def _legacy(record: dict[str, Any]) -> dict[str, Any]:
    """A record as a node from before chain.wire journaled it: transactions as objects."""

    def block(obj: Any) -> Any:
        if not isinstance(obj, dict):
            return obj
        return {**obj, "txs": [loads_strict(raw) for raw in obj["txs"]]}

    out = dict(record)
    if "block" in out:
        out["block"] = block(out["block"])
    msg = dict(out["msg"])
    if msg["type"] == "pre_prepare":
        msg["block"] = block(msg["block"])
    out["msg"] = msg
    return out


def test_a_journal_written_before_the_wire_upgrade_still_binds_the_replica() -> None:
    """After the upgrade to string-carried transactions, old records are still our votes."""
    primary = replica(0, [])
    primary.on_request(client_txs(2))
    proposal = [
        r for r in persisted(primary.on_tick(10_100, 10_100)) if r["msg"]["type"] == "pre_prepare"
    ]
    assert len(proposal) == 1
    pp = decode_message(proposal[0]["msg"])
    assert isinstance(pp, PrePrepare)
    # the restarted primary remembers its proposal: a different offer gets no second one
    again_primary = replica(0, [_legacy(proposal[0])])
    assert again_primary.stats.get("bad_journal_record", 0) == 0
    again_primary.on_request(client_txs(3))
    acts = again_primary.on_tick(20_000, 20_000)
    sent = [a.msg for a in acts if isinstance(a, Broadcast) and isinstance(a.msg, PrePrepare)]
    assert all(m.block_hash == pp.block_hash for m in sent)
    # a backup's commit record carries the prepared block; it still reaches the view change
    r = replica(2, [])
    journal = persisted(r.on_message(pp))
    journal += persisted(r.on_message(make_prepare(KS[1], CHAIN, 0, 1, pp.block_hash)))
    legacy = [_legacy(rec) for rec in journal]
    assert legacy != journal
    again = replica(2, legacy)
    assert again.stats.get("bad_journal_record", 0) == 0
    again.on_message(make_view_change(KS[0], CHAIN, 1, 0, None, None, None))
    acts = again.on_message(make_view_change(KS[1], CHAIN, 1, 0, None, None, None))
    vcs = [a.msg for a in acts if isinstance(a, Broadcast) and isinstance(a.msg, ViewChange)]
    assert vcs and vcs[0].block is not None and vcs[0].block.hash == pp.block_hash
