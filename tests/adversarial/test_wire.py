"""Issue 7, findings 1 and 2, on real node processes: deeply nested transactions.

1. A call whose args nest 60 deep passed admission but could not be put in a PRE-PREPARE, so
   every proposal failed and the height froze. Now transactions travel as canonical strings.
2. Nested 61 deep, its gossip failed inside the unguarded tick loop, which died silently (the
   node stayed half alive). Now gossip carries it, and a task that dies stops the node loudly.

Memory bound for these attacks: every node stays under ``RSS_BOUND_MB`` (a 4-node cluster idles
near 70-90 MiB per node; the attack adds a few transactions of at most 64 KiB each) and ends
within ``RSS_SLACK_MB`` of its baseline.
"""

from __future__ import annotations

import asyncio
import resource
import shutil
import subprocess
from typing import Any

import pytest

from chain.crypto import KeyPair
from node.cluster import node_command
from rpc.client import RpcClient, RpcError
from tests.adversarial.probe import MemoryWatch, assert_commits, assert_healthy, assert_responsive
from tests.consensus.limit_txs import (
    WORST_ESCAPES,
    call_with_args_depth,
    deepest_call,
    largest_call,
)
from tests.integration.harness import REPO, LocalCluster, wait_committed

pytestmark = pytest.mark.integration

RSS_BOUND_MB = 300
RSS_SLACK_MB = 60


async def next_nonce(cluster: LocalCluster, i: int, key: KeyPair) -> int:
    acct = await cluster.call(i, "account_get", address=key.public_hex)
    return int(acct["next_nonce"])


async def send(cluster: LocalCluster, i: int, tx: Any) -> str:
    return str((await cluster.call(i, "tx_send", tx=tx.to_dict()))["hash"])


async def committed_everywhere(
    cluster: LocalCluster, hashes: list[str], timeout: float = 30
) -> None:
    for i in range(cluster.n):
        if cluster.alive(i):
            await wait_committed(cluster, i, hashes, timeout=timeout)


def memory_ok(watch: MemoryWatch) -> None:
    now = watch.sample()
    watch.assert_peak_under(RSS_BOUND_MB)
    for i, mb in now.items():
        assert mb <= watch.baseline[i] + RSS_SLACK_MB, (
            f"node{i} kept {mb - watch.baseline[i]:.0f} MiB"
        )


async def test_a_60_deep_call_does_not_stall_consensus(cluster: LocalCluster) -> None:
    """Finding 1 from a funded key, plus the deepest admissible tx; and from a fresh key."""
    watch = MemoryWatch.start(cluster)
    attacker, payer = cluster.accounts[0], cluster.accounts[1]
    nonce = await next_nonce(cluster, 0, attacker)
    deep60 = call_with_args_depth(attacker, cluster.chain_id, nonce, 60)
    deepest = deepest_call(attacker, cluster.chain_id, nonce + 1)
    hashes = [await send(cluster, 0, deep60), await send(cluster, 0, deepest)]
    await committed_everywhere(cluster, hashes)
    # a fresh, unfunded key: refused at admission with a clear reason, or carried and committed
    fresh = KeyPair.generate()
    try:
        h = await send(cluster, 1, call_with_args_depth(fresh, cluster.chain_id, 0, 60))
    except RpcError as exc:
        assert exc.reason, f"refused without a reason: {exc}"
    else:
        await committed_everywhere(cluster, [h])
    await assert_healthy(cluster, payer)
    memory_ok(watch)


async def test_a_61_deep_call_sent_to_two_nodes_leaves_no_node_half_alive(
    cluster: LocalCluster,
) -> None:
    """Finding 2: the gossip of a 61-deep call killed the tick loop of the node it was sent to."""
    watch = MemoryWatch.start(cluster)
    hashes = []
    for i, key in ((1, cluster.accounts[2]), (2, cluster.accounts[3])):
        nonce = await next_nonce(cluster, i, key)
        hashes.append(
            await send(cluster, i, call_with_args_depth(key, cluster.chain_id, nonce, 61))
        )
    await committed_everywhere(cluster, hashes)
    await asyncio.sleep(1.0)  # several tick periods: a dead tick loop would show now
    assert all(cluster.alive(i) for i in range(cluster.n)), "a node exited"
    before = [(await cluster.status(i))["height"] for i in range(cluster.n)]
    await assert_healthy(cluster, cluster.accounts[0])
    after = [(await cluster.status(i))["height"] for i in range(cluster.n)]
    assert all(a > b for a, b in zip(after, before, strict=True)), (before, after)
    memory_ok(watch)


async def test_limit_transactions_commit_on_every_node_and_sync_to_an_empty_node(
    cluster: LocalCluster,
) -> None:
    """The deepest and largest admissible transactions, sent to each node, commit everywhere;
    a node restarted on an empty data dir gets them by state sync."""
    hashes = []
    for i in range(cluster.n):
        key = cluster.accounts[i % len(cluster.accounts)]
        nonce = await next_nonce(cluster, i, key)
        for tx in (
            deepest_call(key, cluster.chain_id, nonce, leaf='\U0001f600"\\'),
            largest_call(key, cluster.chain_id, nonce + 1, WORST_ESCAPES),
        ):
            hashes.append(await send(cluster, i, tx))
        await wait_committed(cluster, i, hashes[-2:], timeout=30)
    await committed_everywhere(cluster, hashes)
    empty = cluster.n - 1
    cluster.kill(empty)
    shutil.rmtree(cluster.data_dir(empty))
    await cluster.restart(empty)
    found = await wait_committed(cluster, empty, hashes, timeout=60)
    height = max(r["height"] for r in found.values())
    assert await cluster.block_hashes(empty, height) == await cluster.block_hashes(0, height)
    await assert_healthy(cluster, cluster.accounts[0])


async def test_a_node_whose_disk_fails_exits_non_zero_with_a_critical_line(
    cluster: LocalCluster,
) -> None:
    """A real failure inside a supervised task, provoked from outside: the node's files may not
    grow past 2 MiB (RLIMIT_FSIZE, like a full disk), so a journal or block write fails with
    EFBIG. The node must log CRITICAL and exit non-zero, not stay half alive."""
    victim = cluster.n - 1
    cluster.kill(victim)
    limit = 2 * 1024 * 1024

    def cap_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    log_path = cluster.config_path(victim).parent / "node.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            node_command(cluster.config_path(victim)),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
            preexec_fn=cap_file_size,
        )
    cluster.procs[victim] = proc  # the fixture stops it if the test fails
    key = cluster.accounts[0]
    async with RpcClient(cluster.url(0), timeout=30) as c:
        nonce = int((await c.call("account_get", address=key.public_hex))["next_nonce"])
        for n in range(nonce, nonce + 60):  # ~4 MiB of blocks and journal records
            await c.call("tx_send", tx=largest_call(key, cluster.chain_id, n, "x").to_dict())
    for _ in range(600):
        if proc.poll() is not None:
            break
        await asyncio.sleep(0.1)
    code = proc.poll()
    assert code is not None and code != 0, f"the node did not stop (exit code {code})"
    text = log_path.read_text(errors="replace")
    # the supervisor names the task that died and why (the worker no longer logs and goes on)
    assert " CRITICAL " in text and "task consensus-worker died" in text, cluster.log_tail(victim)
    # the other three keep answering and committing without it (3 of 4 is a quorum)
    cluster.procs.pop(victim)
    up = [i for i in range(cluster.n) if i != victim]
    await assert_responsive(cluster, up)
    await assert_commits(cluster, cluster.accounts[1], up)
