"""What every adversarial test checks after its attack: the cluster is still whole.

An attack "fails" when, after it (and while it is still going on, where the attack is a held
resource), every node answers ``node_status`` within ``STATUS_DEADLINE_S``, a legitimate transfer
sent to each node commits within ``COMMIT_DEADLINE_S``, and each node's resident memory stays
under the bound the test states. Memory is read from ``/proc/<pid>/status`` (VmRSS), which is
what an operator's monitoring sees.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from chain.crypto import KeyPair
from chain.tx import make_transfer
from rpc.client import RpcClient
from tests.integration.harness import LocalCluster, wait_committed

STATUS_DEADLINE_S = 2.0  # "answers node_status within a second or two"
COMMIT_DEADLINE_S = 20.0  # "a legitimate transfer sent to each node commits within seconds"


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB (Linux /proc)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def node_rss_mb(cluster: LocalCluster, i: int) -> float:
    return rss_mb(cluster.procs[i].pid)


@dataclass(slots=True)
class MemoryWatch:
    """Samples every node's RSS; ``peak`` is the largest value seen per node."""

    cluster: LocalCluster
    baseline: dict[int, float]
    peak: dict[int, float]

    @classmethod
    def start(cls, cluster: LocalCluster) -> MemoryWatch:
        base = {i: node_rss_mb(cluster, i) for i in cluster.procs}
        return cls(cluster, base, dict(base))

    def sample(self) -> dict[int, float]:
        now = {i: node_rss_mb(self.cluster, i) for i in self.cluster.procs}
        for i, mb in now.items():
            self.peak[i] = max(self.peak.get(i, 0.0), mb)
        return now

    async def sample_every(self, interval_s: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sample()
            try:
                await asyncio.wait_for(stop.wait(), interval_s)
            except TimeoutError:
                pass

    def assert_peak_under(self, bound_mb: float) -> None:
        over = {i: round(mb) for i, mb in self.peak.items() if mb > bound_mb}
        assert not over, f"node RSS over {bound_mb} MiB during the attack: {over}"


async def assert_responsive(cluster: LocalCluster, nodes: Sequence[int] | None = None) -> None:
    """Every node answers node_status within STATUS_DEADLINE_S."""
    for i in nodes if nodes is not None else range(cluster.n):
        started = time.monotonic()
        async with RpcClient(cluster.url(i), timeout=STATUS_DEADLINE_S) as c:
            await c.call("node_status")
        took = time.monotonic() - started
        assert took <= STATUS_DEADLINE_S, f"node{i} took {took:.2f}s to answer node_status"


async def assert_commits(
    cluster: LocalCluster,
    payer: KeyPair,
    nodes: Sequence[int] | None = None,
    deadline_s: float = COMMIT_DEADLINE_S,
) -> None:
    """A legitimate transfer sent to each node commits within ``deadline_s`` (one per node)."""
    targets = list(nodes if nodes is not None else range(cluster.n))
    hashes = []
    for i in targets:
        async with RpcClient(cluster.url(i), timeout=10) as c:
            acct = await c.call("account_get", address=payer.public_hex)
            tx = make_transfer(payer, cluster.chain_id, acct["next_nonce"], payer.public_hex, 1)
            hashes.append((await c.call("tx_send", tx=tx.to_dict()))["hash"])
        await wait_committed(cluster, i, [hashes[-1]], timeout=deadline_s)


async def assert_healthy(cluster: LocalCluster, payer: KeyPair) -> None:
    """The two checks every adversarial test ends with."""
    await assert_responsive(cluster)
    await assert_commits(cluster, payer)
