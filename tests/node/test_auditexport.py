"""The streamed audit export over a real LevelDB store: scope, dates, trailer, snapshot."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import pytest

from aid.audit import check_export
from aid.errors import BadArgs, UnknownArea
from aid.genesis import genesis_records
from chain.crypto import KeyPair
from chain.errors import Busy
from node.auditexport import ExportStream, first_height_at, parse_scope
from storage.chainstore import ChainStore
from tests.aid.helpers import COUNTY, genesis_doc
from tests.bench.bench_public import CHAIN, Inline, load, load_actions

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
