"""Issue 7 finding 4, on real nodes: the mempool cannot be locked by outsiders or insiders.

The original attack: 25 fresh unfunded keys each sending future nonces 1..2047 at every node
filled all four mempools (50,000) in ~30 s; nothing expired and every legitimate ``tx_send`` got
``mempool_full`` until restart. Scaled here to a pool of ``MAX_TXS``:

(a) fresh unfunded keys sending future nonces are refused with ``unknown_account`` at every node
    and fill nothing;
(b) funded insiders flood every node as fast as they can -- some with gapped nonces (a hole at
    their next nonce, so nothing of theirs can ever execute), some with consecutive runs up to
    their quota -- while a legitimate account's transfers are admitted and commit on every node,
    every node answers ``node_status`` within 2 s, gapped txs expire, and memory stays bounded.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from chain.crypto import KeyPair
from chain.tx import Transaction, make_transfer
from rpc.client import RpcClient, RpcError
from tests.adversarial.probe import MemoryWatch, assert_commits, assert_responsive
from tests.integration.harness import LocalCluster

pytestmark = pytest.mark.integration

MAX_TXS = 1_000
MAX_PER_SENDER = 250  # four runners fill the pool on their own
NONCE_WINDOW = 32
GAP_TTL_MS = 3_000
MEMPOOL = {
    "max_txs": MAX_TXS,
    "max_per_sender": MAX_PER_SENDER,
    "nonce_window": NONCE_WINDOW,
    "gap_ttl_ms": GAP_TTL_MS,
}
FRESH_KEYS = 25
FRESH_NONCES = 100  # future nonces 1..100 per fresh key, at every node
ATTACK_S = 8.0
RSS_BOUND_MB = 300.0  # per node, during the attack (an idle node is ~50-100 MiB)
RSS_RETURN_MB = 120.0  # above baseline, after the attack


async def _send(url: str, txs: list[Transaction]) -> list[Any]:
    async with RpcClient(url, timeout=30) as c:
        out: list[Any] = []
        for start in range(0, len(txs), 100):
            chunk = txs[start : start + 100]
            out += await c.batch([("tx_send", {"tx": t.to_dict()}) for t in chunk])
        return out


def _make_cluster(new_cluster: Any) -> LocalCluster:
    cluster: LocalCluster = new_cluster(consensus={"block_max_txs": 100})
    table = "".join(f"{k} = {v}\n" for k, v in MEMPOOL.items())
    for i in range(cluster.n):
        path = cluster.config_path(i)
        path.write_text(path.read_text() + "\n[mempool]\n" + table)
    return cluster


async def _mempool_stats(cluster: LocalCluster) -> list[dict[str, Any]]:
    return [
        {"size": s["mempool_size"], **s["stats"]["mempool"]}
        for s in [await cluster.status(i) for i in range(cluster.n)]
    ]


async def _wait_drained(cluster: LocalCluster, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    stats = await _mempool_stats(cluster)
    while any(s["size"] for s in stats):
        assert time.monotonic() < deadline, f"pools did not drain in {timeout_s}s: {stats}"
        await asyncio.sleep(0.25)
        stats = await _mempool_stats(cluster)
    assert all(s["most_gapped"] == 0 for s in stats)


class Insider:
    """A funded key attacking one node in a loop; signs each nonce once."""

    def __init__(self, cluster: LocalCluster, key: KeyPair, gapped: bool) -> None:
        self.cluster, self.key, self.gapped = cluster, key, gapped
        self.signed: dict[int, Transaction] = {}
        self.sent = 0
        self.refused: dict[str, int] = {}

    def tx(self, nonce: int) -> Transaction:
        tx = self.signed.get(nonce)
        if tx is None:
            tx = make_transfer(self.key, self.cluster.chain_id, nonce, self.key.public_hex, 1)
            self.signed[nonce] = tx
        return tx

    async def run(self, node: int, stop: asyncio.Event) -> None:
        async with RpcClient(self.cluster.url(node), timeout=30) as c:
            while not stop.is_set():
                acct = await c.call("account_get", address=self.key.public_hex)
                committed = acct["nonce"]
                if self.gapped:  # never the next nonce: none of these can ever execute
                    nonces = range(committed + 1, committed + MAX_PER_SENDER + 8)
                else:  # a consecutive run up to (and past) the quota
                    nonces = range(acct["next_nonce"], committed + MAX_PER_SENDER + 8)
                txs = [self.tx(n) for n in nonces]
                for start in range(0, len(txs), 100):
                    chunk = txs[start : start + 100]
                    results = await c.batch([("tx_send", {"tx": t.to_dict()}) for t in chunk])
                    for r in results:
                        if isinstance(r, RpcError):
                            reason = r.reason or "?"
                            self.refused[reason] = self.refused.get(reason, 0) + 1
                        else:
                            self.sent += 1
                await asyncio.sleep(0.05)


async def test_mempool_cannot_be_locked(new_cluster: Any) -> None:
    cluster = _make_cluster(new_cluster)
    await cluster.start_all()
    watch = MemoryWatch.start(cluster)
    insiders, payer = cluster.accounts[:8], cluster.accounts[9]

    # (a) outsiders: fresh unfunded keys with future nonces, at every node
    fresh = [KeyPair.generate() for _ in range(FRESH_KEYS)]
    txs = [
        make_transfer(k, cluster.chain_id, n, k.public_hex, 1)
        for k in fresh
        for n in range(1, FRESH_NONCES + 1)
    ]
    for i in range(cluster.n):
        results = await _send(cluster.url(i), txs)
        reasons = {r.reason if isinstance(r, RpcError) else "admitted" for r in results}
        assert reasons == {"unknown_account"}, reasons
    stats = await _mempool_stats(cluster)
    assert [s["size"] for s in stats] == [0] * cluster.n
    assert all(s["rejected_unknown_account"] >= len(txs) for s in stats), stats
    await assert_responsive(cluster)

    # (b1) insiders sending only gapped nonces, at every node: held for a while, then they expire
    attackers = [Insider(cluster, k, gapped=j < 4) for j, k in enumerate(insiders)]
    stop = asyncio.Event()
    gappers = [asyncio.create_task(a.run(i, stop)) for a in attackers[:4] for i in range(cluster.n)]
    await asyncio.sleep(1.5)
    stop.set()
    for task in gappers:
        await task
    stats = await _mempool_stats(cluster)
    assert all(0 < s["most_gapped"] < NONCE_WINDOW for s in stats), stats
    await _wait_drained(cluster, GAP_TTL_MS / 1000 + 5)
    stats = await _mempool_stats(cluster)
    assert all(s["expired"] > 0 for s in stats), stats

    # (b2) all eight insiders at every node at once, for ATTACK_S: four gapped, four with
    # consecutive runs to their quota (which alone fill the pool); a legitimate account's
    # transfers are admitted and commit everywhere all along
    stop = asyncio.Event()
    tasks = [asyncio.create_task(a.run(i, stop)) for a in attackers for i in range(cluster.n)]
    sampler = asyncio.create_task(watch.sample_every(0.5, stop))
    started = time.monotonic()
    peak_size = 0
    try:
        await asyncio.sleep(2.0)  # let the flood build up
        while time.monotonic() - started < ATTACK_S:
            await assert_responsive(cluster)
            await assert_commits(cluster, payer)
            peak_size = max(peak_size, *(s["size"] for s in await _mempool_stats(cluster)))
    finally:
        stop.set()
        await asyncio.gather(*tasks, sampler, return_exceptions=True)
    for task in tasks:
        task.result()  # an attacker that crashed did not attack
    stats = await _mempool_stats(cluster)
    print("attack:", {"peak_pool": peak_size, "sent": sum(a.sent for a in attackers)})
    print("refused:", [a.refused for a in attackers])
    print("node stats:", stats)
    print("rss peak MiB:", {i: round(mb) for i, mb in watch.peak.items()})
    assert all(s["size"] <= MAX_TXS for s in stats)
    # the attack reached the limits: pools were full, so the legitimate txs evicted others
    assert sum(s.get("evicted", 0) for s in stats) > 0, stats
    assert all(a.refused.get("mempool_full", 0) > 0 for a in attackers), [
        a.refused for a in attackers
    ]
    watch.assert_peak_under(RSS_BOUND_MB)

    # after the attack: runs commit, what is left gapped expires, every pool drains
    await _wait_drained(cluster, GAP_TTL_MS / 1000 + 20)
    await assert_responsive(cluster)
    await assert_commits(cluster, payer)
    after = watch.sample()
    grown = {i: round(after[i] - watch.baseline[i]) for i in after}
    assert all(mb < RSS_RETURN_MB for mb in grown.values()), grown
