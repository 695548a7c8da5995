"""Public reads (公示, 数据披露): what anyone may read without an account, and nothing personal.

Four reads, each a pure function of the ledger's records and read-side index at one block:

- ``disclosure(village, period)``: the latest published masked list of a village and period;
- ``funds(area, year)``: funds received in the area (document, level, purpose, amount), the
  allocations into it from those funds, and the programs drawing on them with their allocation
  rule (category, per-household cap, rules contract);
- ``programs(area)``: the area's programs, their budgets, what they committed and paid, targets;
- ``events(area, cursor)``: "major events" -- funds received, allocations, program moves, cycle
  approvals, bank batches and reports, disclosures -- newest first, from the entities' histories.

None of them takes a household, an ID number, a commitment or a name, and none returns an
entitlement or household id, so a public client can neither enumerate personal data nor learn
whether an ID number is registered. Every answer is ``{"data", "content_hash", "height"}``:
``content_hash`` is SHA-256 of the canonical JSON of ``data`` (the HTTP ETag), ``height`` the block
it reflects, so two nodes at one height give byte-identical data and the same hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from aid.areas import area_level, area_prefix, require_in_tree
from aid.disclosure import record_content
from aid.errors import BadArgs
from aid.programs import check_period
from aid.reads import ReadIndex, history_step
from aid.state import Records
from chain.encoding import canonical
from chain.errors import Busy
from storage.chainstore import ChainStore, StoreView

T = TypeVar("T")
MAX_PUBLIC_ITEMS = 200  # funds, allocations or programs in one answer (``truncated`` beyond)
MAX_DISCLOSURE_VERSIONS = 50  # disclosures of one village and period considered
EVENTS_PAGE = 50  # events per page
MAX_EVENT_SOURCES = 500  # entities whose histories one events page merges
MAX_EVENT_HISTORY = 200  # history entries read per entity
HEIGHT_RETRIES = 5  # attempts to take a snapshot no block committed around
MAJOR_ACTIONS = frozenset(
    {
        "fund.receive",
        "allocation.issue",
        "allocation.receive",
        "allocation.return",
        "program.create",
        "program.status",
        "cycle.submit",
        "cycle.approve",
        "cycle.cancel",
        "batch.create",
        "payment.report",
        "disclosure.publish",
        "disclosure.object",
        "disclosure.close",
    }
)
MIN_YEAR, MAX_YEAR = 2000, 2100


def answer(data: dict[str, Any], height: int) -> dict[str, Any]:
    return {
        "data": data,
        "content_hash": hashlib.sha256(canonical(data)).hexdigest(),
        "height": height,
    }


def _area(records: Records, code: str) -> str:
    return require_in_tree(records.peek, code)  # UnknownArea naming a code outside the tree


def _scan_all(index: ReadIndex, prefix: str, cap: int) -> tuple[list[str], bool]:
    """Ids under ``prefix`` (at most ``cap``) and whether there were more."""
    rows = index.scan(prefix, None, cap + 1)
    return [key.rsplit("/", 1)[1] for key, _ in rows[:cap]], len(rows) > cap


# --- disclosure ----------------------------------------------------------------------------------


def disclosure(records: Records, index: ReadIndex, village: str, period: str) -> dict[str, Any]:
    if area_level(_area(records, village)) != "village":
        raise BadArgs(f"{village} is not a village: disclosures are per village")
    check_period(period)
    ids, _ = _scan_all(index, f"disclosure/village/{village}/{period}/", MAX_DISCLOSURE_VERSIONS)
    shown = [(r, i) for i in ids if (r := records.get("disclosure", i)) and r["status"] != "draft"]
    if not shown:
        return {"village": village, "period": period, "disclosure": None}
    record, ident = max(shown, key=lambda pair: (pair[0]["published_height"], pair[1]))
    content = record_content(record)
    assert content_hash_of(content) == record["content_hash"], f"disclosure {ident} drifted"
    return {
        "village": village,
        "period": period,
        "disclosure": {
            "id": ident,
            "status": record["status"],
            "published_height": record["published_height"],
            "published_time": record["published_time"],
            "window_end_ms": record["window_end_ms"],
            "closed_time": record.get("closed_time"),
            "objections": len(record["objections"]),
            "content_hash": record["content_hash"],
            "content": content,
        },
    }


def content_hash_of(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


# --- funds and programs --------------------------------------------------------------------------


def _public_program(ident: str, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": ident,
        "name": p["name"],
        "purpose": p["purpose"],
        "category": p["category"],
        "item": p["item"],
        "area": p["area"],
        "start_period": p["start_period"],
        "end_period": p["end_period"],
        "status": p["status"],
        "budget_fen": p["budget"],
        "committed_fen": p["committed"],
        "paid_fen": p["paid"],
        "rule": {
            "per_household_cap_fen": p["per_household_cap"],
            "unit_value_fen": p["unit_value"],
            "rules_contract": p["rules"],
        },
        "funding": [{"allocation": a, "amount_fen": fen} for a, fen in p["funding"]],
        "targets": p["targets"],
    }


def funds(records: Records, index: ReadIndex, area: str, year: int) -> dict[str, Any]:
    _area(records, area)
    if type(year) is not int or not MIN_YEAR <= year <= MAX_YEAR:
        raise BadArgs(f"year must be {MIN_YEAR}..{MAX_YEAR}")
    prefix = area_prefix(area)
    fund_ids, more_funds = _scan_all(index, f"fund/year/{year}/{prefix}", MAX_PUBLIC_ITEMS)
    fund_rows = []
    for ident in fund_ids:
        f = records.need("fund", ident)
        fund_rows.append(
            {
                "id": ident,
                "doc_no": f["doc_no"],
                "level": f["level"],
                "year": f["year"],
                "purpose": f["purpose"],
                "area": f["area"],
                "org": f["org"],
                "amount_fen": f["amount"],
                "drawn_fen": f["drawn"],
            }
        )
    alloc_ids, more_allocs = _scan_all(index, f"allocation/area/{prefix}", MAX_PUBLIC_ITEMS)
    allocations = []
    for ident in alloc_ids:
        a = records.need("allocation", ident)
        fund = records.get("fund", a["fund"])
        if fund is None or fund["year"] != year:
            continue
        allocations.append(
            {
                "id": ident,
                "fund": a["fund"],
                "source": a["source"],
                "purpose": a["purpose"],
                "area": a["area"],
                "status": a["status"],
                "amount_fen": a["amount"],
                "drawn_fen": a["drawn"],
            }
        )
    listed = {a["id"] for a in allocations}
    prog_ids, more_progs = _scan_all(index, f"program/area/{prefix}", MAX_PUBLIC_ITEMS)
    progs = []
    for ident in prog_ids:
        program = records.need("program", ident)
        if any(alloc in listed for alloc, _ in program["funding"]):
            progs.append(_public_program(ident, program))
    return {
        "area": area,
        "year": year,
        "funds": fund_rows,
        "allocations": allocations,
        "programs": progs,
        "received_fen": sum(f["amount_fen"] for f in fund_rows),
        "truncated": more_funds or more_allocs or more_progs,
    }


def programs(records: Records, index: ReadIndex, area: str) -> dict[str, Any]:
    _area(records, area)
    ids, more = _scan_all(index, f"program/area/{area_prefix(area)}", MAX_PUBLIC_ITEMS)
    rows = [_public_program(i, records.need("program", i)) for i in ids]
    return {"area": area, "programs": rows, "truncated": more}


# --- major events --------------------------------------------------------------------------------


def _event_sources(index: ReadIndex, area: str) -> tuple[list[tuple[str, str]], bool]:
    """The funds, allocations, programs, cycles, batches and disclosures of an area."""
    prefix = area_prefix(area)
    out: list[tuple[str, str]] = []
    for kind in ("fund", "allocation", "program", "disclosure"):
        ids, _ = _scan_all(index, f"{kind}/area/{prefix}", MAX_EVENT_SOURCES)
        out += [(kind, i) for i in ids]
    for _, program in [s for s in out if s[0] == "program"]:
        for cycle in _scan_all(index, f"cycle/program/{program}/", MAX_EVENT_SOURCES)[0]:
            out.append(("cycle", cycle))
            out += [("batch", b) for b in _scan_all(index, f"batch/cycle/{cycle}/", 50)[0]]
    return out[:MAX_EVENT_SOURCES], len(out) > MAX_EVENT_SOURCES


def _cursor(cursor: str | None) -> tuple[int, int] | None:
    if cursor is None:
        return None
    parts = cursor.split("/")
    if len(parts) != 2 or not all(p.isdigit() and len(p) <= 19 for p in parts):
        raise BadArgs("cursor must be the next_cursor of a previous page")
    return int(parts[0]), int(parts[1])


def events(
    records: Records,
    index: ReadIndex,
    area: str,
    cursor: str | None,
    time_of: Callable[[int], int],
) -> dict[str, Any]:
    """Major events in the area, newest first, a page at a time (``next_cursor``)."""
    _area(records, area)
    before = _cursor(cursor)
    sources, truncated = _event_sources(index, area)
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for kind, ident in sources:
        for key, value in index.scan(f"history/{kind}/{ident}/", None, MAX_EVENT_HISTORY):
            if value["action"] not in MAJOR_ACTIONS:
                continue
            height, tx_index = (int(x) for x in key.split("/")[-2:])
            if before is not None and (height, tx_index) >= before:
                continue
            event = found.get((height, tx_index))
            if event is None:
                event = found[(height, tx_index)] = history_step(index, key, value)
            event.setdefault("entities", []).append(f"{kind}/{ident}")
    page = sorted(found, reverse=True)[:EVENTS_PAGE]
    items = []
    for pos in page:
        event = found[pos]
        event["entities"] = sorted(event["entities"])
        event["time_ms"] = time_of(event["height"])
        items.append(event)
    more = len(found) > EVENTS_PAGE
    return {
        "area": area,
        "events": items,
        "next_cursor": f"{page[-1][0]}/{page[-1][1]}" if more else None,
        "truncated": truncated,
    }


# --- the node's side -----------------------------------------------------------------------------


def at_one_height(store: ChainStore, read: Callable[[StoreView], T]) -> tuple[T, int]:
    """Run ``read`` on a snapshot and say which height it shows.

    The head is read before and after the snapshot is taken; commits are atomic with the head
    update (under the store's lock), so equal heights mean the snapshot is of that block.
    """
    for _ in range(HEIGHT_RETRIES):
        height = store.height
        with store.read_view() as view:
            if store.height == height:
                return read(view), height
    raise Busy("blocks commit too fast to take a consistent public snapshot; retry")


class PublicRpc:
    """The ``public_*`` methods of ``rpc.api.NodeAPI`` (mixed into the node's RPC)."""

    _aid_store: ChainStore
    _aid_runner: Any

    async def _public(self, read: Callable[[StoreView], dict[str, Any]]) -> dict[str, Any]:
        store = self._aid_store

        def run() -> dict[str, Any]:
            data, height = at_one_height(store, read)
            return answer(data, height)

        result: dict[str, Any] = await self._aid_runner.run(run)
        return result

    async def public_disclosure(self, village: str, period: str) -> dict[str, Any]:
        return await self._public(lambda v: disclosure(Records(v), v, village, period))

    async def public_funds(self, area: str, year: int) -> dict[str, Any]:
        return await self._public(lambda v: funds(Records(v), v, area, year))

    async def public_programs(self, area: str) -> dict[str, Any]:
        return await self._public(lambda v: programs(Records(v), v, area))

    async def public_events(self, area: str, cursor: str | None) -> dict[str, Any]:
        store = self._aid_store

        def time_of(height: int) -> int:
            header = store.get_header(height)
            assert header is not None, f"committed height {height} has no header"
            return header.time

        return await self._public(lambda v: events(Records(v), v, area, cursor, time_of))
