"""``aidchain bench``: committed transactions per second and submit-to-commit latency.

``measure`` is the engine: pre-signed transactions, each sender's in nonce order, sent by
concurrent clients (closed loop, or open loop at an offered rate) while a watcher, subscribed to
the node's committed blocks, notes when each is first seen in one. ``run_bench`` feeds it plain
transfers; the ledger workload (node/benchledger.py) feeds it ledger actions after setting up
what they act on.

All transactions are signed before the clock starts. A transaction counts only once it is seen
in a committed block; rejections and transactions still uncommitted at the deadline are reported,
never counted.
"""

from __future__ import annotations

import asyncio
import os
import time
from asyncio import FIRST_COMPLETED
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from chain.crypto import KeyPair, verify
from chain.tx import Transaction, make_transfer
from node.benchconn import NODE_LOST_S, RECONNECT_PAUSE_S, Failover, nodes_lost
from node.cluster import load_cluster
from rpc.client import Client, RpcClient, RpcError, RpcTransportError, SubscriptionDropped
from rpc.client.http import Calls

SUBMIT_BATCH = 100  # transactions per JSON-RPC batch request
BACKOFF_S = 0.05
MAX_RETRIES = 2_000  # per batch, on mempool_full
MAX_INFLIGHT_BATCHES = 64  # per client, in open-loop (--rate) mode
RESEND_S = 5.0  # after a node was lost: resend what was accepted this long ago, not committed
# how the clients send (--transport): one WebSocket each, or an HTTP POST per batch; the
# report names it
TRANSPORTS = {"ws": "WebSocket", "http": "HTTP"}
WINDOW_S = 10.0  # the throughput of each such stretch of the run, to show whether it holds
# the phase split needs a backlog at the end of the submissions: this many seconds of draining,
# and this share of the run's commits in it, or the two phases' costs cannot be told apart
MIN_DRAIN_S = 5.0
MIN_DRAIN_SHARE = 0.1


@dataclass(frozen=True, slots=True)
class MachineSpeed:
    """How fast this machine is at one moment: taken just before the clock starts and again
    when the run is over.

    The nodes share the machine's cores with whatever else runs on its host. The same code has
    measured half as fast on one day as on the day before (docs/ledger-performance.md, "Block
    pacing"), and these timings moved by half within ten minutes. A run's figures compare with
    another's only beside these two: the interpreter's speed sets execution and most of the
    rest, and every node makes the signature check once per transaction.
    """

    loop_ns: float  # one step of a plain Python loop (``s += i``)
    verify_us: float  # one Ed25519 check of a 1 KiB message (chain.crypto.verify, libsodium)

    def render(self) -> str:
        return (
            f"{self.loop_ns:.0f} ns per Python loop step, {self.verify_us:.0f} us per Ed25519 check"
        )


LOOP_STEPS = 200_000
VERIFIES = 100
CPUINFO = "/proc/cpuinfo"


def cpu_model(cpuinfo: str = CPUINFO) -> str:
    """The processor's model name, or "" where the system does not say (not Linux).

    Machines of one kind are not always the same host: the bench machine has been an AMD EPYC
    one session and an Intel Xeon the next, and the same code measures differently on each. The
    report names the model so that runs are compared on the same processor.
    """
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                name, sep, value = line.partition(":")
                if sep and name.strip() == "model name":
                    return " ".join(value.split())
    except OSError:
        pass
    return ""


def machine_speed(rounds: int = 3) -> MachineSpeed:
    """The best of ``rounds`` timings of each reference (the least disturbed by other work)."""
    key = KeyPair.from_seed(bytes(32))
    message = bytes(1024)
    signature = key.sign(message)
    loops, checks = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        total = 0
        for i in range(LOOP_STEPS):
            total += i
        loops.append((time.perf_counter() - start) / LOOP_STEPS * 1e9)
        start = time.perf_counter()
        ok = all(verify(key.public_hex, message, signature) for _ in range(VERIFIES))
        checks.append((time.perf_counter() - start) / VERIFIES * 1e6)
        assert ok and total == LOOP_STEPS * (LOOP_STEPS - 1) // 2
    return MachineSpeed(min(loops), min(checks))


@dataclass
class BenchReport:
    txs: int
    clients: int
    nodes: int
    rate: float = 0.0
    label: str = "transfers"
    transport: str = "ws"
    submitted: int = 0
    committed: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # committed, refused by the ledger
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    commit_offsets: list[float] = field(default_factory=list)  # seconds from start, per commit
    blocks: int = 0
    # the first and last height holding one of the run's transactions (0: none seen), so the
    # same blocks can be replayed in process (tests/bench/bench_replay.py --from)
    first_height: int = 0
    last_height: int = 0
    views_entered: int = -1  # new views the nodes entered during the run, all nodes (-1: unknown)
    node_cpu_s: float = -1.0  # CPU seconds all nodes used during the run (-1: unknown)
    exec_cpu_s: float = 0.0  # of which executing blocks
    commit_cpu_s: float = 0.0  # of which writing them
    view: int = 0  # the highest view of any node afterwards
    client_cpu_s: float = -1.0  # CPU seconds this bench process used while measuring
    submit_seconds: float = 0.0  # when the last submission was answered, from the start
    node_cpu_submit_s: float = -1.0  # of ``node_cpu_s``, what the nodes used until then
    cores: int = 0  # CPUs of this machine, which the local cluster's nodes share with the client
    cpu: str = ""  # their model (cpu_model), "" when unknown
    notes: list[str] = field(default_factory=list)  # what the workload was, printed under it
    machine: MachineSpeed | None = None  # this machine's speed just before the run
    machine_after: MachineSpeed | None = None  # ... and just after it
    # each node's interpreter (node_status "software"): its build moves the CPU figures
    node_python: list[tuple[str, str]] = field(default_factory=list)  # (url, interpreter)
    # when nodes are lost during the run (a tester kills them on purpose): how often the clients
    # and the block watcher moved to the next node, how many accepted transactions were sent
    # again, and which nodes were restarted (their counters began again)
    failovers: int = 0
    watcher_moves: int = 0
    resent: int = 0
    restarted: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)  # nodes that did not answer node_status

    @property
    def ok(self) -> bool:
        return self.committed == self.txs and not self.rejected and not self.refused

    @property
    def tps(self) -> float:
        return self.committed / self.seconds if self.seconds > 0 else 0.0

    def windows(self) -> list[float]:
        """Committed tx/s in each full ``WINDOW_S`` of the run (the last, partial one left out).

        The overall figure averages a run's start, when nothing has committed yet, with its
        end; the windows show whether the rate holds (``phases`` says why it falls under
        overload).
        """
        counts = Counter(int(offset // WINDOW_S) for offset in self.commit_offsets)
        full = int(self.seconds // WINDOW_S)
        return [counts[i] / WINDOW_S for i in range(full)]

    def phases(self) -> tuple[float, float] | None:
        """(admit, commit): the nodes' CPU us to admit one transaction, and to commit one.

        While the clients submit, the nodes admit (JSON-RPC, gossip, signature check, pool) at
        the offered rate and commit what they can; once the clients stop, they only commit the
        backlog. That drain gives the cost of committing alone, and the submitting phase then
        the cost of admitting: ``node_cpu_submit = committed_then x commit + submitted x admit``.
        None when the run ended without a backlog worth measuring (the cluster kept up).
        """
        if self.node_cpu_s < 0 or self.node_cpu_submit_s < 0 or not self.submitted:
            return None
        drained = self._drained()
        drain_s = self.seconds - self.submit_seconds
        if drain_s < MIN_DRAIN_S or drained < MIN_DRAIN_SHARE * max(self.committed, 1):
            return None
        commit = (self.node_cpu_s - self.node_cpu_submit_s) / drained
        admit = (self.node_cpu_submit_s - (self.committed - drained) * commit) / self.submitted
        if admit <= 0:  # noise larger than the admission's share: no figure, not a wrong one
            return None
        return admit * 1e6, commit * 1e6

    def _drained(self) -> int:
        """Commits seen after the last submission was answered."""
        return sum(1 for offset in self.commit_offsets if offset > self.submit_seconds)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        idx = min(len(data) - 1, max(0, round(p / 100 * len(data)) - 1))
        return data[idx]

    def render(self) -> str:
        lines = [
            f"bench: {self.txs} {self.label}, {self.clients} clients ({TRANSPORTS[self.transport]}), "
            f"{self.nodes} nodes, offered load "
            + (f"{self.rate:.0f} tx/s" if self.rate else "unlimited"),
            *(f"  {note}" for note in self.notes),
            *self._machine(),
            *self._python(),
            f"  submitted   {self.submitted}",
            f"  committed   {self.committed} in {self.blocks} blocks{self._heights()} over "
            f"{self.seconds:.2f}s",
            f"  throughput  {self.tps:.0f} committed tx/s",
            *self._windows(),
            f"  latency     p50 {self.percentile(50) * 1000:.0f} ms   p95 {self.percentile(95) * 1000:.0f} ms"
            f"   p99 {self.percentile(99) * 1000:.0f} ms   (submit -> seen committed)",
        ]
        if self.views_entered >= 0:
            lines.append(
                f"  views       {self.views_entered} view changes completed during the run "
                f"(all nodes), highest view now {self.view}"
            )
        lines.extend(self._failover())
        if self.node_cpu_s >= 0 and self.committed:
            per_tx = self.node_cpu_s / self.committed / max(self.nodes, 1) * 1e6
            share = self.committed * max(self.nodes, 1) / 1e6
            lines.append(
                f"  node CPU    {per_tx:.0f} us per committed tx per node: execution "
                f"{self.exec_cpu_s / share:.0f}, commit {self.commit_cpu_s / share:.0f}, the rest "
                f"(admission, consensus, RPC) {(self.node_cpu_s - self.exec_cpu_s - self.commit_cpu_s) / share:.0f}"
            )
        if self.client_cpu_s >= 0 and self.committed:
            lines.append(
                f"  client CPU  {self.client_cpu_s / self.committed * 1e6:.0f} us per committed tx "
                "(this process: JSON-RPC and the block subscription; signing was before the clock)"
            )
            lines.extend(self._budget())
        lines.extend(self._phases())
        uncommitted = self.submitted - self.committed
        if uncommitted:
            lines.append(f"  NOT COMMITTED {uncommitted} accepted transactions (not counted)")
        for reason, count in sorted(self.rejected.items()):
            lines.append(f"  REJECTED    {count} x {reason}")
        for reason, count in sorted(self.refused.items()):
            lines.append(f"  REFUSED BY THE LEDGER {count} x {reason} (committed, ok: false)")
        return "\n".join(lines)

    def _failover(self) -> list[str]:
        lines = []
        if self.failovers or self.watcher_moves or self.resent:
            lines.append(
                f"  failover    moves to the next node: {self.failovers} by the clients, "
                f"{self.watcher_moves} by the block watcher; accepted transactions sent again: "
                f"{self.resent} (a lost node may not have gossiped them)"
            )
        if self.restarted:
            lines.append(
                f"  restarted   {', '.join(self.restarted)} during the run: counters begin again "
                "at a restart, so there are no view or CPU figures"
            )
        if self.silent:
            lines.append(
                f"  silent      {', '.join(self.silent)} did not answer node_status before or "
                "after the run, so there are no view or CPU figures"
            )
        return lines

    def _heights(self) -> str:
        return f" (heights {self.first_height}-{self.last_height})" if self.first_height else ""

    def _windows(self) -> list[str]:
        rates = self.windows()
        if len(rates) < 2:
            return []
        each = ", ".join(f"{r:.0f}" for r in rates)
        return [
            f"  windows     {each} committed tx/s in each {WINDOW_S:.0f} s of the run "
            f"(lowest after the first: {min(rates[1:]):.0f})"
        ]

    def _phases(self) -> list[str]:
        split = self.phases()
        if split is None:
            return []
        admit, commit = split
        drained = self._drained()
        during = (self.committed - drained) / self.submit_seconds
        after = drained / (self.seconds - self.submit_seconds)
        return [
            f"  phases      {during:.0f} committed tx/s while submitting, {after:.0f} after: all "
            f"nodes spend ~{admit:.0f} us admitting a tx and ~{commit:.0f} us committing it"
        ]

    def _machine(self) -> list[str]:
        lines = [f"  cpu         {self.cpu}, {self.cores} CPUs"] if self.cpu and self.cores else []
        if self.machine is None:
            return lines
        after = f"; after it, {self.machine_after.render()}" if self.machine_after else ""
        return [
            *lines,
            f"  machine     before the run, {self.machine.render()}{after} (best of 3 each: "
            "compare runs at like figures)",
        ]

    def _python(self) -> list[str]:
        named = [(url, python) for url, python in self.node_python if python]
        kinds = {python for _, python in named}
        if not kinds:
            return []
        if len(kinds) == 1:
            return [f"  python      every node runs {kinds.pop()}"]
        each = "; ".join(f"{url} {python}" for url, python in named)
        return [f"  python      the nodes run different interpreters: {each}"]

    def _budget(self) -> list[str]:
        """What the machine allows: the cluster is local, so nodes and client share its CPUs."""
        if self.node_cpu_s < 0 or self.cores <= 0:
            return []
        total = (self.node_cpu_s + self.client_cpu_s) / self.committed * 1e6
        return [
            f"  CPU budget  {total:.0f} us per committed tx, all nodes and this client: "
            f"{self.cores} cores allow at most {self.cores * 1e6 / total:.0f} tx/s"
        ]


def sign_transfers(
    keys: list[KeyPair], chain_id: str, nonces: list[int], txs: int
) -> list[list[Transaction]]:
    """``txs`` transfers of 1 round-robin over ``keys``, per sender in nonce order."""
    per_account: list[list[Transaction]] = [[] for _ in keys]
    for i in range(txs):
        a = i % len(keys)
        sender = keys[a]
        to = keys[(a + 1) % len(keys)].public_hex
        per_account[a].append(
            make_transfer(sender, chain_id, nonces[a] + len(per_account[a]), to, 1)
        )
    return per_account


async def chain_position(url: str, keys: list[KeyPair]) -> tuple[str, int, list[int]]:
    """(chain id, head height, each key's next nonce) as the node sees them now."""
    async with RpcClient(url) as probe:
        status = await probe.call("node_status")
        nonces = [
            (await probe.call("account_get", address=k.public_hex))["next_nonce"] for k in keys
        ]
    return status["chain_id"], status["height"], nonces


async def run_bench(
    directory: Path,
    *,
    txs: int,
    clients: int,
    timeout_s: float,
    rate: float = 0.0,
    transport: str = "ws",
) -> BenchReport:
    """Plain transfers between the cluster's funded accounts."""
    info = load_cluster(directory)
    keys = info.account_keys()
    chain_id, height, nonces = await chain_position(info.rpc_urls[0], keys)
    per_account = sign_transfers(keys, chain_id, nonces, txs)
    clients = max(1, min(clients, len(keys)))
    return await measure(
        info.rpc_urls, per_account, clients, height, timeout_s, rate, transport=transport
    )


async def measure(
    urls: list[str],
    per_account: list[list[Transaction]],
    clients: int,
    start_height: int,
    timeout_s: float,
    rate: float = 0.0,
    label: str = "transfers",
    transport: str = "ws",
) -> BenchReport:
    """Submit pre-signed transactions (each sender's in nonce order) and time their commits.

    The clock starts here, after signing; a transaction counts once it is seen in a block.
    ``transport`` is how each client sends its batches: ``ws``, one message each on its own
    WebSocket, as a high-volume integrator would; ``http``, one POST each.
    """
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}: {transport!r}")
    txs = sum(len(x) for x in per_account)
    report = BenchReport(
        txs=txs, clients=clients, nodes=len(urls), rate=rate, label=label, transport=transport
    )
    report.machine = machine_speed()
    before = await _snapshot(urls)
    report.node_python = list(zip(urls, before.python, strict=True))
    cpu_before = time.process_time()
    run = _Run(report, [t for x in per_account for t in x], rate, urls)
    submitting = None  # the nodes' counters when the last submission was answered
    watch = asyncio.create_task(run.watch(start_height))
    resender = Failover(urls, 1, transport)
    resend = asyncio.create_task(run.resend_lost(resender))
    try:
        queues = _client_queues(per_account, clients)
        await asyncio.gather(*(run.client(c % len(urls), q) for c, q in enumerate(queues)))
        report.submitted = len(run.submit_time)
        report.submit_seconds = time.monotonic() - run.started
        submitting = await _snapshot(urls)
        await run.wait_commits(watch, resend, timeout_s)
    finally:
        # the watcher waits for the next block (every commit we wait for was seen), the
        # resender for its next round
        for task in (watch, resend):
            task.cancel()
        await asyncio.gather(watch, resend, return_exceptions=True)
        await resender.close()
    report.failovers = run.failovers
    run.settle()
    report.client_cpu_s = time.process_time() - cpu_before
    report.machine_after = machine_speed()
    report.cores = os.cpu_count() or 0
    report.cpu = cpu_model()
    after = await _snapshot(urls)
    report.silent = [urls[i] for i in sorted(set(before.silent) | set(after.silent))]
    report.restarted = [urls[i] for i in after.restarted_since(before)]
    if not report.silent and not report.restarted:  # else counters are missing or began again
        report.view = max(after.views)
        report.views_entered = sum(after.entered) - sum(before.entered)
        report.node_cpu_s = (sum(after.cpu_ms) - sum(before.cpu_ms)) / 1000
        report.exec_cpu_s = (sum(after.exec_ms) - sum(before.exec_ms)) / 1000
        report.commit_cpu_s = (sum(after.commit_ms) - sum(before.commit_ms)) / 1000
        if submitting is not None and not submitting.silent:
            if not submitting.restarted_since(before):
                report.node_cpu_submit_s = (sum(submitting.cpu_ms) - sum(before.cpu_ms)) / 1000
    return report


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Every node's view, new views entered and CPU ms (all, executing, committing), and when
    its process started, so a node restarted during the run is told apart."""

    views: list[int]
    entered: list[int]
    cpu_ms: list[int]
    exec_ms: list[int]
    commit_ms: list[int]
    started_ms: list[int]
    silent: list[int]  # nodes that did not answer
    python: list[str]  # each node's interpreter, as node_status names it ("" if silent)

    def restarted_since(self, before: _Snapshot) -> list[int]:
        """Nodes that answered both times from different processes."""
        pairs = zip(self.started_ms, before.started_ms, strict=True)
        silent = set(self.silent) | set(before.silent)
        return [i for i, (now, then) in enumerate(pairs) if now != then and i not in silent]


async def _snapshot(urls: list[str]) -> _Snapshot:
    """Each node's counters; a node that does not answer is ``silent`` (and counts zeros).

    A healthy run stays in its view: every view change means some replica gave up waiting for
    a block (request or view-change timeout), which is what an unbounded block causes.
    """
    rows: list[tuple[int, ...]] = []
    silent: list[int] = []
    python: list[str] = []
    for i, url in enumerate(urls):
        try:
            async with RpcClient(url) as rpc:
                status = await rpc.call("node_status")
            node = status["stats"]["node"]
            row: tuple[int, ...] = (
                int(status["view"]),
                int(status["stats"]["consensus"].get("views_entered", 0)),
                int(node["cpu_ms"]),
                int(node["exec_cpu_ms"]),
                int(node["commit_cpu_ms"]),
                int(node["started_ms"]),
            )
            # nodes older than node_status's "software" still give every other figure
            interpreter = str(status.get("software", {}).get("python", "not reported"))
        except (RpcError, RpcTransportError, KeyError, TypeError, ValueError, AttributeError):
            row, interpreter = (0, 0, 0, 0, 0, 0), ""
            silent.append(i)
        rows.append(row)
        python.append(interpreter)
    views, entered, cpu_ms, exec_ms, commit_ms, started_ms = (
        list(c) for c in zip(*rows, strict=True)
    )
    return _Snapshot(views, entered, cpu_ms, exec_ms, commit_ms, started_ms, silent, python)


async def _block(node: Client, note: dict[str, Any]) -> list[str]:
    """The hashes of the announced block's transactions."""
    blk = await node.call("block_get", height=note["height"])
    if blk is None:
        raise RpcTransportError(f"block {note['height']} announced but not readable")
    return list(blk["txs"])


def _client_queues(per_account: list[list[Transaction]], clients: int) -> list[list[Transaction]]:
    """Each client's accounts, interleaved so that every sender pipelines its nonces in order."""
    queues = []
    for c in range(clients):
        accounts = [per_account[a] for a in range(len(per_account)) if a % clients == c]
        queue: list[Transaction] = []
        for i in range(max((len(x) for x in accounts), default=0)):
            queue.extend(x[i] for x in accounts if i < len(x))
        queues.append(queue)
    return queues


class Sender(Protocol):
    """Where a client's batches go: ``node.benchconn.Failover``, which moves between nodes."""

    async def batch(self, calls: Calls) -> list[Any | RpcError]: ...


class _Run:
    """One measurement: the submitting clients, the block watcher and their timestamps."""

    def __init__(
        self, report: BenchReport, txs: list[Transaction], rate: float, urls: list[str]
    ) -> None:
        self.report = report
        self.txs = {t.hash: t for t in txs}
        self.hashes = set(self.txs)
        self.rate = rate
        self.urls = urls
        per_client_rate = rate / report.clients if rate > 0 else 0.0
        # with an offered rate, send small batches often (~20 per second per client): smooth
        self.batch_size = (
            max(1, min(SUBMIT_BATCH, int(per_client_rate / 20))) if rate > 0 else SUBMIT_BATCH
        )
        self.sent_time: dict[str, float] = {}
        self.submit_time: dict[str, float] = {}
        self.commit_time: dict[str, float] = {}
        self.connections: list[Failover] = []
        # what wait_commits still waits for, crossed off by the watcher (empty until then)
        self.awaited: set[str] = set()
        self.all_seen = asyncio.Event()
        self.started = time.monotonic()

    @property
    def failovers(self) -> int:
        return sum(c.lost for c in self.connections)

    async def send_batch(self, conn: Sender, batch: list[Transaction]) -> None:
        retries = 0
        while batch:
            sent_at = time.monotonic()
            for tx in batch:
                self.sent_time.setdefault(tx.hash, sent_at)
            results = await conn.batch([("tx_send", {"tx": t.to_dict()}) for t in batch])
            retry = []
            for tx, res in zip(batch, results, strict=True):
                if isinstance(res, RpcError):
                    if res.reason == "mempool_full" and retries < MAX_RETRIES:
                        retry.append(tx)
                    else:
                        self.report.rejected[res.reason or res.message] += 1
                else:
                    self.submit_time.setdefault(tx.hash, self.sent_time[tx.hash])
            batch = retry
            if batch:
                retries += 1
                await asyncio.sleep(BACKOFF_S)

    async def client(self, first: int, queue: list[Transaction]) -> None:
        txs = self.report.txs
        my_rate = self.rate * len(queue) / txs if self.rate > 0 and txs else 0.0
        size = self.batch_size
        conn = Failover(self.urls, first, self.report.transport)
        self.connections.append(conn)
        try:
            if not my_rate:  # closed loop: one batch in flight per client
                for pos in range(0, len(queue), size):
                    await self.send_batch(conn, queue[pos : pos + size])
                return
            # open loop at the offered rate: batches leave on schedule, whatever is in flight
            inflight = asyncio.Semaphore(MAX_INFLIGHT_BATCHES)
            tasks: list[asyncio.Task[None]] = []
            failed: list[asyncio.Task[None]] = []

            def done(task: asyncio.Task[None]) -> None:
                inflight.release()
                if not task.cancelled() and task.exception() is not None:
                    failed.append(task)

            try:
                for pos in range(0, len(queue), size):
                    delay = self.started + pos / my_rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    await inflight.acquire()
                    if failed:
                        break  # gather below raises its error
                    task = asyncio.create_task(self.send_batch(conn, queue[pos : pos + size]))
                    task.add_done_callback(done)
                    tasks.append(task)
                await asyncio.gather(*tasks)
            finally:
                # a failed batch ends the client: its other batches are cancelled, and every
                # task's outcome is collected here (none left for the loop to complain about)
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await conn.close()

    async def watch(self, height: int) -> None:
        """Note when each of our transactions is first seen in a committed block.

        The node pushes each committed block (a ``blocks`` subscription), so the time noted is
        when the commit was announced, and the watcher costs the node one notification and one
        ``block_get`` (for the hashes) per block instead of a poll every few milliseconds. When
        its node is lost the watcher follows the next node from the block after the last one it
        saw; it gives up when no node answered for ``NODE_LOST_S``.
        """
        index, last_answer = 0, time.monotonic()
        while True:
            url = self.urls[index % len(self.urls)]
            try:
                async with Client(url) as node:
                    subscription = node.subscribe("blocks", from_height=height + 1, max_resumes=1)
                    async for note in subscription:
                        last_answer = time.monotonic()
                        height = self._note_block(note["height"], await _block(node, note))
            except (RpcTransportError, SubscriptionDropped) as exc:
                if time.monotonic() - last_answer > NODE_LOST_S:
                    raise nodes_lost(exc) from exc
                self.report.watcher_moves += 1
                index += 1
                await asyncio.sleep(RECONNECT_PAUSE_S)

    def _note_block(self, height: int, hashes: list[str]) -> int:
        now = time.monotonic()
        self.report.blocks += 1
        ours = False
        for h in hashes:
            if h in self.hashes and h not in self.commit_time:
                self.commit_time[h] = now
                ours = True
                if h in self.awaited:
                    self.awaited.discard(h)
                    if not self.awaited:
                        self.all_seen.set()
        if ours:
            self.report.first_height = self.report.first_height or height
            self.report.last_height = height
        return height

    async def resend_lost(self, conn: Sender) -> None:
        """After a client lost its node, send again what was accepted but has not committed.

        A node killed before it gossiped a transaction takes it with it, and that sender's later
        nonces then wait in the other pools as gapped. Every ``RESEND_S`` while some client has
        moved, the transactions accepted more than ``RESEND_S`` ago and still not seen committed
        go again, each sender's in nonce order, to any live node: a node that holds one already
        or has committed it answers with its hash, so nothing is admitted twice.
        """
        while True:
            await asyncio.sleep(RESEND_S)
            if not self.failovers:
                continue
            cutoff = time.monotonic() - RESEND_S
            lost = sorted(
                (
                    self.txs[h]
                    for h, at in self.submit_time.items()
                    if at < cutoff and h not in self.commit_time
                ),
                key=lambda t: t.nonce,
            )
            self.report.resent += len(lost)
            for pos in range(0, len(lost), SUBMIT_BATCH):
                await self.send_batch(conn, lost[pos : pos + SUBMIT_BATCH])

    async def wait_commits(
        self, watch: asyncio.Task[None], resend: asyncio.Task[None], timeout_s: float
    ) -> None:
        """Until every accepted transaction was seen committed (or the timeout).

        The hashes still awaited are listed once; the watcher crosses each off as its block is
        seen and sets ``all_seen`` with the last. Scanning the list every 20 ms instead cost the
        client ~1.5 ms a scan while thousands were still to commit, CPU the budget line charges
        to the run.
        """
        self.awaited = {h for h in self.submit_time if h not in self.commit_time}
        if not self.awaited:
            return
        seen = asyncio.create_task(self.all_seen.wait())
        try:
            remaining = self.started + timeout_s - time.monotonic()
            done, _ = await asyncio.wait(
                {seen, watch, resend}, timeout=max(remaining, 0), return_when=FIRST_COMPLETED
            )
            for task in (watch, resend):
                if task in done:
                    task.result()  # raises what ended it: no node answered
        finally:
            seen.cancel()
            await asyncio.gather(seen, return_exceptions=True)

    def settle(self) -> None:
        """Count only what was accepted and seen committed."""
        counted = [h for h in self.commit_time if h in self.submit_time]
        report = self.report
        report.committed = len(counted)
        if counted:
            report.seconds = max(self.commit_time[h] for h in counted) - self.started
        report.latencies = [self.commit_time[h] - self.submit_time[h] for h in counted]
        report.commit_offsets = [self.commit_time[h] - self.started for h in counted]
