"""A backup forwards what it has offered for half the request timeout to the primary, once a view.

Gossip carries each transaction to every validator once. A primary whose pool had no room when
it came never gets it again, and the backups holding it would start view changes to move it.
"""

from __future__ import annotations

import pytest

from consensus import replica as replica_mod
from tests.consensus.helpers import Cluster, client_txs


def _views(c: Cluster) -> set[int]:
    return {n.replica.view for n in c.nodes.values()}


def test_a_backup_forwards_what_the_primary_missed_and_no_view_change_follows() -> None:
    c = Cluster()
    primary, *backups = c.cfg.validators
    txs = client_txs(3)
    c.offer(txs, to=backups)  # the primary's pool refused them
    c.offer([], to=[primary])
    c.tick(c.cfg.forward_after_ms - 100)
    assert c.forwards == []  # not yet: gossip is usually enough
    c.tick(c.cfg.retransmit_ms + 100)
    assert sorted(sender for sender, _to, _txs in c.forwards) == sorted(backups)
    assert {to for _s, to, _t in c.forwards} == {primary}
    assert all(list(forwarded) == txs for _s, _to, forwarded in c.forwards)
    assert all(c.nodes[b].replica.stats["txs_forwarded"] == 3 for b in backups)

    c.offer(txs, to=[primary])  # what the primary's pool does with a forwarded tx
    c.tick(500)
    assert c.heights() == [1, 1, 1, 1]
    assert _views(c) == {0}
    assert not any(n.replica.stats.get("request_timeouts") for n in c.nodes.values())


def test_forwarded_once_per_view_and_again_to_the_next_primary() -> None:
    c = Cluster()
    v0, v1, *holders = c.cfg.validators
    txs = client_txs(1)
    c.offer(txs, to=holders)  # neither the primary of view 0 nor that of view 1 has it
    c.offer([], to=[v0, v1])
    c.tick(c.cfg.request_timeout_ms - 100)
    assert sorted((s, to) for s, to, _t in c.forwards) == sorted((h, v0) for h in holders)

    c.forwards.clear()
    for _ in range(1_000):  # request timers fire: view 1, primary v1
        c.tick(20)
        if _views(c) == {1} and not any(n.replica.in_view_change for n in c.nodes.values()):
            break
    assert _views(c) == {1}
    assert c.forwards == []  # the new view starts the wait again
    c.tick(c.cfg.forward_after_ms + c.cfg.retransmit_ms)
    assert sorted((s, to) for s, to, _t in c.forwards) == sorted((h, v1) for h in holders)


def test_the_primary_and_a_quick_chain_forward_nothing() -> None:
    c = Cluster()
    c.offer(client_txs(4))
    c.tick(c.cfg.request_timeout_ms * 2)
    assert c.heights() == [1, 1, 1, 1]
    assert c.forwards == []

    primary, *backups = c.cfg.validators
    c.offer(client_txs(2, sender_index=1), to=[primary])  # only the primary holds them
    c.offer([], to=backups)
    c.tick(c.cfg.forward_after_ms + c.cfg.retransmit_ms)
    assert c.forwards == []


def test_a_large_backlog_goes_out_in_bounded_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replica_mod, "MAX_FORWARDED_TXS", 2)
    c = Cluster()
    primary, first, *others = c.cfg.validators
    txs = client_txs(5)
    c.offer(txs, to=[first])
    c.offer([], to=[primary, *others])
    c.tick(c.cfg.forward_after_ms + 20)
    assert [list(t) for _s, _to, t in c.forwards] == [txs[:2]]
    c.tick(c.cfg.retransmit_ms)
    c.tick(c.cfg.retransmit_ms)
    assert [list(t) for _s, _to, t in c.forwards] == [txs[:2], txs[2:4], txs[4:]]
