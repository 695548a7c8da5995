"""Subscriptions under load on a real local cluster (prints figures; asserts nothing about speed).

    .venv/bin/python tests/bench/bench_subscriptions.py [--rate 1000] [--txs 10000]
        [--blocks-subs 200] [--events-subs 50] [--micro BLOCKS]

Issue 12: a node with 200 WebSocket subscribers on new blocks and 50 on events keeps at least
90 % of its committed throughput, and the p99 delay from commit to notification stays under
100 ms, at 1,000 tx/s offered. The same cluster runs the same open-loop transfer load
(``node.bench.run_bench``, as ``aidchain bench --rate``) twice: first with no subscribers, then
with all of them connected to node 0, the node the load is submitted to and watched on.

Delay figures:
- node side: commit hook -> notification handed to the socket, from node 0's histogram
  (node_status stats.subscriptions.notify_delay_ms; p99 is the upper bound of its bucket);
- client side: block time (the primary's clock at proposal) -> notification received, an upper
  bound of commit -> notification that also holds the consensus round.
The subscribers run in a child process, on the same cores as the four nodes and the load
generator: on a small machine they take CPU that remote clients would not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chain.crypto import KeyPair
from chain.tx import Transaction, make_transfer, sign_tx
from node.bench import BenchReport, run_bench
from rpc.client import RpcClient
from tests.integration.harness import LocalCluster, submit_all, wait_committed

EVENTS_FILTER: dict[str, Any] = {}  # every contract and ledger event (transfers have none)


class Subscribers:
    """``n`` WebSocket connections, one subscription each, recording arrival delays."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/ws"
        self.delays_ms: list[float] = []
        self.notifications = 0
        self.events = 0
        self.errors: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []
        # more than aiohttp's default of 100 connections per session
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def add(self, n: int, topic: str, filter: dict[str, Any] | None = None) -> None:
        params: dict[str, Any] = {"topic": topic}
        if filter is not None:
            params["filter"] = filter
        for _ in range(n):
            ws = await self._http.ws_connect(self.url, max_msg_size=16 << 20)
            await ws.send_json({"jsonrpc": "2.0", "method": "subscribe", "params": params, "id": 1})
            reply = await ws.receive_json(timeout=30)
            if "result" not in reply:
                raise RuntimeError(f"subscribe refused: {reply}")
            self._tasks.append(asyncio.create_task(self._read(ws)))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            now_ms = time.time() * 1000
            result = json.loads(msg.data)["params"]["result"]
            if "error" in result:
                self.errors.append(result["reason"])
                break
            self.notifications += 1
            if "event" in result:
                self.events += 1
            header = result.get("header")
            if header is not None:
                self.delays_ms.append(now_ms - header["time"])
        if ws.close_code not in (None, 1000, 1001):
            self.errors.append(f"closed {ws.close_code}")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._http.close()


async def subscriber_process(url: str, blocks: int, events: int) -> None:
    """The child: subscribe, say "ready", read until stdin closes, print what it saw (JSON)."""
    subs = Subscribers(url)
    await subs.add(blocks, "blocks")
    await subs.add(events, "events", EVENTS_FILTER)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    await asyncio.sleep(1.0)  # the last notifications arrive
    await subs.close()
    out = {"delays_ms": subs.delays_ms, "errors": subs.errors, "events": subs.events}
    print(json.dumps(out), flush=True)


async def start_subscribers(url: str, args: argparse.Namespace) -> asyncio.subprocess.Process:
    """The subscribers run in their own process, so the load generator here is not slowed by
    them (they still share the machine's cores with the nodes, as remote clients would not)."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--subscriber-of",
        url,
        "--blocks-subs",
        str(args.blocks_subs),
        "--events-subs",
        str(args.events_subs),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), 300)
    if line.strip() != b"ready":
        raise RuntimeError(f"subscriber process failed: {line!r}")
    return child


async def stop_subscribers(child: asyncio.subprocess.Process) -> dict[str, Any]:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.close()
    out = await asyncio.wait_for(child.stdout.read(), 60)
    await child.wait()
    return dict(json.loads(out))


def percentile(data: list[float], p: float) -> float:
    if not data:
        return float("nan")
    ordered = sorted(data)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def histogram_p(histogram: dict[str, int], p: float) -> str:
    total = sum(histogram.values())
    if not total:
        return "n/a"
    seen = 0
    for bucket, count in histogram.items():
        seen += count
        if seen >= p / 100 * total:
            bound = int(bucket.removeprefix("le_"))
            return f"<= {bound} ms" if bound < 2**62 else "> 1000 ms"
    return "n/a"


def minus(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after}


async def node0_subs(cluster: LocalCluster) -> dict[str, Any]:
    return dict((await cluster.status(0))["stats"]["subscriptions"])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): load-independent cost."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


EMITTER = """
def init():
    storage["n"] = 0


def ping(tag):
    storage["n"] += 1
    emit("ping", tag=tag, n=storage["n"])
"""


class EventLoad:
    """Contract calls that emit one event each, beside the transfers, from an account of its
    own (``run_bench`` signs for every account of the cluster)."""

    def __init__(self, cluster: LocalCluster, rate: float) -> None:
        self.cluster, self.rate = cluster, rate
        self.key = KeyPair.generate()
        self.nonce = 0
        self.contract = ""
        self.sent = 0

    async def setup(self) -> None:
        url, funder = self.cluster.url(0), self.cluster.accounts[0]
        async with RpcClient(url) as rpc:
            nonce = (await rpc.call("account_get", address=funder.public_hex))["next_nonce"]
        fund = make_transfer(funder, self.cluster.chain_id, nonce, self.key.public_hex, 10**6)
        await wait_committed(self.cluster, 0, await submit_all(url, [fund]))
        deploy = self._sign("deploy", {"source": EMITTER, "gas": 200_000})
        done = await wait_committed(self.cluster, 0, await submit_all(url, [deploy]))
        self.contract = done[deploy.hash]["receipt"]["address"]

    def _sign(self, tx_type: str, payload: dict[str, Any]) -> Transaction:
        tx = sign_tx(self.key, self.cluster.chain_id, self.nonce, tx_type, payload)
        self.nonce += 1
        return tx

    async def run(self, stop: asyncio.Event) -> None:
        """Ten batches a second at ``rate`` calls per second until ``stop``."""
        per_batch = max(1, round(self.rate / 10))
        payload = {"contract": self.contract, "method": "ping", "gas": 50_000}
        while not stop.is_set():
            calls = [
                self._sign("call", {**payload, "args": {"tag": self.sent + i}})
                for i in range(per_batch)
            ]
            self.sent += per_batch
            await submit_all(self.cluster.url(0), calls)
            await asyncio.sleep(0.1)


async def measured(
    cluster: LocalCluster, bench: dict[str, Any], events: EventLoad | None
) -> tuple[BenchReport, float]:
    """One bench run (with the event load beside it) and node 0's CPU seconds during it."""
    pid = cluster.procs[0].pid
    before = cpu_seconds(pid)
    stop = asyncio.Event()
    side = asyncio.create_task(events.run(stop)) if events is not None else None
    try:
        result = await run_bench(cluster.info.root, **bench)
    finally:
        stop.set()
        if side is not None:
            await side
    return result, cpu_seconds(pid) - before


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-subs-") as tmp:
        cluster = LocalCluster(Path(tmp))
        try:
            await cluster.start_all()
            bench = {"txs": args.txs, "clients": 4, "timeout_s": 120.0, "rate": args.rate}
            # warm-up: connections, caches and the first view
            await run_bench(cluster.info.root, **{**bench, "txs": min(2_000, args.txs)})
            events = EventLoad(cluster, args.event_calls) if args.event_calls > 0 else None
            if events is not None:
                await events.setup()
            alone, cpu_alone = await measured(cluster, bench, events)
            child = await start_subscribers(cluster.url(0), args)
            try:
                before = await node0_subs(cluster)
                loaded, cpu_loaded = await measured(cluster, bench, events)
                after = await node0_subs(cluster)
            finally:
                seen = await stop_subscribers(child)
        finally:
            cluster.stop_all()
    report(args, alone, loaded, seen, minus(after["notify_delay_ms"], before["notify_delay_ms"]))
    wake = minus(after["wake_delay_ms"], before["wake_delay_ms"])
    print(
        f"  commit -> the pump's next step (event-loop lag alone, {sum(wake.values())} blocks): "
        f"p50 {histogram_p(wake, 50)}, p99 {histogram_p(wake, 99)}"
    )
    per_k = [
        1000 * cpu / max(1, r.committed) for cpu, r in ((cpu_alone, alone), (cpu_loaded, loaded))
    ]
    print(
        f"  node 0 CPU per 1,000 committed tx: {per_k[0]:.2f} s without, {per_k[1]:.2f} s with "
        "subscribers (load-independent cost)"
    )
    dropped = after["dropped_clients"] - before["dropped_clients"]
    print(
        f"  dropped subscribers during the run: {dropped}; client-side errors: {seen['errors'][:3]}"
    )


def report(
    args: argparse.Namespace,
    alone: BenchReport,
    loaded: BenchReport,
    seen: dict[str, Any],
    histogram: dict[str, int],
) -> None:
    print(
        f"bench_subscriptions: 4 nodes, {args.txs} transfers at {args.rate:.0f} tx/s offered "
        f"(+ {args.event_calls:.0f} event-emitting calls/s), "
        f"{args.blocks_subs} blocks + {args.events_subs} events subscribers on node 0"
    )
    print(f"{'':24}{'no subscribers':>18}{'with subscribers':>20}")
    print(f"{'committed tx/s':24}{alone.tps:>18.0f}{loaded.tps:>20.0f}")
    print(
        f"{'committed / submitted':24}{alone.committed:>11}/{alone.submitted:<6}"
        f"{loaded.committed:>13}/{loaded.submitted:<6}"
    )
    print(f"{'blocks':24}{alone.blocks:>18}{loaded.blocks:>20}")
    p99 = 1000 * alone.percentile(99), 1000 * loaded.percentile(99)
    print(f"{'submit->commit p99 ms':24}{p99[0]:>18.0f}{p99[1]:>20.0f}")
    ratio = loaded.tps / alone.tps * 100 if alone.tps else float("nan")
    print(f"  throughput kept with subscribers: {ratio:.0f} % (target >= 90 %)")
    print(
        f"  commit -> socket (node 0, {sum(histogram.values())} live notifications): "
        f"p50 {histogram_p(histogram, 50)}, p99 {histogram_p(histogram, 99)} (target p99 < 100 ms)"
    )
    print(f"  event notifications received by the events subscribers: {seen['events']}")
    d = seen["delays_ms"]
    print(
        f"  block time -> received by a subscriber ({len(d)} block notifications): "
        f"p50 {percentile(d, 50):.0f} ms, p99 {percentile(d, 99):.0f} ms, "
        f"max {max(d, default=float('nan')):.0f} ms"
    )


async def micro(args: argparse.Namespace) -> None:
    """The hub and /ws alone: an in-process server on a fake chain, the subscribers in the child
    process; this process's CPU time per notification is the node-side cost of fan-out."""
    from aiohttp import web

    from rpc.server import create_rpc_app
    from rpc.subscriptions import SubscriptionHub
    from tests.rpc.fakes import FakeNode
    from tests.rpc.subs_fakes import FakeFeed, pumping

    feed = FakeFeed()
    hub = SubscriptionHub(feed)
    runner = web.AppRunner(create_rpc_app(FakeNode(), subscriptions=hub))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with pumping(hub):
        child = await start_subscribers(f"http://127.0.0.1:{port}/", args)
        blocks, wanted = args.micro, args.micro * args.blocks_subs
        cpu, started = time.process_time(), time.monotonic()
        for _ in range(blocks):
            feed.commit(hub)
            await asyncio.sleep(0.1)  # ten blocks a second
        while sum(hub.stats.notify_delay_ms) < wanted and time.monotonic() - started < 300:
            await asyncio.sleep(0.01)
        cpu = time.process_time() - cpu
        seen = await stop_subscribers(child)
    await runner.cleanup()
    histogram = hub.stats.as_dict()["notify_delay_ms"]
    print(
        f"micro: {blocks} empty blocks to {args.blocks_subs} blocks + {args.events_subs} events "
        f"subscribers: {1e6 * cpu / max(1, wanted):.0f} us of server CPU per notification; "
        f"commit -> socket p50 {histogram_p(histogram, 50)}, p99 {histogram_p(histogram, 99)}; "
        f"client errors: {seen['errors'][:3]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1_000.0)
    parser.add_argument("--txs", type=int, default=10_000)
    parser.add_argument("--blocks-subs", type=int, default=200)
    parser.add_argument("--events-subs", type=int, default=50)
    parser.add_argument(
        "--event-calls", type=float, default=20.0, help="contract calls/s emitting one event each"
    )
    parser.add_argument(
        "--micro", type=int, default=0, metavar="BLOCKS", help="hub and /ws alone, no cluster"
    )
    parser.add_argument("--subscriber-of", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.subscriber_of:
        asyncio.run(subscriber_process(args.subscriber_of, args.blocks_subs, args.events_subs))
    elif args.micro:
        asyncio.run(micro(args))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
