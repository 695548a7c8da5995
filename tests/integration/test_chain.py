"""A real 4-node cluster: transfers commit exactly once, nodes agree, supply is conserved."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from tests.integration.harness import LocalCluster, sign_batch, submit_all, wait_committed

pytestmark = pytest.mark.integration

TXS_PER_ACCOUNT = 60  # 10 accounts x 60 = 600 transfers


async def test_600_pipelined_transfers_commit_once_everywhere(cluster: LocalCluster) -> None:
    accounts = cluster.accounts
    supply_before = 0
    for k in accounts:
        supply_before += (await cluster.call(0, "account_get", address=k.public_hex))["balance"]
    batches = [
        sign_batch(
            k,
            cluster.chain_id,
            0,
            TXS_PER_ACCOUNT,
            accounts[(a + 3) % len(accounts)].public_hex,
            amount=a + 1,
        )
        for a, k in enumerate(accounts)
    ]
    # several concurrent clients, each on its own node, nonces pipelined without waiting
    results = await asyncio.gather(
        *(submit_all(cluster.url(a % cluster.n), batch) for a, batch in enumerate(batches))
    )
    hashes = [h for part in results for h in part]
    assert len(hashes) == len(set(hashes)) == TXS_PER_ACCOUNT * len(accounts)
    committed = await wait_committed(cluster, 0, hashes)
    assert all(r["receipt"]["ok"] for r in committed.values())

    statuses = [await cluster.status(i) for i in range(cluster.n)]
    top = min(s["height"] for s in statuses)
    await cluster.wait_height(range(cluster.n), max(s["height"] for s in statuses))
    top = max(s["height"] for s in statuses)
    chains = [await cluster.all_blocks(i, top) for i in range(cluster.n)]
    for i in range(1, cluster.n):
        assert [b["hash"] for b in chains[i]] == [b["hash"] for b in chains[0]], f"node{i} diverged"
    # every transaction exactly once across the whole chain
    counts = Counter(h for b in chains[0] for h in b["txs"])
    assert all(counts[h] == 1 for h in hashes)
    assert sum(counts.values()) == len(hashes)
    # every block carries a commit certificate of 2f+1 validators
    assert all(len(b["commit"]) >= 3 for b in chains[0][1:])
    # identical balances on every node; supply conserved
    for i in range(cluster.n):
        supply = 0
        for a, k in enumerate(accounts):
            acct = await cluster.call(i, "account_get", address=k.public_hex)
            assert acct["nonce"] == TXS_PER_ACCOUNT
            sent = TXS_PER_ACCOUNT * (a + 1)
            received = TXS_PER_ACCOUNT * (((a - 3) % len(accounts)) + 1)
            assert acct["balance"] == 10**13 - sent + received
            supply += acct["balance"]
        assert supply == supply_before
    # tx_get reports the same location on every node
    sample = hashes[::97]
    for i in range(1, cluster.n):
        other = await wait_committed(cluster, i, sample)
        for h in sample:
            assert (other[h]["height"], other[h]["index"]) == (
                committed[h]["height"],
                committed[h]["index"],
            )
