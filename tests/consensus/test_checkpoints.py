"""Checkpoints, watermarks, garbage collection and the state-transfer trigger."""

from __future__ import annotations

from consensus.actions import FetchBlocks, PruneJournal
from consensus.messages import Checkpoint, make_checkpoint
from tests.consensus.helpers import CHAIN, GENESIS_ROOT, Cluster, client_txs


def run_blocks(c: Cluster, count: int, start: int = 0) -> None:
    txs = client_txs(start + count)
    for tx in txs[start:]:
        c.offer([tx])
        c.tick(60)


def test_checkpoints_become_stable_and_prune_the_journal() -> None:
    c = Cluster(checkpoint_interval=4, watermark_window=8)
    run_blocks(c, 9)
    assert c.heights() == [9] * 4
    for node in c.nodes.values():
        assert node.replica.stable_checkpoint == 8
        assert node.pruned_below == 9
        assert all(r["height"] >= 9 for r in node.journal)
        assert node.replica.buffered <= 3 * 4  # only votes for the open height remain


def test_withheld_checkpoints_stop_the_primary_at_the_high_watermark() -> None:
    c = Cluster(checkpoint_interval=4, watermark_window=8)
    c.drop = lambda s, r, m: isinstance(m, Checkpoint)
    run_blocks(c, 12)
    assert max(c.heights()) == 8  # stable 0 + window 8
    assert c.primary().replica.stats["proposal_blocked_by_watermark"] > 0
    c.drop = lambda s, r, m: False
    c.tick(1_000)  # checkpoints are retransmitted, the log opens again
    assert {n.replica.stable_checkpoint for n in c.nodes.values()} == {8}
    c.offer(client_txs(12)[8:])
    c.tick(1_000)
    assert c.heights() == [9] * 4  # the four waiting transfers go in one block
    assert len(c.primary().blocks[-1][0].txs) == 4


def test_stable_checkpoint_above_us_triggers_state_transfer() -> None:
    c = Cluster(checkpoint_interval=4, watermark_window=8)
    r = c.nodes[c.cfg.validators[3]].replica
    acts = []
    for k in c.keys[:3]:
        acts += r.on_message(make_checkpoint(k, CHAIN, 4, "ab" * 32, GENESIS_ROOT))
    fetch = [a for a in acts if isinstance(a, FetchBlocks)]
    assert fetch and fetch[0].from_height == 1
    assert set(fetch[0].peers[:3]) == {k.public_hex for k in c.keys[:3]}
    assert not [a for a in acts if isinstance(a, PruneJournal)]  # nothing to prune yet


def test_mismatched_checkpoints_do_not_become_stable() -> None:
    c = Cluster(checkpoint_interval=4, watermark_window=8)
    r = c.nodes[c.cfg.validators[3]].replica
    for i, k in enumerate(c.keys[:3]):
        r.on_message(make_checkpoint(k, CHAIN, 4, f"{i:02x}" * 32, GENESIS_ROOT))
    assert r.stable_checkpoint == 0


def test_node_restarted_into_an_idle_cluster_catches_up() -> None:
    """Regression (sim seeds 120/185/...): a node behind in an idle cluster must not stall."""
    c = Cluster(checkpoint_interval=4, watermark_window=8)
    lagger = c.cfg.validators[2]
    run_blocks(c, 2)
    c.nodes[lagger].up = False
    run_blocks(c, 5, start=2)
    assert c.nodes[lagger].replica.height == 2
    c.nodes[lagger].up = True
    c.restart(lagger)
    c.tick(20 * c.cfg.retransmit_ms)  # nobody has anything to propose: only probes flow
    assert c.nodes[lagger].replica.height == 7
    assert c.nodes[lagger].fetches


def test_partitioned_replica_rejoins_while_others_keep_committing() -> None:
    c = Cluster(checkpoint_interval=4, watermark_window=8)
    cut = c.cfg.validators[3]
    c.drop = lambda s, r, m: cut in (s, r)
    run_blocks(c, 20)
    assert c.nodes[cut].replica.height == 0 and min(h for h in c.heights() if h) == 20
    c.drop = lambda s, r, m: False
    txs = client_txs(22)
    c.offer(txs[20:21])
    c.tick(3_000)
    assert c.heights() == [21] * 4
