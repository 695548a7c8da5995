"""The streamed audit export over a real LevelDB store: scope, dates, trailer, snapshot."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest

from aid.audit import EXPORT_COLUMNS, Placer, audit_row, check_export, csv_line, trailer, utc_text
from aid.errors import BadArgs, UnknownArea
from aid.genesis import genesis_records
from aid.state import record_key
from chain.crypto import KeyPair
from chain.errors import Busy
from chain.tx import sign_tx
from node.auditexport import ExportStream, first_height_at, parse_scope
from storage.chainstore import ChainStore
from storage.index import IndexChanges
from tests.aid.helpers import COUNTY, genesis_doc
from tests.bench.bench_public import CHAIN, Inline, Result, action, commit, load, load_actions
from tests.storage.test_tx_layout import to_old_layout

DAY_MS = 86_400_000


@pytest.fixture
def store(tmp_path: Path) -> ChainStore:
    key = KeyPair.from_seed(bytes(32))
    s = ChainStore.open(tmp_path / "db")
    doc = {
        "chain_id": CHAIN,
        "time": 1,
        "accounts": {},
        "validators": [{"id": key.public_hex, "name": "v"}],
    }
    s.init_genesis(doc, genesis_records(genesis_doc()))
    load(s, key, 50, 5)  # height 1, time 1,000
    load_actions(s, key, 40, 50, 10, "demo")  # heights 2..5, one block a second
    return s


def export(store: ChainStore, scope: dict[str, str]) -> bytes:
    async def run() -> bytes:
        stream = ExportStream(store, Inline(), parse_scope(scope))
        try:
            return b"".join([chunk async for chunk in stream.chunks()])
        finally:
            stream.close()

    return asyncio.run(run())


def rows(data: bytes) -> list[dict[str, str]]:
    lines = data.decode().splitlines()
    return list(csv.DictReader(io.StringIO("\n".join(lines[1:-1]))))


def test_the_whole_county_with_a_trailer_that_proves_it(store: ChainStore) -> None:
    data = export(store, {"area": COUNTY})
    check = check_export(data)
    assert check.intact and check.height == store.height == 5 and check.rows == 40
    table = rows(data)
    assert len(table) == 40 and {r["outcome"] for r in table} == {"ok"}
    assert [int(r["height"]) for r in table] == sorted(int(r["height"]) for r in table)
    assert {r["org"] for r in table} == {"office"}
    assert data == export(store, {"area": COUNTY})  # the same bytes at the same height


def test_scope_narrows_by_area_program_org_and_dates(store: ChainStore) -> None:
    village = rows(export(store, {"area": "530102001001"}))
    assert village and all(r["area"] == "530102001001" for r in village)
    by_program = rows(export(store, {"area": COUNTY, "program": "p" * 20}))
    assert by_program and all(r["program"] == "p" * 20 for r in by_program)
    assert rows(export(store, {"area": COUNTY, "org": "bank"})) == []
    assert rows(export(store, {"area": "530103000000"})) == []
    # block times are 1970-01-01 (tiny ms): a later window is empty, that day holds everything
    assert rows(export(store, {"area": COUNTY, "from": "1970-01-02"})) == []
    assert len(rows(export(store, {"area": COUNTY, "to": "1970-01-01"}))) == 40


def test_first_height_at_is_a_binary_search(store: ChainStore) -> None:
    times = [store.get_header(h).time for h in range(1, 6)]  # type: ignore[union-attr]
    assert first_height_at(store, times[2], 5) == 3
    assert first_height_at(store, times[2] + 1, 5) == 4
    assert first_height_at(store, 0, 5) == 1
    assert first_height_at(store, 10 * DAY_MS, 5) == 6


def test_bad_scopes_are_refused() -> None:
    with pytest.raises(BadArgs, match="area"):
        parse_scope({"from": "2026-01-01"})
    with pytest.raises(UnknownArea):
        parse_scope({"area": "53"})
    with pytest.raises(BadArgs, match="UTC date"):
        parse_scope({"area": COUNTY, "from": "01/02/2026"})
    with pytest.raises(BadArgs, match="before"):
        parse_scope({"area": COUNTY, "from": "2026-02-01", "to": "2026-01-01"})
    with pytest.raises(BadArgs, match="scope"):
        parse_scope({"area": COUNTY, "household": "x"})


class BusyTwice(Inline):
    """A query runner that is busy for the first two pages it is asked for."""

    def __init__(self) -> None:
        self.refusals = 0

    async def run(self, fn: Any) -> Any:
        if self.refusals < 2:
            self.refusals += 1
            raise Busy("all query threads busy")
        return fn()


def test_a_busy_node_delays_the_stream_without_cutting_it(store: ChainStore) -> None:
    runner = BusyTwice()

    async def run() -> bytes:
        stream = ExportStream(store, runner, parse_scope({"area": COUNTY}))
        try:
            return b"".join([chunk async for chunk in stream.chunks()])
        finally:
            stream.close()

    data = asyncio.run(run())
    assert runner.refusals == 2 and check_export(data).intact and check_export(data).rows == 40


# --- the fast path writes the bytes the plain path wrote -----------------------------------------


def reference_export(store: ChainStore, scope: dict[str, str]) -> bytes:
    """The export as first written: every stored record through ``json.loads`` and
    ``audit_row``, one ``csv.writer`` row at a time (what the fast path must reproduce)."""
    parsed = parse_scope(scope)
    height = store.height
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    with store.read_view() as view:
        placer = Placer(lambda kind, ident: view.get(record_key(kind, ident)))
        inside: dict[str, bool] = {}
        rows = 0
        start = 1 if parsed.from_ms is None else first_height_at(store, parsed.from_ms, height)
        end = height if parsed.to_ms is None else first_height_at(store, parsed.to_ms, height) - 1
        for h in range(start, end + 1):
            when = utc_text(store.get_header(h).time)  # type: ignore[union-attr]
            for tx_hash, record in store.block_tx_records(h) or []:
                tx = record["tx"]
                if tx["type"] != "aid":
                    continue
                place = placer.place(tx["sender"], tx["payload"].get("args"))
                if parsed.keeps(place, inside):
                    writer.writerow(
                        audit_row(h, record["index"], when, tx, tx_hash, record["receipt"], place)
                    )
                    rows += 1
    scope_text = ",".join(f"{k}={v}" for k, v in sorted(parsed.raw.items()))
    body = f"#aidchain-audit,{scope_text},height={height}\n{csv_line(EXPORT_COLUMNS)}"
    data = (body + out.getvalue()).encode("utf-8")
    return data + trailer(height, rows, hashlib.sha256(data).hexdigest()).encode("utf-8")


def mixed_block(key: KeyPair, nonce: int, households: int) -> tuple[list[Any], list[Any]]:
    """Every kind of row: refusals with and without a reason, transfers and deploys (skipped),
    names that need CSV quoting, non-ASCII, linked grievances, admins acting for an org."""
    other = KeyPair.from_seed(bytes([7]) * 32)
    hh = f"h{nonce % households:019d}"
    payloads: list[tuple[str, dict[str, Any]]] = [
        ("aid", action("demo", nonce, households)),
        ("aid", action("worst", nonce + 1, households)),
        ("transfer", {"to": other.public_hex, "amount": 5, "memo": '村,"x"\n'}),
        ("aid", {"action": 'odd,"name"\nwith lines', "args": {"village": "530102001001"}}),
        ("aid", {"action": "grievance.file", "args": {"links": [{"kind": "household", "id": hh}]}}),
        ("aid", {"action": "cycle.approve", "args": {"cycle": "c" * 20, "as_admin_of": "银行"}}),
        ("aid", {"action": "household.apply", "args": {"village": 'a,"b"\n', "size": 1}}),
        ("aid", {"action": "fund.move", "args": {"source": "nowhere", "gas": 3}, "gas": 10}),
        ("deploy", {"source": "def f():\n    return 1\n"}),
    ]
    txs = [sign_tx(key, CHAIN, nonce + i, kind, body) for i, (kind, body) in enumerate(payloads)]
    receipts = [
        {"ok": i % 3 != 1, "error": None if i % 3 != 1 else "no",
         "error_type": None if i % 2 else "not_found", "error_data": {"tx": {"nested": i}},
         "events": [{"type": "x", "data": {"ok": False, "tx": "y"}}], "touched": [], "gas_used": i}
        for i in range(len(txs))
    ]  # fmt: skip
    return txs, receipts


def test_the_export_is_the_bytes_of_the_plain_json_path(tmp_path: Path) -> None:
    key = KeyPair.from_seed(bytes(32))
    s = ChainStore.open(tmp_path / "db")
    doc = {"chain_id": CHAIN, "time": 1, "accounts": {},
           "validators": [{"id": key.public_hex, "name": "v"}]}  # fmt: skip
    s.init_genesis(doc, genesis_records(genesis_doc()))
    load(s, key, 60, 6)
    load_actions(s, key, 30, 60, 7, "demo")
    nonce = 100
    for block in range(30):
        txs, receipts = mixed_block(key, nonce, 60)
        nonce += len(txs)
        commit(s, key, txs, Result({}, receipts, IndexChanges()), (block + 10) * DAY_MS // 3)
    scopes = [
        {"area": COUNTY},
        {"area": "530102001001"},
        {"area": COUNTY, "program": "p" * 20},
        {"area": COUNTY, "org": "银行"},
        {"area": COUNTY, "from": "1970-01-05", "to": "1970-01-08"},
    ]
    for scope in scopes:
        assert export(s, scope) == reference_export(s, scope), scope
    county = export(s, {"area": COUNTY})
    assert check_export(county).intact and check_export(county).rows >= 150
    for seen in (
        b'"odd,""name""\nwith lines"',
        b"refused:not_found",
        b"refused:error",
        "银行".encode(),
    ):
        assert seen in county
    # a data dir written before the height-ordered layout exports the same bytes
    for height in range(1, s.height + 1):
        block = s.get_block(height)
        assert block is not None
        to_old_layout(s._db, block)
    assert export(s, {"area": COUNTY}) == county
