"""Programs (项目): what money is for, who may get it, and the rules contract that decides how much.

A program draws its budget from received allocations of the same purpose whose area contains the
program's area; its rules contract answers the eligibility, entitlement and approval-stage hooks
(aid/rules.py). The office creates it (draft); a finance approver, never the maker, activates it.
``committed`` (approved entitlements) never exceeds ``budget``: aid/cycles.py checks it when an
entitlement is approved and asserts it when recording.

Closing a program gives its uncommitted budget back to the allocations it drew from, last drawn
first (结余资金收回): left drawn, that money would sit where no program can use it and no idle
funds report can see it. Closing waits for cycles still in preparation or approval; money an
entitlement frees later (``entitlement.cancel``) goes back the same way.

    draft ──activate (finance)──▶ active ⇄ suspended ──▶ closed
"""

from __future__ import annotations

import re
from typing import Any

from aid.areas import area_contains
from aid.context import Action
from aid.errors import BadArgs, WrongArea, WrongRole, WrongState
from aid.funds import PURPOSES, draw, give_back
from aid.roles import require_role

MAX_FUNDING_SOURCES = 64
MAX_TARGETS = 16
CATEGORIES = ("cash", "in_kind")
_PERIOD = re.compile(r"^(20\d\d)-(0[1-9]|1[0-2])$")


def check_period(value: str, name: str = "period") -> str:
    """Periods are months, ``YYYY-MM``; they compare correctly as strings."""
    if not isinstance(value, str):
        raise BadArgs(f"{name} must be a month like 2026-11", argument=name)
    if not _PERIOD.match(value):
        raise BadArgs(f"{name} must be a month like 2026-11", argument=name)
    return value


def _funding(act: Action, program_area: str, purpose: str) -> list[list[Any]]:
    raw = act.args.list_of("funding", max_items=MAX_FUNDING_SOURCES)
    if not raw:
        raise BadArgs("funding must name at least one allocation and amount")
    out: list[list[Any]] = []
    for i, item in enumerate(raw):
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not isinstance(item[0], str)
            or type(item[1]) is not int
            or item[1] <= 0
        ):
            raise BadArgs(f"funding[{i}] must be [allocation id, amount in fen]")
        out.append(item)
    if len({alloc for alloc, _ in out}) != len(out):
        raise BadArgs("funding names an allocation twice")
    for alloc_id, amount in out:
        allocation = act.records.need("allocation", alloc_id, "allocation")
        if allocation["status"] != "received":
            raise WrongState(f"allocation {alloc_id} is {allocation['status']}, not received")
        if allocation["purpose"] != purpose:
            raise WrongState(
                f"allocation {alloc_id} is for {allocation['purpose']}, not {purpose}: "
                "money never leaves its purpose"
            )
        if not area_contains(allocation["area"], program_area):
            raise WrongArea(
                f"allocation {alloc_id} ({allocation['area']}) does not cover {program_area}"
            )
        draw(act, "allocation", alloc_id, allocation, amount)
    return out


def _targets(act: Action) -> list[dict[str, Any]]:
    raw = act.args.list_of("targets", max_items=MAX_TARGETS)
    out = []
    for i, item in enumerate(raw):
        if (
            not isinstance(item, dict)
            or set(item) != {"metric", "target"}
            or not isinstance(item["metric"], str)
            or not 0 < len(item["metric"]) <= 64
            or type(item["target"]) is not int
            or item["target"] < 0
        ):
            raise BadArgs(f'targets[{i}] must be {{"metric": name, "target": integer >= 0}}')
        out.append(item)
    return out


def program_create(act: Action) -> None:
    a = act.args
    name = a.text("name")
    purpose = a.choice("purpose", PURPOSES)
    category = a.choice("category", CATEGORIES)
    in_kind = category == "in_kind"
    item = a.text("item", required=in_kind)
    unit_value = a.amount("unit_value") if in_kind else None
    area = a.area("area")
    start = check_period(a.text("start_period", max_chars=7), "start_period")
    end = check_period(a.text("end_period", max_chars=7), "end_period")
    cap = a.amount("per_household_cap")
    rules = a.account("rules")
    if end < start:
        raise BadArgs("end_period is before start_period")
    grant = require_role(act.records, act.ctx.signer, "handler", area)
    funding = _funding(act, area, purpose)
    targets = _targets(act)
    a.done()
    ident = act.ctx.new_id("program")
    program = {
        "name": name,
        "purpose": purpose,
        "category": category,
        "item": item or None,
        "unit_value": unit_value,
        "area": area,
        "start_period": start,
        "end_period": end,
        "per_household_cap": cap,
        "rules": rules,
        "targets": targets,
        "funding": funding,
        "budget": sum(amount for _, amount in funding),
        "committed": 0,
        "pending": 0,
        "paid": 0,
        "status": "draft",
        "maker": act.ctx.signer,
        "org": grant[2],
        "created_ms": act.ctx.time_ms,
    }
    act.records.put("program", ident, program)
    act.touch("program", ident)
    act.emit("program_created", program=ident, area=area, budget=program["budget"])


_MOVES = {
    "activate": (("draft",), "active"),
    "suspend": (("active",), "suspended"),
    "resume": (("suspended",), "active"),
    "close": (("active", "suspended"), "closed"),
}
MOVES = tuple(_MOVES)  # what program.status accepts as its move


def program_status(act: Action) -> None:
    """activate (a finance approver, not the maker), suspend, resume, close (approvers)."""
    a = act.args
    ident = a.text("program")
    move = a.choice("move", MOVES)
    reason = a.text("reason", required=move in ("suspend", "close"))
    a.done()
    program = act.records.need("program", ident, "program")
    allowed, target = _MOVES[move]
    if program["status"] not in allowed:
        raise WrongState(f"program {ident} is {program['status']}; cannot {move}")
    grant = require_role(act.records, act.ctx.signer, "approver", program["area"])
    if move == "activate":
        org = act.records.need("org", grant[2], "organisation")
        if org["kind"] != "finance":
            raise WrongRole("a program is activated by a finance bureau approver (co-signature)")
        if program["maker"] == act.ctx.signer:
            raise WrongRole("the account that created the program cannot activate it")
    if move == "close" and program["pending"]:
        raise WrongState(
            f"program {ident} has {program['pending']} fen in cycles being prepared or approved: "
            "cancel those cycles or finish their approval before closing it"
        )
    program["status"] = target
    if move == "close":
        release_unspent(act, ident, program)
    act.records.put("program", ident, program)
    act.touch("program", ident)
    act.emit("program_status", program=ident, status=target, reason=reason or None)


def release_unspent(act: Action, ident: str, program: dict[str, Any]) -> int:
    """Give a closed program's uncommitted budget back to its allocations, last drawn first;
    the fen given back (the program's ``budget`` shrinks by it, ``released`` grows)."""
    assert program["status"] == "closed" and program["pending"] == 0, "release on an open program"
    left = program["budget"] - program["committed"]
    assert left >= 0, f"program {ident} committed more than its budget"
    released: list[list[Any]] = []
    for entry in reversed(program["funding"]):
        take = min(entry[1], left)
        if take:
            give_back(act, entry[0], take)
            entry[1] -= take
            left -= take
            released.append([entry[0], take])
    total = sum(amount for _, amount in released)
    if total:
        program["budget"] -= total
        program["released"] = program.get("released", 0) + total
        act.emit("program_budget_released", program=ident, amount=total, to=released)
    return total
