"""Byzantine inputs: withholding, replays, floods and random validly-signed junk."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chain.block import EMPTY_ROOT
from consensus.actions import CommitBlock
from consensus.messages import (
    Commit,
    Prepare,
    make_checkpoint,
    make_commit,
    make_pre_prepare,
    make_prepare,
    make_view_change,
)
from consensus.replica import PROBE_FACTOR, Replica
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


def test_a_validator_withholding_all_votes_cannot_stop_the_others() -> None:
    c = Cluster()
    silent = c.cfg.validators[2]
    c.drop = lambda s, r, m: s == silent and isinstance(m, (Prepare, Commit))
    c.offer(client_txs(6))
    c.tick(300)
    assert c.heights() == [1, 1, 1, 1]


def test_replaying_the_whole_history_changes_nothing() -> None:
    c = Cluster()
    txs = client_txs(6)
    for i in range(3):
        c.offer(txs[2 * i : 2 * i + 2])
        c.tick(80)
    target = c.nodes[c.cfg.validators[1]]
    before = (target.replica.height, len(target.blocks), len(target.journal))
    history = [m for _s, r, m in c.sent if r == target.key.public_hex]
    for msg in history * 2:
        acts = target.replica.on_message(msg)
        assert not [a for a in acts if isinstance(a, CommitBlock)]
    assert (target.replica.height, len(target.blocks)) == before[:2]


def test_a_flooding_validator_cannot_crowd_out_honest_votes() -> None:
    cfg = replace(CFG, max_buffered_messages=200)
    r = Replica(
        cfg,
        KS[1],
        NonceValidator(),
        last_height=0,
        last_block_hash=GENESIS_HASH,
        last_state_root=GENESIS_ROOT,
        last_receipts_root=EMPTY_ROOT,
        last_block_time=0,
        mono_ms=10_000,
        wall_ms=10_000,
    )
    for h in range(2, 60):
        for view in range(0, 10):
            r.on_message(make_commit(KS[3], CHAIN, view, h, "dd" * 32))
    assert r.stats["buffer_full"] > 0
    pp = make_pre_prepare(KS[0], CHAIN, 0, good_block())
    r.on_message(pp)
    r.on_message(make_prepare(KS[2], CHAIN, 0, 1, pp.block_hash))
    acts: list[Any] = []
    for k in (KS[0], KS[2]):
        acts += r.on_message(make_commit(k, CHAIN, 0, 1, pp.block_hash))
    assert [a for a in acts if isinstance(a, CommitBlock)]


# the primary (validator 0) is the Byzantine one: it also equivocates on proposals
byz_messages = st.one_of(
    st.builds(
        lambda v, h, b: make_prepare(KS[0], CHAIN, v, h, b),
        st.integers(0, 40),
        st.integers(0, 200),
        st.sampled_from(["aa" * 32, "bb" * 32]),
    ),
    st.builds(
        lambda v, h, b: make_commit(KS[0], CHAIN, v, h, b),
        st.integers(0, 40),
        st.integers(0, 200),
        st.sampled_from(["aa" * 32, "bb" * 32]),
    ),
    st.builds(
        lambda v: make_view_change(KS[0], CHAIN, v, 0, None, None, None), st.integers(0, 10**15)
    ),
    st.builds(
        lambda h: make_checkpoint(KS[0], CHAIN, h, "cc" * 32, GENESIS_ROOT), st.integers(0, 10**6)
    ),
    st.builds(
        lambda t: make_pre_prepare(KS[0], CHAIN, 0, good_block(time=t)), st.integers(1, 100_000)
    ),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(byz_messages, max_size=40), st.randoms(use_true_random=False))
def test_random_byzantine_traffic_never_breaks_a_replica(msgs: list[Any], rnd: Any) -> None:
    c = Cluster()
    target = c.nodes[c.cfg.validators[1]]
    c.offer(client_txs(3))
    for msg in msgs:
        c.perform(target.key.public_hex, target.replica.on_message(msg))
        if rnd.random() < 0.3:
            c.tick(20)
    # An honest replica the Byzantine primary fed its own pre-prepare for height 1 cannot
    # assemble a commit quorum for the real block (the primary's commit for it counts as an
    # equivocation there), so it catches up by state transfer once it hears f+1 peers announce
    # a higher height: their idle probe, every PROBE_FACTOR retransmit periods. Liveness is
    # asserted after that bound; 3 s, before it, failed for such an input (seen in CI).
    c.tick(PROBE_FACTOR * c.cfg.retransmit_ms + c.cfg.request_timeout_ms)
    honest = [c.nodes[p] for p in c.cfg.validators[1:]]
    chains = {tuple(b.hash for b, _ in n.blocks) for n in honest}
    assert len({ch[: min(len(x) for x in chains)] for ch in chains}) == 1  # no fork
    for node in honest:
        for block, cert in node.blocks:
            cert.verify(CHAIN, list(c.cfg.validators))
            assert cert.block_hash == block.hash
    assert min(n.replica.height for n in honest) >= 1  # liveness despite the noise
