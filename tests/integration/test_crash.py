"""Crash a node under load: the others keep committing; the restarted node catches up."""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.integration.harness import LocalCluster, sign_batch, submit_all, wait_committed

pytestmark = pytest.mark.integration


async def test_sigkill_backup_under_load_then_catch_up(cluster: LocalCluster) -> None:
    keys = cluster.accounts
    primary = await cluster.primary_index()
    victim = (primary + 1) % cluster.n
    survivors = [i for i in range(cluster.n) if i != victim]
    to = keys[-1].public_hex

    first = sign_batch(keys[0], cluster.chain_id, 0, 150, to)
    load = asyncio.create_task(submit_all(cluster.url(survivors[0]), first))
    await asyncio.sleep(0.5)
    assert cluster.kill(victim, signal.SIGKILL) == -signal.SIGKILL
    hashes = await load
    await wait_committed(cluster, survivors[1], hashes)

    # the three survivors keep committing new work while the victim is down
    second = sign_batch(keys[1], cluster.chain_id, 0, 150, to)
    hashes2 = await submit_all(cluster.url(survivors[1]), second)
    await wait_committed(cluster, survivors[2], hashes2)
    height = (await cluster.status(survivors[0]))["height"]

    await cluster.restart(victim)
    await cluster.wait_height([victim], height, timeout=60)
    ref = await cluster.block_hashes(survivors[0], height)
    assert await cluster.block_hashes(victim, height) == ref
    got = await wait_committed(cluster, victim, hashes + hashes2)
    assert len(got) == 300
    acct = await cluster.call(victim, "account_get", address=to)
    ref_acct = await cluster.call(survivors[0], "account_get", address=to)
    assert acct == ref_acct
