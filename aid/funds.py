"""Funds and allocations (专款专用): money enters by document and flows down the area tree.

A fund is received once per source document (文号) with its level, year, purpose and amount.
Allocations move money from a fund, or from an allocation above, to an area at or below the
source's area, keeping the source's purpose; programs then draw on allocations
(aid/programs.py). Every source keeps ``amount`` and ``drawn`` (what allocations and programs
below it took), and ``drawn <= amount`` holds at every level after every action — that is the
"money never leaves its purpose and never exceeds its allocation" invariant, checked where money
moves and asserted where it is recorded.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aid.areas import area_contains
from aid.context import Action
from aid.errors import AlreadyExists, OverBudget, WrongArea, WrongState
from aid.roles import require_role
from aid.state import Records

FUND_LEVELS = ("central", "provincial", "city", "county")
PURPOSES = (
    "industry",  # 产业发展
    "infrastructure",  # 基础设施
    "housing",  # 危房改造
    "education",  # 教育
    "health",  # 医疗
    "employment",  # 就业
    "living",  # 生活补助
    "other",
)
MIN_YEAR, MAX_YEAR = 2000, 2100


def doc_key(doc_no: str) -> str:
    """The index key of a source document number (they contain CJK and punctuation)."""
    return hashlib.sha256(doc_no.encode("utf-8")).hexdigest()


def fund_receive(act: Action) -> None:
    a = act.args
    doc_no = a.text("doc_no")
    level = a.choice("level", FUND_LEVELS)
    year = a.integer("year", low=MIN_YEAR, high=MAX_YEAR)
    purpose = a.choice("purpose", PURPOSES)
    amount = a.amount()
    area = a.area("area")
    a.done()
    grant = require_role(act.records, act.ctx.signer, "allocator", area)
    records = act.records
    if records.get("fdoc", doc_key(doc_no)) is not None:
        raise AlreadyExists(f"funds of document {doc_no!r} were already received")
    ident = act.ctx.new_id("fund")
    fund = {
        "doc_no": doc_no,
        "level": level,
        "year": year,
        "purpose": purpose,
        "amount": amount,
        "drawn": 0,
        "area": area,
        "org": grant[2],
        "by": act.ctx.signer,
        "time_ms": act.ctx.time_ms,
    }
    records.put("fdoc", doc_key(doc_no), {"fund": ident})
    records.put("fund", ident, fund)
    act.touch("fund", ident)
    act.emit("fund_received", fund=ident, amount=amount, area=area, purpose=purpose)


def source_of(records: Records, ident: str) -> tuple[str, dict[str, Any]]:
    """A fund or an allocation by id, with its kind."""
    for kind in ("fund", "allocation"):
        record = records.get(kind, ident)
        if record is not None:
            return kind, record
    records.need("fund", ident, "fund or allocation")
    raise AssertionError("unreachable: need() raised")


def draw(act: Action, kind: str, ident: str, source: dict[str, Any], amount: int) -> None:
    """Take ``amount`` from a fund or allocation's remainder; refuse rather than overdraw."""
    left = source["amount"] - source["drawn"]
    if amount > left:
        raise OverBudget(
            f"{kind} {ident} has {left} fen left, {amount} asked",
            source=ident,
            left=left,
        )
    source["drawn"] += amount
    assert 0 <= source["drawn"] <= source["amount"], f"{kind} {ident} overdrawn"
    act.records.put(kind, ident, source)
    act.touch(kind, ident)


def give_back(act: Action, allocation_id: str, amount: int) -> None:
    """Undraw ``amount`` a program drew from an allocation (the program closed unspent).

    An allocation already returned holds nothing undrawn, so the amount goes on up to its
    source, as ``allocation.return`` sent the rest: money never stays where it cannot be used.
    """
    records = act.records
    kind, ident = "allocation", allocation_id
    record = records.need(kind, ident, "allocation")
    record["drawn"] -= amount
    while kind == "allocation" and record["status"] == "returned":
        record["amount"] -= amount
        record["returned"] = record.get("returned", 0) + amount
        assert 0 <= record["drawn"] <= record["amount"], f"allocation {ident} corrupt"
        records.put(kind, ident, record)
        act.touch(kind, ident)
        ident = record["source"]
        kind, record = source_of(records, ident)
        record["drawn"] -= amount
    assert 0 <= record["drawn"] <= record["amount"], f"{kind} {ident} corrupt"
    records.put(kind, ident, record)
    act.touch(kind, ident)


def allocation_issue(act: Action) -> None:
    a = act.args
    source_id = a.text("source")
    area = a.area("area")
    amount = a.amount()
    a.done()
    records = act.records
    kind, source = source_of(records, source_id)
    if kind == "allocation" and source["status"] != "received":
        raise WrongState(f"allocation {source_id} is {source['status']}; receive it first")
    if not area_contains(source["area"], area):
        raise WrongArea(f"area {area} is not inside {kind} {source_id}'s area {source['area']}")
    grant = require_role(records, act.ctx.signer, "allocator", source["area"])
    draw(act, kind, source_id, source, amount)
    ident = act.ctx.new_id("allocation")
    allocation = {
        "source": source_id,
        "source_kind": kind,
        "fund": source_id if kind == "fund" else source["fund"],
        "purpose": source["purpose"],
        "area": area,
        "amount": amount,
        "drawn": 0,
        "status": "issued",
        "org": grant[2],
        "by": act.ctx.signer,
        "issued_ms": act.ctx.time_ms,
    }
    records.put("allocation", ident, allocation)
    act.touch("allocation", ident)
    act.emit("allocation_issued", allocation=ident, source=source_id, area=area, amount=amount)


def allocation_receive(act: Action) -> None:
    """The receiving area's finance bureau confirms the money arrived."""
    a = act.args
    ident = a.text("allocation")
    a.done()
    allocation = act.records.need("allocation", ident, "allocation")
    if allocation["status"] != "issued":
        raise WrongState(f"allocation {ident} is {allocation['status']}, not issued")
    require_role(act.records, act.ctx.signer, "allocator", allocation["area"])
    allocation["status"] = "received"
    allocation["received_ms"] = act.ctx.time_ms
    act.records.put("allocation", ident, allocation)
    act.touch("allocation", ident)
    act.emit("allocation_received", allocation=ident)


def allocation_return(act: Action) -> None:
    """Give an allocation's undrawn remainder back to its source (unspent funds go back up)."""
    a = act.args
    ident = a.text("allocation")
    reason = a.text("reason")
    a.done()
    records = act.records
    allocation = records.need("allocation", ident, "allocation")
    if allocation["status"] not in ("issued", "received"):
        raise WrongState(f"allocation {ident} is {allocation['status']}")
    require_role(records, act.ctx.signer, "allocator", allocation["area"])
    back = allocation["amount"] - allocation["drawn"]
    kind, source = source_of(records, allocation["source"])
    source["drawn"] -= back
    assert 0 <= source["drawn"] <= source["amount"], f"{kind} {allocation['source']} corrupt"
    records.put(kind, allocation["source"], source)
    allocation["amount"] = allocation["drawn"]
    allocation["status"] = "returned"
    allocation["returned"] = back
    records.put("allocation", ident, allocation)
    act.touch("allocation", ident)
    act.touch(kind, allocation["source"])
    act.emit("allocation_returned", allocation=ident, amount=back, reason=reason)
