"""Benchmark of the public disclosure page and the streamed audit export (not a pytest test).

    .venv/bin/python tests/bench/bench_public.py [--households 20000] [--villages 100]
        [--txs 100000] [--block 1000] [--mix demo|worst]

Builds a LevelDB chain store directly (records, index keys and blocks of signed ``aid``
transactions with their receipts, committed through ``ChainStore.commit_block`` as the node
does, but without executing: the point is the read side), then measures

- the public disclosure page of one village (``node.publicapi.disclosure`` + the answer hash,
  on a store snapshot, as ``public_disclosure`` and ``GET /public/disclosure/...`` run it);
  target < 50 ms;
- a full-county audit export (``node.auditexport.ExportStream``) in rows per second (wall and
  CPU time: the machine may be shared), with the Python heap's peak during the export
  (tracemalloc) to show it does not grow with the export; target >= 50,000 rows/s at constant
  memory.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from aid.cycles import entitlement_id
from aid.disclosure import content_hash, public_content
from aid.genesis import genesis_records
from aid.indexes import index_keys
from aid.state import Records, record_key
from chain.block import CommitCertificate
from chain.crypto import KeyPair
from chain.tx import sign_tx
from node import publicapi
from node.auditexport import ExportStream, parse_scope
from storage.chainstore import ChainStore
from storage.index import IndexChanges
from storage.stats import NO_STATS_CHANGES
from tests.aid.helpers import COUNTY, genesis_doc
from tests.blocks import block_after

CHAIN = "bench-public"
PERIOD = "2026-01"
PROGRAM = "p" * 20
CYCLE = "c" * 20
T = TypeVar("T")


class Result:
    def __init__(self, writes: dict[str, Any], receipts: list[Any], index: IndexChanges) -> None:
        self.writes, self.receipts, self.index = writes, receipts, index
        self.state_root = "00" * 32
        self.receipts_root = "00" * 32  # the benchmark builds no proofs
        self.stats = NO_STATS_CHANGES  # nor statistics (tests/bench/bench_scale.py does)
        self.end_block_events: tuple[dict[str, Any], ...] = ()  # nor deadline escalations
        self.write_bytes: dict[str, bytes] | None = None  # the store encodes the values
        self.receipt_bytes: tuple[bytes, ...] | None = None


class Inline:
    """A query runner that runs on the calling thread (the benchmark measures the work)."""

    async def run(self, fn: Callable[[], T]) -> T:
        return fn()


def village(i: int) -> str:
    return f"530102{1 + i // 10:03d}{1 + i % 10:03d}"


def commit(store: ChainStore, key: KeyPair, txs: list[Any], result: Result, time_ms: int) -> None:
    block = block_after(store, txs, key.public_hex, time=time_ms)
    store.commit_block(block, CommitCertificate(block.height, block.hash, 0, ()), result)


def load(store: ChainStore, key: KeyPair, households: int, villages: int) -> str:
    """Households, one paid cycle, and a published disclosure of village 0; its village."""
    writes: dict[str, Any] = {}
    puts: list[tuple[str, Any]] = []

    def put(kind: str, ident: str, record: dict[str, Any]) -> None:
        writes[record_key(kind, ident)] = record
        puts.extend((k, None) for k in index_keys(kind, ident, record))

    writes[record_key("grants", key.public_hex)] = {"grants": [["handler", COUNTY, "office"]]}
    program = {
        "name": "Living subsidy", "purpose": "living", "category": "cash", "item": None,
        "unit_value": None, "area": COUNTY, "start_period": "2026-01", "end_period": "2026-12",
        "per_household_cap": 100_000, "rules": "cc" * 32, "targets": [], "funding": [],
        "budget": 10**12, "committed": 0, "pending": 0, "paid": 0, "status": "active",
    }  # fmt: skip
    put("program", PROGRAM, program)
    put("cycle", CYCLE, {"program": PROGRAM, "period": PERIOD, "status": "paying"})
    rows = []
    for h in range(households):
        hh = f"h{h:019d}"
        v = village(h % villages)
        put("household", hh, {"village": v, "status": "registered"})
        ent = entitlement_id(PROGRAM, PERIOD, hh)
        put(
            "entitlement",
            ent,
            {"program": PROGRAM, "period": PERIOD, "cycle": CYCLE, "household": hh,
             "amount": 50_000, "status": "paid", "attempts": []},
        )  # fmt: skip
        if v == village(0):
            rows.append(
                {
                    "entitlement": ent,
                    "masked_name": "张*三",
                    "program": PROGRAM,
                    "amount_fen": 50_000,
                }
            )
    info = [{"id": PROGRAM, "name": "Living subsidy", "purpose": "living", "category": "cash"}]
    content = public_content(village(0), PERIOD, info, rows)
    put(
        "disclosure",
        "d" * 20,
        {"area": village(0), "village": village(0), "period": PERIOD, "program_info": info,
         "rows": rows, "status": "published", "published_height": 1, "published_time": 0,
         "window_end_ms": 1, "objections": [], "content_hash": content_hash(content)},
    )  # fmt: skip
    commit(store, key, [], Result(writes, [], IndexChanges((), tuple(sorted(puts)))), 1_000)
    return village(0)


def action(mix: str, n: int, households: int) -> dict[str, Any]:
    """The n-th action: ``worst`` names a new entitlement every time (a random state read each,
    never cached); ``demo`` mixes them like the demo county's history (registrations name their
    village, reviews a household, approvals a cycle, one in ten a delivery)."""
    hh = f"h{n % households:019d}"
    if mix == "worst" or n % 10 == 0:
        return {
            "action": "delivery.confirm",
            "args": {"entitlement": entitlement_id(PROGRAM, PERIOD, hh)},
        }
    if n % 10 < 5:
        return {"action": "household.apply", "args": {"village": village(n % 100), "size": 3}}
    if n % 10 < 9:
        return {"action": "household.review", "args": {"household": hh, "stage": "village"}}
    return {"action": "cycle.approve", "args": {"cycle": CYCLE, "decision": "approve"}}


def load_actions(
    store: ChainStore, key: KeyPair, txs: int, households: int, block: int, mix: str
) -> None:
    receipt = {"ok": True, "error": None, "error_type": None, "error_data": None,
               "events": [], "touched": [], "gas_used": 0}  # fmt: skip
    nonce = 0
    while nonce < txs:
        batch = []
        for _ in range(min(block, txs - nonce)):
            batch.append(sign_tx(key, CHAIN, nonce, "aid", action(mix, nonce, households)))
            nonce += 1
        result = Result({}, [receipt] * len(batch), IndexChanges())
        commit(store, key, batch, result, 1_000 + store.height * 1_000)


def settle(store: ChainStore, timeout_s: float = 60.0) -> None:
    """Let LevelDB finish compacting the fresh load (level 0 empty): it compacts on background
    threads whose CPU process_time counts, and a node's store is long settled."""
    db = store._db.raw
    deadline = time.monotonic() + timeout_s
    db.compact_range()
    while db.get_property(b"leveldb.num-files-at-level0") != b"0":
        if time.monotonic() > deadline:
            print("level 0 still compacting: the first export's CPU includes it")
            return
        time.sleep(0.2)


def bench_disclosure(store: ChainStore, v: str, repeat: int) -> tuple[list[float], list[float]]:
    """Milliseconds per page: (wall, CPU)."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        data, height = publicapi.at_one_height(
            store, lambda view: publicapi.disclosure(Records(view), view, v, PERIOD)
        )
        publicapi.answer(data, height)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - cpu_start) * 1000)
    return wall, cpu


@dataclass(frozen=True, slots=True)
class ExportRun:
    rows: int
    size: int  # bytes
    wall: float  # seconds
    cpu: float  # process CPU seconds: the export and LevelDB's background threads
    thread_cpu: float  # CPU seconds of the thread the export ran on
    peak: int  # Python heap peak, if traced


async def bench_export(store: ChainStore, trace: bool) -> ExportRun:
    """One full-county export: tracing slows the run, so the rate comes from an untraced run
    and the memory from a traced one. CPU seconds discount other processes on a shared
    machine; the export runs on this thread (``Inline``), so its thread's CPU leaves out
    LevelDB's background compactions, which a first read of a fresh store triggers."""
    stream = ExportStream(store, Inline(), parse_scope({"area": COUNTY}))
    size = rows = 0
    if trace:
        tracemalloc.start()
    start, cpu, thread = time.perf_counter(), time.process_time(), time.thread_time()
    async for chunk in stream.chunks():
        size += len(chunk)
        rows += chunk.count(b"\n")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    thread = time.thread_time() - thread
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    stream.close()
    # minus the scope line, CSV header and trailer
    return ExportRun(rows - 3, size, elapsed, cpu, thread, peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--villages", type=int, default=100)
    parser.add_argument("--txs", type=int, default=100_000)
    parser.add_argument("--block", type=int, default=1_000)
    parser.add_argument("--mix", choices=("worst", "demo"), default="demo")
    args = parser.parse_args()
    key = KeyPair.generate()
    with tempfile.TemporaryDirectory() as tmp:
        store = ChainStore.open(Path(tmp) / "db")
        doc = {"chain_id": CHAIN, "time": 1, "accounts": {},
               "validators": [{"id": key.public_hex, "name": "v"}]}  # fmt: skip
        store.init_genesis(doc, genesis_records(genesis_doc()))
        start = time.perf_counter()
        v = load(store, key, args.households, args.villages)
        load_actions(store, key, args.txs, args.households, args.block, args.mix)
        print(
            f"loaded {args.households} households in {args.villages} villages and "
            f"{args.txs} signed actions ({args.mix} mix) in {time.perf_counter() - start:.1f} s"
        )
        start = time.perf_counter()
        settle(store)
        print(f"compacted the store in {time.perf_counter() - start:.1f} s")
        wall, cpu = bench_disclosure(store, v, 50)
        rows = args.households // args.villages
        print(
            f"disclosure page, one village ({rows} rows): median {statistics.median(wall):.2f} ms "
            f"wall ({statistics.median(cpu):.2f} ms CPU), max {max(wall):.2f} ms (target < 50 ms)"
        )
        for label in ("first", "second"):
            run = asyncio.run(bench_export(store, trace=False))
            n = run.rows
            print(
                f"audit export ({label} run): {n} rows, {run.size / 2**20:.1f} MiB in "
                f"{run.wall:.2f} s wall = {n / run.wall:,.0f} rows/s; {run.cpu:.2f} s CPU = "
                f"{n / run.cpu:,.0f} rows/s per core, export thread {run.thread_cpu:.2f} s = "
                f"{n / run.thread_cpu:,.0f} rows/s (target >= 50,000)"
            )
        run = asyncio.run(bench_export(store, trace=True))
        print(
            f"audit export under tracemalloc: Python heap peak {run.peak / 2**20:.1f} MiB for "
            f"{run.size / 2**20:.1f} MiB of CSV"
        )
        store.close()


if __name__ == "__main__":
    main()
