"""Scale benchmark of the ledger's reads and reports (issues 10 and 11): prints figures, asserts none.

    .venv/bin/python tests/bench/bench_scale.py --households 1000000 [--block 2000] [--dir PATH]
        [--stream-dir NODE_DATA_DIR | --stream-households 400] [--skip-stream]

1. Load: N registered households (a third of them paid monthly for a year, 2026-01..12) into a
   fresh store, in blocks of ``--block`` records. The records have the ledger's own shapes and
   sizes (sealed personal data for five organisations, ID and account commitments, entitlements
   with their bank attempts, the history entries of the actions that made them), and each block
   goes through the node's own read-side code (``Executor._read_side``: the index edits and the
   statistics counters, the committed value of each counter read once) and the node's one synced
   commit batch. What is skipped is the ledger's action handlers and the signatures: running 4
   million signed actions through them would measure the ledger, not the reads and reports this
   benchmark is about, and take hours on a 2-core machine. Prints load time and data dir size.
2. Reads, each on its own LevelDB snapshot as the RPC handlers do (JSON-RPC transport not
   included): one household, one page of a village's and of a county's list, one trace of a paid
   household (12 entitlements, their cycles, batches, program, allocation and fund with their
   histories), and every report of a county and of a township. Targets: < 20 ms (issue 10)
   and < 200 ms per report (issue 11).
3. The read side's cost to committed ledger throughput: a real ledger block stream (the blocks a
   4-node cluster committed while ``aidchain demo load`` ran; ``--stream-dir`` reuses a node's
   data dir, else one is made) re-executed with the executor three ways, block by block side by
   side: as the node runs (index + statistics), without the statistics, and without either.
   Target: the read side costs <= 15 %.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from aid import reads, reports  # noqa: E402
from aid.indexes import history_key  # noqa: E402
from aid.sealed import WRAPPED_KEY_BYTES  # noqa: E402
from aid.state import Records, record_key  # noqa: E402
from chain.block import EMPTY_ROOT, Block, BlockHeader, CommitCertificate  # noqa: E402
from node.executor import (  # noqa: E402
    BlockState,
    ExecutionResult,
    Executor,
    _LedgerTouches,
    compute_state_root,
)
from storage.chainstore import ChainStore  # noqa: E402
from storage.index import NO_INDEX_CHANGES  # noqa: E402
from storage.stats import NO_STATS_CHANGES  # noqa: E402

CHAIN = "bench-scale"
PROVINCE, CITY = "530000000000", "530100000000"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY_MS = 86_400_000
ORGS = ("office", "civil", "bank", "audit", "village")
SEALED_DATA_BYTES = 232  # a 3-member household's personal data (~190 bytes), encrypted
MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]
AMOUNT = 50_000


def h(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def layout(households: int) -> list[str]:
    """Villages of 250 households, 40 per township, 20 townships per county."""
    villages = max(1, households // 250)
    out = []
    for v in range(villages):
        county, rest = divmod(v, 800)
        township, village = divmod(rest, 40)
        out.append(f"5301{county + 2:02d}{township + 1:03d}{village + 1:03d}")
    return out


def genesis(villages: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    codes = {PROVINCE, CITY}
    for v in villages:
        codes |= {v[:6] + "000000", v[:9] + "000", v}
    records: dict[str, Any] = {record_key("area", c): {"name": f"area {c}"} for c in codes}
    records[record_key("policy", "current")] = {
        "governance_quorum": 2, "proposal_ttl_s": 1_209_600, "notice_period_s": 604_800,
        "stage_deadline_s": 864_000, "idle_fund_age_s": 31_536_000,
    }  # fmt: skip
    doc = {
        "chain_id": CHAIN,
        "time": T0,
        "validators": [{"id": "00" * 32, "name": "v"}],
        "accounts": {},
    }
    return doc, records


class Loader:
    """Commits blocks of ledger records through the node's read-side code and commit batch."""

    def __init__(self, store: ChainStore) -> None:
        self.store = store
        self.executor = Executor(store)
        self.time_ms = T0
        self.tx_seq = 0

    def block(self, records: list[tuple[str, str, dict[str, Any], int]], dt_ms: int) -> None:
        """``records``: (kind, id, record, transactions that wrote it) for one block."""
        store = self.store
        height = store.height + 1
        self.time_ms += dt_ms
        overlay = BlockState(store)
        touches = _LedgerTouches()
        for kind, ident, record, txs in records:
            overlay.writes[record_key(kind, ident)] = record
            if kind in ("idc", "acctc", "cent"):
                continue
            touches.touched[f"{kind}/{ident}"] = None
            for _ in range(txs):
                self.tx_seq += 1
                key = history_key(kind, ident, height, self.tx_seq % 100_000)
                touches.history.append((key, {"tx": h("tx", self.tx_seq), "action": "bench"}))
        index, stats = self.executor._read_side(overlay, touches)
        root = compute_state_root(store.state_root, overlay.writes)
        header = BlockHeader(
            height,
            store.head_hash,
            EMPTY_ROOT,
            0,
            store.state_root,
            EMPTY_ROOT,
            self.time_ms,
            "00" * 32,
            0,
        )
        block = Block(header, ())
        cert = CommitCertificate(height, block.hash, 0, ())
        store.commit_block(
            block, cert, ExecutionResult(overlay.writes, [], root, EMPTY_ROOT, index, stats)
        )


def random_b64(size: int, *parts: object) -> str:
    """Random-looking base64 of ``size`` bytes (LevelDB compresses a repeated pattern)."""
    raw = b"".join(bytes.fromhex(h(*parts, i)) for i in range(size // 32 + 1))[:size]
    return base64.b64encode(raw).decode()


def sealed(n: int) -> dict[str, Any]:
    """An envelope as long as a real one (aid/identity.py ``seal``) to the five readers."""
    return {
        "data": random_b64(SEALED_DATA_BYTES, "sealed", n),
        "keys": {org: random_b64(WRAPPED_KEY_BYTES, "key", n, org) for org in ORGS},
    }


def household(village: str, n: int, registered_ms: int) -> tuple[str, dict[str, Any], list[str]]:
    ident = h("hh", n)[:20]
    members = sorted(h("member", n, i) for i in range(3))
    record = {
        "village": village, "status": "registered", "members": members,
        "account_commitment": h("acct", n), "size": 3, "cause": "illness",
        "income_per_head_yuan": 3_100, "labels": ["dibao"] if n % 5 == 0 else [],
        "sealed": sealed(n),
        "maker": h("maker")[:64], "maker_org": "village", "applied_ms": registered_ms - 9 * DAY_MS,
        "notice_ends_ms": registered_ms - DAY_MS, "registered_ms": registered_ms,
        "reviews": [{"stage": s, "by": h("rev", s), "org": "office", "time_ms": registered_ms}
                    for s in ("village", "township", "county")],
        "reason": None, "version": 1,
    }  # fmt: skip
    return ident, record, members


def money_records(county: str, budget: int) -> list[tuple[str, str, dict[str, Any], int]]:
    fund = {
        "doc_no": f"FIN-2026-{county}", "level": "central", "year": 2026, "purpose": "living",
        "amount": budget * 2, "drawn": budget, "area": county, "org": "fin", "by": "00" * 32,
        "time_ms": T0,
    }  # fmt: skip
    alloc = {
        "source": h("fund", county)[:20], "source_kind": "fund", "fund": h("fund", county)[:20],
        "purpose": "living", "area": county, "amount": budget, "drawn": budget,
        "status": "received", "org": "fin", "by": "00" * 32, "issued_ms": T0, "received_ms": T0,
    }  # fmt: skip
    return [
        ("fund", h("fund", county)[:20], fund, 1),
        ("allocation", h("alloc", county)[:20], alloc, 2),
    ]


def program(county: str, budget: int, committed: int, paid: int) -> dict[str, Any]:
    return {
        "name": "living subsidy", "purpose": "living", "category": "cash", "item": None,
        "unit_value": None, "area": county, "start_period": "2026-01", "end_period": "2026-12",
        "per_household_cap": 100_000, "rules": "00" * 32, "targets": {},
        "funding": [[h("alloc", county)[:20], budget]], "budget": budget,
        "committed": committed, "pending": 0, "paid": paid, "status": "active",
        "maker": "00" * 32, "org": "office", "created_ms": T0,
    }  # fmt: skip


def load(store: ChainStore, households: int, block_size: int) -> dict[str, Any]:
    villages = layout(households)
    counties = sorted({v[:6] + "000000" for v in villages})
    loader = Loader(store)
    paid_per_county = {c: 0 for c in counties}
    hh_villages: list[tuple[str, str]] = []  # (id, village) of the paid third
    started = time.perf_counter()
    cpu_started = time.process_time()
    money: list[tuple[str, str, dict[str, Any], int]] = []
    budget = households * AMOUNT * 12  # plenty for every county
    for c in counties:
        money += money_records(c, budget)
        money.append(("program", h("prog", c)[:20], program(c, budget, 0, 0), 2))
    loader.block(money, 1_000)
    chunk: list[tuple[str, str, dict[str, Any], int]] = []
    for n in range(households):
        village = villages[n % len(villages)]
        ident, record, members = household(village, n, loader.time_ms + 1_000)
        chunk.append(("household", ident, record, 4))
        chunk += [("idc", m, {"household": ident}, 0) for m in members]
        chunk.append(("acctc", record["account_commitment"], {"household": ident}, 0))
        if n % 3 == 0:
            hh_villages.append((ident, village))
        if len(chunk) >= block_size * 5:
            loader.block(chunk, 1_000)
            chunk = []
    if chunk:
        loader.block(chunk, 1_000)
    registered_s = time.perf_counter() - started
    for month in MONTHS:
        loader.time_ms = max(loader.time_ms, T0 + (int(month[5:]) - 1) * 30 * DAY_MS + DAY_MS)
        pay_time = loader.time_ms + 1_000
        seq: dict[str, int] = {}
        chunk = []
        for ident, village in hh_villages:
            county = village[:6] + "000000"
            prog = h("prog", county)[:20]
            cycle = h("cycle", county, month)[:20]
            batch = h("batch", county, month)[:20]
            ent_id = h(prog, month, ident)[:20]
            ent = {
                "program": prog, "period": month, "cycle": cycle, "household": ident,
                "village": village, "quantity": None, "amount": AMOUNT, "status": "paid",
                "account_commitment": h("acct", ident), "household_version": 1, "flags": [],
                "attempts": [{"batch": batch, "account_commitment": h("acct", ident),
                              "outcome": "paid", "bank_ref": f"B{ent_id[:12]}",
                              "time_ms": pay_time}],
                "batch": batch,
            }  # fmt: skip
            s = seq.get(cycle, 0)
            seq[cycle] = s + 1
            chunk.append(("entitlement", ent_id, ent, 3))
            chunk.append(("cent", f"{cycle}/{s:06d}", {"entitlement": ent_id}, 0))
            paid_per_county[county] += AMOUNT
            if len(chunk) >= block_size * 2:
                loader.block(chunk, 1_000)
                chunk = []
        for county in counties:  # the month's cycle, batch and the program's totals
            prog = h("prog", county)[:20]
            cycle = h("cycle", county, month)[:20]
            count = seq.get(cycle, 0)
            chunk.append(("cycle", cycle, {"program": prog, "period": month, "status": "paying",
                                           "next_seq": count, "maker": "00" * 32}, 4))  # fmt: skip
            chunk.append(("batch", h("batch", county, month)[:20], {
                "cycle": cycle, "program": prog, "bank": "bank", "count": count,
                "total": count * AMOUNT, "reported": count, "paid_total": count * AMOUNT,
                "status": "settled", "by": "00" * 32, "time_ms": pay_time}, 2))  # fmt: skip
            paid = paid_per_county[county]
            chunk.append(("program", prog, program(county, budget, paid, paid), 1))
        loader.block(chunk, 1_000)
    return {
        "households": households,
        "villages": len(villages),
        "counties": counties,
        "entitlements": len(hh_villages) * len(MONTHS),
        "register_s": registered_s,
        "load_s": time.perf_counter() - started,
        "load_cpu_s": time.process_time() - cpu_started,
        "blocks": store.height,
        "paid_sample": hh_villages[len(hh_villages) // 2],
        "sample": [h("hh", n)[:20] for n in range(0, households, max(1, households // 50))],
    }


def timed_ms(fn: Callable[[], Any], repeat: int = 15) -> tuple[float, float]:
    """(median, max) milliseconds over ``repeat`` runs."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs), max(runs)


def read_figures(store: ChainStore, info: dict[str, Any]) -> None:
    sample = iter(info["sample"] * 20)
    paid_id, paid_village = info["paid_sample"]
    county = info["counties"][0]
    township = paid_village[:9] + "000"

    def get() -> None:
        with store.read_view() as view:
            assert reads.get_entity(Records(view), "household", next(sample)) is not None

    def page(filters: dict[str, str]) -> Callable[[], None]:
        def run() -> None:
            with store.read_view() as view:
                got = reads.list_entities(Records(view), view, "household", filters, None, 50)
                assert len(got.items) == 50

        return run

    def trace() -> None:
        with store.read_view() as view:
            out = reads.trace(Records(view), view, "household", paid_id)
            assert len(out["nodes"]) > 12

    print("reads (median / max ms over 15 runs, one snapshot each, no JSON-RPC transport)")
    for name, fn in (
        ("get one household", get),
        ("list: page of 50, a village", page({"area": paid_village})),
        ("list: page of 50 registered, a county", page({"status": "registered", "area": county})),
        ("trace a paid household", trace),
    ):
        med, worst = timed_ms(fn)
        print(f"  {name:44s} {med:7.2f} / {worst:7.2f}   (target < 20)")
    print("reports (median / max ms over 5 runs)")
    for area, label in ((county, "county"), (township, "township")):
        for kind in reports.REPORT_KINDS:
            for period in (None, "2026-06"):

                def run(kind: str = kind, period: str | None = period, area: str = area) -> None:
                    with store.read_view() as view:
                        reports.report(view, kind, area, period, idle_age_s=31_536_000)

                med, worst = timed_ms(run, 5)
                shown = f"{label} {kind} {period or 'all'}"
                print(f"  {shown:44s} {med:7.2f} / {worst:7.2f}   (target < 200)")
    with store.read_view() as view:
        got = reports.report(view, "funds", county, None, idle_age_s=31_536_000)
        print(f"  county {county}: paid {got['paid']} fen, spend rate {got['spend_rate']}")


# --- 3. the read side's cost on a real ledger block stream -------------------------------------
class NoStats(Executor):
    def _read_side(self, overlay: BlockState, ledger: _LedgerTouches) -> Any:
        return ledger.changes(overlay.committed, overlay.get), NO_STATS_CHANGES


class NoReadSide(Executor):
    def _read_side(self, overlay: BlockState, ledger: _LedgerTouches) -> Any:
        return NO_INDEX_CHANGES, NO_STATS_CHANGES


def make_stream(households: int, workdir: Path) -> Path:
    """A 4-node cluster, ``aidchain demo load``, stopped: node0's data dir holds the stream."""
    from tests.integration.harness import LocalCluster, aidchain

    cluster = LocalCluster(workdir / "cluster")
    path = cluster.info.root / "genesis.json"
    doc = json.loads(path.read_text())
    doc["aid"]["policy"]["notice_period_s"] = 3
    path.write_text(json.dumps(doc))
    try:
        asyncio.run(cluster.start_all())
        done = aidchain(
            "demo", "load", "--dir", str(cluster.info.root), "--households", str(households),
            timeout=1_800,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"demo load failed: {done.stderr}")
    finally:
        cluster.stop_all()
    return cluster.data_dir(0)


def blocks_of(store: ChainStore) -> Iterator[Block]:
    for height in range(1, store.height + 1):
        block = store.get_block(height)
        assert block is not None
        yield block


VARIANTS: tuple[tuple[str, type[Executor]], ...] = (
    ("index + stats", Executor),
    ("index only", NoStats),
    ("none", NoReadSide),
)


def stream_pass(source: ChainStore, workdir: Path, run: int) -> dict[str, float]:
    """One side-by-side pass on fresh stores: CPU seconds of execute + commit per variant."""
    from node.genesis import validate_genesis

    genesis_doc = source.get_genesis()
    assert genesis_doc is not None
    g = validate_genesis(genesis_doc)
    variants: dict[str, tuple[ChainStore, Executor]] = {}
    for name, cls in VARIANTS:
        store = ChainStore.open(workdir / f"stream-{run}-{name.replace(' ', '')}")
        store.init_genesis(g.doc, g.aid_records)
        variants[name] = (store, cls(store, block_gas_limit=g.block_gas_limit))
    seconds = dict.fromkeys(variants, 0.0)
    names = list(variants)
    for block in blocks_of(source):
        cert = source.get_certificate(block.height)
        assert cert is not None
        shift = block.height % len(names)  # rotate who goes first: caches and load even out
        for name in names[shift:] + names[:shift]:
            store, executor = variants[name]
            start = time.process_time()  # CPU time: other processes' load does not count
            store.commit_block(block, cert, executor.execute(block))
            seconds[name] += time.process_time() - start
    for store, _ in variants.values():
        store.close()
    return seconds


def stream_figures(data_dir: Path, workdir: Path, repeat: int) -> None:
    copy = workdir / "stream-src"
    shutil.copytree(data_dir / "chain.db", copy)  # a running node may hold the original
    source = ChainStore.open(copy)
    txs = sum(len(b.txs) for b in blocks_of(source))
    aid_txs = sum(1 for b in blocks_of(source) for t in b.txs if t.type == "aid")
    runs = [stream_pass(source, workdir, run) for run in range(repeat)]
    best = {name: min(r[name] for r in runs) for name, _ in VARIANTS}
    print(
        f"ledger block stream: {source.height} blocks, {txs} txs ({aid_txs} aid); execute + "
        f"commit, CPU seconds, best of {repeat} side-by-side passes"
    )
    base = best["none"]
    for name, secs in best.items():
        cost = (secs - base) / secs * 100 if secs else 0.0
        print(f"  {name:14s} {txs / secs:9.0f} tx/s   {secs:7.2f} s   cost vs none {cost:5.1f} %")
    source.close()


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--block", type=int, default=2_000, help="records per block (about)")
    parser.add_argument("--dir", type=Path, help="keep the loaded store here (default: temp)")
    parser.add_argument("--stream-dir", type=Path, help="a node data dir holding a ledger chain")
    parser.add_argument("--stream-households", type=int, default=400)
    parser.add_argument("--stream-repeat", type=int, default=3)
    parser.add_argument("--skip-stream", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=args.dir))
    try:
        if not args.skip_load:
            villages = layout(args.households)
            store = ChainStore.open(work / "chain.db")
            doc, records = genesis(villages)
            store.init_genesis(doc, records)
            print(f"loading {args.households} households ({len(villages)} villages) ...")
            info = load(store, args.households, args.block)
            size = dir_size(work / "chain.db")
            print(
                f"loaded {info['households']} households and {info['entitlements']} paid "
                f"entitlements in {info['blocks']} blocks: {info['load_s']:.1f} s wall, "
                f"{info['load_cpu_s']:.1f} s CPU (registrations {info['register_s']:.1f} s wall); "
                f"data dir {size / 2**20:.0f} MiB"
            )
            read_figures(store, info)
            store.close()
        if not args.skip_stream:
            data_dir = args.stream_dir or make_stream(args.stream_households, work)
            stream_figures(data_dir, work, args.stream_repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
