"""``aidchain bench``: committed transfers per second and submit-to-commit latency.

All transactions are signed before the clock starts. A transaction counts only once it is seen
in a committed block; rejections and transactions still uncommitted at the deadline are reported,
never counted.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from chain.crypto import KeyPair
from chain.tx import Transaction, make_transfer
from node.cluster import load_cluster
from rpc.client import RpcClient, RpcError

SUBMIT_BATCH = 100  # transactions per JSON-RPC batch request
POLL_INTERVAL_S = 0.02
BACKOFF_S = 0.05
MAX_RETRIES = 2_000  # per batch, on mempool_full
MAX_INFLIGHT_BATCHES = 64  # per client, in open-loop (--rate) mode


@dataclass
class BenchReport:
    txs: int
    clients: int
    nodes: int
    rate: float = 0.0
    submitted: int = 0
    committed: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    blocks: int = 0

    @property
    def ok(self) -> bool:
        return self.committed == self.txs and not self.rejected

    @property
    def tps(self) -> float:
        return self.committed / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        idx = min(len(data) - 1, max(0, round(p / 100 * len(data)) - 1))
        return data[idx]

    def render(self) -> str:
        lines = [
            f"bench: {self.txs} transfers, {self.clients} clients, {self.nodes} nodes, offered load "
            + (f"{self.rate:.0f} tx/s" if self.rate else "unlimited"),
            f"  submitted   {self.submitted}",
            f"  committed   {self.committed} in {self.blocks} blocks over {self.seconds:.2f}s",
            f"  throughput  {self.tps:.0f} committed tx/s",
            f"  latency     p50 {self.percentile(50) * 1000:.0f} ms   p95 {self.percentile(95) * 1000:.0f} ms"
            f"   p99 {self.percentile(99) * 1000:.0f} ms   (submit -> seen committed)",
        ]
        uncommitted = self.submitted - self.committed
        if uncommitted:
            lines.append(f"  NOT COMMITTED {uncommitted} accepted transactions (not counted)")
        for reason, count in sorted(self.rejected.items()):
            lines.append(f"  REJECTED    {count} x {reason}")
        return "\n".join(lines)


async def _sign_all(
    keys: list[KeyPair], chain_id: str, nonces: list[int], txs: int
) -> list[list[Transaction]]:
    per_account: list[list[Transaction]] = [[] for _ in keys]
    for i in range(txs):
        a = i % len(keys)
        sender = keys[a]
        to = keys[(a + 1) % len(keys)].public_hex
        per_account[a].append(
            make_transfer(sender, chain_id, nonces[a] + len(per_account[a]), to, 1)
        )
    return per_account


async def run_bench(
    directory: Path, *, txs: int, clients: int, timeout_s: float, rate: float = 0.0
) -> BenchReport:
    info = load_cluster(directory)
    urls = info.rpc_urls
    keys = info.account_keys()
    clients = max(1, min(clients, len(keys)))
    report = BenchReport(txs=txs, clients=clients, nodes=len(urls), rate=rate)
    per_client_rate = rate / clients if rate > 0 else 0.0
    # with an offered rate, send small batches often (~20 per second per client) to keep it smooth
    batch_size = max(1, min(SUBMIT_BATCH, int(per_client_rate / 20))) if rate > 0 else SUBMIT_BATCH
    async with RpcClient(urls[0]) as probe:
        status = await probe.call("node_status")
        nonces = [
            (await probe.call("account_get", address=k.public_hex))["next_nonce"] for k in keys
        ]
        start_height = status["height"]
    per_account = await _sign_all(keys, status["chain_id"], nonces, txs)
    submit_time: dict[str, float] = {}
    commit_time: dict[str, float] = {}
    done = asyncio.Event()

    all_hashes = {t.hash for txs_ in per_account for t in txs_}
    sent_time: dict[str, float] = {}

    async def send_batch(rpc: RpcClient, batch: list[Transaction]) -> None:
        retries = 0
        while batch:
            sent_at = time.monotonic()
            for tx in batch:
                sent_time.setdefault(tx.hash, sent_at)
            results = await rpc.batch([("tx_send", {"tx": t.to_dict()}) for t in batch])
            retry = []
            for tx, res in zip(batch, results, strict=True):
                if isinstance(res, RpcError):
                    if res.reason == "mempool_full" and retries < MAX_RETRIES:
                        retry.append(tx)
                    else:
                        report.rejected[res.reason or res.message] += 1
                else:
                    submit_time[tx.hash] = sent_time[tx.hash]
            batch = retry
            if batch:
                retries += 1
                await asyncio.sleep(BACKOFF_S)

    async def client(c: int) -> None:
        accounts = [per_account[a] for a in range(len(keys)) if a % clients == c]
        # interleave this client's accounts so every sender pipelines its nonces in order
        queue: list[Transaction] = []
        for i in range(max((len(x) for x in accounts), default=0)):
            queue.extend(x[i] for x in accounts if i < len(x))
        my_rate = rate * len(queue) / txs if rate > 0 and txs else 0.0  # share of the offered load
        async with RpcClient(urls[c % len(urls)], timeout=60) as rpc:
            if not my_rate:  # closed loop: one batch in flight per client
                for pos in range(0, len(queue), batch_size):
                    await send_batch(rpc, queue[pos : pos + batch_size])
                return
            # open loop at the offered rate: batches leave on schedule, whatever is in flight
            inflight = asyncio.Semaphore(MAX_INFLIGHT_BATCHES)
            tasks = []
            for pos in range(0, len(queue), batch_size):
                delay = started + pos / my_rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await inflight.acquire()
                task = asyncio.create_task(send_batch(rpc, queue[pos : pos + batch_size]))
                task.add_done_callback(lambda _t: inflight.release())
                tasks.append(task)
            await asyncio.gather(*tasks)

    async def watcher() -> None:
        height = start_height
        async with RpcClient(urls[0]) as rpc:
            while not done.is_set():
                latest = (await rpc.call("block_get", height="latest"))["height"]
                if latest > height:
                    heights = list(range(height + 1, latest + 1))
                    blocks = await rpc.batch([("block_get", {"height": h}) for h in heights])
                    now = time.monotonic()
                    for blk in blocks:
                        if isinstance(blk, RpcError) or blk is None:
                            raise RuntimeError(f"block_get failed during bench: {blk}")
                        report.blocks += 1
                        for h in blk["txs"]:
                            if h in all_hashes and h not in commit_time:
                                commit_time[h] = now
                    height = latest
                await asyncio.sleep(POLL_INTERVAL_S)

    started = time.monotonic()
    watch = asyncio.create_task(watcher())
    try:
        await asyncio.gather(*(client(c) for c in range(clients)))
        report.submitted = len(submit_time)
        deadline = started + timeout_s
        while not set(submit_time) <= set(commit_time) and time.monotonic() < deadline:
            if watch.done():
                watch.result()
            await asyncio.sleep(POLL_INTERVAL_S)
    finally:
        done.set()
        try:
            await asyncio.wait_for(watch, 5)
        except (TimeoutError, asyncio.CancelledError):
            watch.cancel()
    counted = [h for h in commit_time if h in submit_time]  # only accepted and seen committed
    report.committed = len(counted)
    if counted:
        report.seconds = max(commit_time[h] for h in counted) - started
    report.latencies = [commit_time[h] - submit_time[h] for h in counted]
    return report
