"""On real nodes: what a primary's pool refused is forwarded to it by the backups that hold it.

Node 0, the first primary, holds two transactions per sender (``max_per_sender = 2``). A run of
three transfers sent to a backup reaches node 0 by gossip all at once, and node 0 refuses the
third for room. Gossip is sent once, so before forwarding only a view change could move it (the
backups time out on it together); now they forward it after half the request timeout, when the
first two have committed, and it commits in view 0.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.harness import LocalCluster, sign_batch, submit_all, wait_committed

pytestmark = pytest.mark.integration


async def test_transactions_the_primary_refused_for_room_commit_without_a_view_change(
    new_cluster: Any,
) -> None:
    cluster: LocalCluster = new_cluster()
    path = cluster.config_path(0)
    path.write_text(path.read_text() + "\n[mempool]\nmax_per_sender = 2\nnonce_window = 2\n")
    await cluster.start_all()
    assert await cluster.primary_index() == 0

    key, to = cluster.accounts[0], cluster.accounts[1].public_hex
    hashes = await submit_all(cluster.url(1), sign_batch(key, cluster.chain_id, 0, 3, to))
    committed = await wait_committed(cluster, 1, hashes, timeout=30)
    assert len(committed) == 3

    statuses = [await cluster.status(i) for i in range(cluster.n)]
    assert [s["view"] for s in statuses] == [0] * cluster.n
    assert statuses[0]["stats"]["node"]["gossip_txs_no_room"] >= 1
    forwarded = [s["stats"]["consensus"].get("txs_forwarded", 0) for s in statuses]
    assert forwarded[0] == 0 and sum(forwarded[1:]) >= 1, forwarded
    assert not any(s["stats"]["consensus"].get("request_timeouts") for s in statuses)
