"""View change: primary failure, re-proposal of prepared blocks, f+1 join, timers, NEW-VIEW checks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chain.block import EMPTY_ROOT
from consensus.actions import Broadcast
from consensus.messages import (
    Commit,
    NewView,
    PrePrepare,
    ViewChange,
    make_new_view,
    make_pre_prepare,
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
from tests.consensus.test_messages import block, prepared

KS = keys(4)
CFG = config(KS)


def fresh(index: int, **kw: Any) -> Replica:
    return Replica(
        replace(CFG, **kw) if kw else CFG,
        KS[index],
        NonceValidator(),
        last_height=0,
        last_block_hash=GENESIS_HASH,
        last_state_root=GENESIS_ROOT,
        last_receipts_root=EMPTY_ROOT,
        last_block_time=0,
        mono_ms=1_000,
        wall_ms=1_000,
    )


def test_dead_primary_is_replaced_and_pending_txs_commit() -> None:
    c = Cluster()
    txs = client_txs(4)
    c.offer(txs[:2])
    c.tick(100)
    old = c.primary()
    old.up = False
    c.offer(txs[2:])
    c.tick(c.cfg.request_timeout_ms + 1_000)
    live = [n for n in c.nodes.values() if n.up]
    assert {n.replica.view for n in live} == {1}
    assert c.primary().key.public_hex == c.cfg.validators[1]
    assert {n.replica.height for n in live} == {2}
    assert all(not n.replica.in_view_change for n in live)


def test_prepared_block_survives_the_view_change_with_the_same_hash() -> None:
    c = Cluster()
    c.drop = lambda s, r, m: isinstance(m, Commit)  # everyone prepares, nobody commits
    c.offer(client_txs(2))
    c.tick(100)
    assert c.heights() == [0, 0, 0, 0]
    proposed = {m.block_hash for _s, _r, m in c.sent if isinstance(m, PrePrepare)}
    assert len(proposed) == 1
    c.primary().up = False
    c.drop = lambda s, r, m: isinstance(m, Commit) and m.view == 0
    c.tick(c.cfg.request_timeout_ms + 1_500)
    live = [n for n in c.nodes.values() if n.up]
    assert {n.replica.height for n in live} == {1}
    assert {n.blocks[0][0].hash for n in live} == proposed
    assert all(n.blocks[0][1].view == 1 for n in live)  # committed in the new view


def test_one_view_change_for_a_huge_view_drags_nobody() -> None:
    r = fresh(2)
    huge = make_view_change(KS[1], CHAIN, 10**12, 0, None, None, None)
    assert r.on_message(huge) == []
    assert r.view == 0 and not r.in_view_change


def test_f_plus_one_view_changes_make_a_replica_join_the_smallest_view() -> None:
    r = fresh(3)
    r.on_message(make_view_change(KS[0], CHAIN, 9, 0, None, None, None))
    assert r.view == 0
    acts = r.on_message(make_view_change(KS[1], CHAIN, 5, 0, None, None, None))
    assert r.view == 5 and r.in_view_change
    sent = [a.msg for a in acts if isinstance(a, Broadcast)]
    assert any(
        isinstance(m, ViewChange) and m.view == 5 and m.sender == KS[3].public_hex for m in sent
    )


def test_view_change_timer_starts_only_with_two_f_plus_one() -> None:
    r = fresh(3, request_timeout_ms=100, view_change_timeout_ms=100)
    r.on_request(client_txs(1))
    r.on_tick(1_200, 1_200)  # request timer fires: view change to 1, alone
    assert r.view == 1 and r.in_view_change
    for t in range(1_200, 20_000, 50):
        r.on_tick(t, t)
    assert r.view == 1  # no quorum: the timer never started, no escalation
    r.on_message(make_view_change(KS[0], CHAIN, 1, 0, None, None, None))
    r.on_message(make_view_change(KS[2], CHAIN, 1, 0, None, None, None))
    r.on_tick(20_000, 20_000)
    assert r.view == 1  # the timer (100 ms) started only now
    r.on_tick(20_100, 20_100)
    assert r.view == 2  # quorum for view 1 but no NEW-VIEW: move on


def test_timeouts_double_across_failed_views() -> None:
    c = Cluster(n=7, view_change_timeout_ms=200, max_view_change_timeout_ms=10_000)
    dead = c.cfg.validators[1:3]  # primaries of views 1 and 2
    for pub in dead:
        c.nodes[pub].up = False
    c.offer(client_txs(1), to=[c.cfg.validators[i] for i in (3, 4, 5, 6)])  # censored by 0
    watcher = c.nodes[c.cfg.validators[4]].replica
    changes: dict[int, int] = {}
    for _ in range(200):
        c.tick(20)
        changes.setdefault(watcher.view, c.now)
        if not watcher.in_view_change and watcher.view == 3:
            break
    assert watcher.view == 3 and not watcher.in_view_change
    first, second = changes[2] - changes[1], changes[3] - changes[2]
    assert 200 <= first < 400 and 400 <= second < 700  # 200 ms, then doubled to 400 ms
    assert c.nodes[c.cfg.validators[4]].replica.height == 0
    c.tick(200)
    assert {c.nodes[c.cfg.validators[i]].replica.height for i in (0, 3, 4, 5, 6)} == {1}


def _vcs_for_view1(x_prepared: bool) -> tuple[list[ViewChange], str]:
    b1 = block(1)
    prep = prepared(1, b1.hash) if x_prepared else None
    vcs = [
        make_view_change(KS[0], CHAIN, 1, 0, None, prep, b1 if prep else None),
        make_view_change(KS[2], CHAIN, 1, 0, None, None, None),
        make_view_change(KS[3], CHAIN, 1, 0, None, None, None),
    ]
    return vcs, b1.hash


def test_backup_accepts_a_correct_new_view_and_prepares_the_chosen_block() -> None:
    r = fresh(2)
    vcs, chosen = _vcs_for_view1(True)
    b1 = block(1)
    nv = make_new_view(KS[1], CHAIN, 1, tuple(vcs), make_pre_prepare(KS[1], CHAIN, 1, b1))
    r.on_message(make_view_change(KS[0], CHAIN, 1, 0, None, None, None))
    r.on_message(make_view_change(KS[3], CHAIN, 1, 0, None, None, None))
    assert r.view == 1 and r.in_view_change
    acts = r.on_message(nv)
    assert r.view == 1 and not r.in_view_change
    sent = [a.msg for a in acts if isinstance(a, Broadcast)]
    assert [m.block_hash for m in sent if hasattr(m, "block_hash")] == [chosen]


def test_new_view_that_ignores_a_prepared_block_is_rejected() -> None:
    r = fresh(2)
    vcs, _chosen = _vcs_for_view1(True)
    other = block(1, ntx=3)
    other = type(other)(replace(other.header, view=1, proposer=KS[1].public_hex), other.txs)
    for pp in (None, make_pre_prepare(KS[1], CHAIN, 1, other)):
        nv = make_new_view(KS[1], CHAIN, 1, tuple(vcs), pp)
        assert r.on_message(nv) == []
    assert r.stats["invalid_new_view"] == 2 and r.view == 0


def test_new_view_with_too_few_or_foreign_view_changes_is_rejected() -> None:
    r = fresh(2)
    vcs, _ = _vcs_for_view1(False)
    short = make_new_view(KS[1], CHAIN, 1, tuple(vcs[:2]), None)
    wrong_view = make_new_view(
        KS[1], CHAIN, 1, (*vcs[:2], make_view_change(KS[3], CHAIN, 2, 0, None, None, None)), None
    )
    not_primary = make_new_view(KS[3], CHAIN, 1, tuple(vcs), None)
    for nv in (short, wrong_view, not_primary):
        assert r.on_message(nv) == []
    assert r.view == 0
    assert r.stats["invalid_new_view"] == 2 and r.stats["new_view_not_from_primary"] == 1


def test_view_change_with_forged_certificate_is_ignored() -> None:
    r = fresh(2)
    b1 = block(1)
    bad = prepared(1, b1.hash)
    bad = replace(bad, signatures=bad.signatures[:2])  # only 2 of the needed 3
    vc = make_view_change(KS[0], CHAIN, 1, 0, None, bad, b1)
    r.on_message(vc)
    assert r.stats["invalid_view_change"] == 1


def test_censoring_primary_is_replaced() -> None:
    c = Cluster()
    txs = client_txs(2)
    primary = c.cfg.validators[0]
    backups = [p for p in c.cfg.validators if p != primary]
    c.offer(txs, to=backups)  # the primary "never sees" (censors) these transactions
    c.offer([], to=[primary])
    c.tick(c.cfg.request_timeout_ms + 1_000)
    assert all(n.replica.view >= 1 for n in c.nodes.values() if n.key.public_hex != primary)
    assert {n.replica.height for p, n in c.nodes.items() if p != primary} == {1}


def test_replica_in_an_old_view_is_shown_the_new_view() -> None:
    c = Cluster()
    txs = client_txs(3)
    c.offer(txs[:1])
    c.tick(100)
    v = c.cfg.validators
    c.nodes[v[3]].up = False  # misses the whole view change
    c.offer(txs[1:2], to=[v[1], v[2]])  # primary 0 censors: 1 and 2 time out, 0 joins them
    c.tick(c.cfg.request_timeout_ms + 1_000)
    assert [c.nodes[p].replica.view for p in v[:3]] == [1, 1, 1]
    c.nodes[v[3]].up = True
    assert c.nodes[v[3]].replica.view == 0
    c.offer(txs[2:])
    c.tick(c.cfg.request_timeout_ms + 2_000)
    assert c.nodes[v[3]].replica.view == 1
    assert c.heights() == [3, 3, 3, 3]
    assert any(isinstance(m, NewView) and r == v[3] for _s, r, m in c.sent)


def test_heights_proven_committed_by_the_new_view_are_fetched_not_re_proposed() -> None:
    """Regression (sim seeds 11232/11414/11429)."""
    from chain.block import CommitCertificate
    from consensus.actions import FetchBlocks
    from consensus.messages import make_commit

    b1 = block(1)
    sigs = tuple(
        sorted((k.public_hex, make_commit(k, CHAIN, 0, 1, b1.hash).signature) for k in KS[:3])
    )
    cert = CommitCertificate(1, b1.hash, 0, sigs)
    vcs = (
        make_view_change(KS[0], CHAIN, 1, 1, cert, None, None),  # someone is at height 1
        make_view_change(KS[2], CHAIN, 1, 0, None, None, None),
        make_view_change(KS[3], CHAIN, 1, 0, None, None, None),
    )
    nv = make_new_view(KS[1], CHAIN, 1, vcs, None)
    r = fresh(2)
    acts = r.on_message(nv)
    assert r.view == 1 and not r.in_view_change
    assert [a.from_height for a in acts if isinstance(a, FetchBlocks)] == [1]
    # a fresh proposal for height 1 in view 1 is refused: height 1 is already committed
    other = block(1, ntx=3)
    other = type(other)(replace(other.header, view=1, proposer=KS[1].public_hex), other.txs)
    assert r.on_message(make_pre_prepare(KS[1], CHAIN, 1, other)) == []
    assert r.stats["invalid_block"] == 1
    # and the new primary itself, still at height 0, proposes nothing
    p = fresh(1)
    p.on_message(vcs[0])
    p.on_message(vcs[1])
    assert p.view == 1 and not p.in_view_change and p.primary == KS[1].public_hex
    p.on_request(client_txs(2))
    for t in range(1_000, 3_000, 20):
        acts = p.on_tick(t, t)
        assert not [a for a in acts if isinstance(a, Broadcast) and isinstance(a.msg, PrePrepare)]
