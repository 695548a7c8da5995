"""Public disclosure (公示): the masked list of who in a village got what, for a period.

    draft ──publish (another account)──▶ published ──close (window over, no open objection)──▶ closed

Names never reach the chain in plain text (aid/identity.py), so the ledger cannot mask them
itself. The office's client opens the households' sealed data with its own key, masks each name
(``mask_name``: first character, ``*``, last character) and sends only the masked display names.
Everything else in a row -- village, program, amount -- the ledger takes from its own records:
the draft names the payment cycles it covers, and the ledger checks that the rows are exactly the
entitlements of those cycles whose household lives in the village, no more and no fewer. A masked
name is checked against ``MASKED_NAME`` (a letter, one to four ``*``, optionally a last letter;
no digits), so an ID number, a phone number or a full name cannot be published by mistake.

The published content is canonical JSON without entitlement or household ids (nothing links a
masked name to a household record); its SHA-256 is the content hash every node serves, so anyone
can check that two nodes publish the same list. An objection during the window is a grievance
(kind ``grievance``, another module) linked to ``disclosure/<id>``; ``disclosure.object`` records
it on the disclosure, which holds the close until every objection is resolved or closed.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from aid.areas import area_contains
from aid.context import Action
from aid.cycles import APPROVED_CYCLE_STATES, cycle_entitlements
from aid.errors import BadArgs, NoticeNotOver, UnknownEntity, WrongRole, WrongState
from aid.policy import current_policy
from aid.programs import check_period
from aid.roles import grants_of, require_role
from aid.state import KINDS, Records
from chain.encoding import canonical

MAX_DISCLOSURE_CYCLES = 8  # payment cycles one disclosure covers
MAX_DISCLOSURE_ROWS = 500  # rows in one disclosure (a 64 KiB transaction holds them)
MAX_OBJECTIONS = 64  # open grievances one disclosure may carry
MASKED_NAME = re.compile(r"\A[^\W\d_]\*{1,4}[^\W\d_]?\Z")
DISCLOSED_CYCLE_STATES = APPROVED_CYCLE_STATES  # approved lists are disclosed, drafts are not
CLOSED_GRIEVANCE_STATES = ("resolved", "closed")
CST_OFFSET_MS = 8 * 3_600_000  # working days are counted in China Standard Time (UTC+8)
DAY_MS = 86_400_000
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


def mask_name(full_name: str) -> str:
    """The display form of a name: 张三 -> 张*, 张小三 -> 张*三, 欧阳小明 -> 欧**明.

    Client side only (the office holds the plain name after opening its envelope).
    """
    name = "".join(full_name.split())
    if not name:
        raise BadArgs("a name to mask must not be empty")
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * min(len(name) - 2, 4) + name[-1]


def masked_rows(entitlements: list[tuple[str, str]]) -> list[dict[str, str]]:
    """``disclosure.draft`` rows from (entitlement id, head of household's full name) pairs.

    Client side: the office (or the demo loader, which made the names) masks here and sends
    only the masked names.
    """
    return [{"entitlement": ent, "masked_name": mask_name(name)} for ent, name in entitlements]


def check_masked_name(value: Any, i: int) -> str:
    if not isinstance(value, str) or MASKED_NAME.match(value) is None:
        raise BadArgs(
            f"rows[{i}].masked_name must be a masked display name like 张*三 (a letter, 1-4 "
            "'*', optionally a last letter; no digits): full names are never published"
        )
    return value


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a disclosure's published content."""
    return hashlib.sha256(canonical(content)).hexdigest()


def window_end_ms(published_ms: int, working_days: int) -> int:
    """End (midnight, UTC+8) of the ``working_days``-th Monday-to-Friday after publication.

    Public holidays are not modelled: a calendar would have to be agreed on chain first.
    """
    day = (published_ms + CST_OFFSET_MS) // DAY_MS
    weeks, rest = divmod(working_days, 5)
    day += 7 * weeks
    if rest == 0:
        while (day + EPOCH_WEEKDAY) % 7 >= 5:  # land on the last working day, not a weekend
            day -= 1
    while rest:
        day += 1
        if (day + EPOCH_WEEKDAY) % 7 < 5:
            rest -= 1
    return (day + 1) * DAY_MS - CST_OFFSET_MS


def _expected_rows(
    act: Action, village: str, period: str, cycle_ids: list[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(entitlement id -> row fields, program id -> public program) from the ledger's records."""
    records = act.records
    expected: dict[str, dict[str, Any]] = {}
    programs: dict[str, dict[str, Any]] = {}
    villages: dict[str, str] = {}
    for cycle_id in cycle_ids:
        cycle = records.need("cycle", cycle_id, "cycle")
        if cycle["status"] not in DISCLOSED_CYCLE_STATES or cycle["period"] != period:
            raise WrongState(
                f"cycle {cycle_id} is {cycle['status']} for {cycle['period']}: a disclosure "
                f"covers approved cycles of {period}"
            )
        program = records.need("program", cycle["program"], "program")
        if not area_contains(program["area"], village):
            raise WrongState(f"cycle {cycle_id}'s program does not cover village {village}")
        programs[cycle["program"]] = {
            "id": cycle["program"],
            "name": program["name"],
            "purpose": program["purpose"],
            "category": program["category"],
        }
        for ent_id in cycle_entitlements(records, cycle_id, cycle):
            ent = records.need("entitlement", ent_id)
            hh = ent["household"]
            if hh not in villages:
                villages[hh] = records.need("household", hh, "household")["village"]
            if villages[hh] == village:
                expected[ent_id] = {"program": ent["program"], "amount_fen": ent["amount"]}
    return expected, programs


def _rows_arg(act: Action) -> list[tuple[str, str]]:
    raw = act.args.list_of("rows", max_items=MAX_DISCLOSURE_ROWS)
    out = []
    for i, row in enumerate(raw):
        if not isinstance(row, dict) or set(row) != {"entitlement", "masked_name"}:
            raise BadArgs(f'rows[{i}] must be {{"entitlement": id, "masked_name": "张*三"}}')
        if not isinstance(row["entitlement"], str) or not 0 < len(row["entitlement"]) <= 64:
            raise BadArgs(f"rows[{i}].entitlement must be an entitlement id")
        out.append((row["entitlement"], check_masked_name(row["masked_name"], i)))
    return out


def record_content(record: dict[str, Any]) -> dict[str, Any]:
    """The published content of a disclosure record (what its ``content_hash`` covers)."""
    return public_content(
        record["village"], record["period"], record["program_info"], record["rows"]
    )


def public_content(
    village: str, period: str, programs: list[dict[str, Any]], rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """What the public sees and the content hash covers: no entitlement or household ids."""
    return {
        "village": village,
        "period": period,
        "programs": programs,
        "rows": [
            {
                "masked_name": r["masked_name"],
                "village": village,
                "program": r["program"],
                "amount_fen": r["amount_fen"],
            }
            for r in rows
        ],
        "count": len(rows),
        "total_fen": sum(r["amount_fen"] for r in rows),
    }


def disclosure_draft(act: Action) -> None:
    a = act.args
    village = a.area("village", level="village")  # disclosures are per village
    period = check_period(a.text("period", max_chars=7))
    cycle_ids = a.list_of("cycles", max_items=MAX_DISCLOSURE_CYCLES)
    rows = _rows_arg(act)
    a.done()
    if not cycle_ids or not all(isinstance(c, str) and 0 < len(c) <= 64 for c in cycle_ids):
        raise BadArgs(f"cycles must list 1..{MAX_DISCLOSURE_CYCLES} cycle ids")
    if len(set(cycle_ids)) != len(cycle_ids):
        raise BadArgs("cycles lists a cycle twice")
    grant = require_role(act.records, act.ctx.signer, "handler", village)
    expected, programs = _expected_rows(act, village, period, [str(c) for c in cycle_ids])
    given = dict(rows)
    if len(given) != len(rows):
        raise BadArgs("rows list an entitlement twice")
    missing = sorted(set(expected) - set(given))
    extra = sorted(set(given) - set(expected))
    if missing or extra:
        raise BadArgs(
            f"rows must be exactly the {len(expected)} entitlements of these cycles in village "
            f"{village}: {len(missing)} missing, {len(extra)} not among them",
            missing=missing[:10],
            extra=extra[:10],
        )
    if not expected:
        raise WrongState(f"these cycles pay no household of village {village}")
    full = sorted(
        ({"entitlement": e, "masked_name": given[e], **expected[e]} for e in expected),
        key=lambda r: (r["program"], r["entitlement"]),
    )
    program_info = sorted(programs.values(), key=_by_id)
    content = public_content(village, period, program_info, full)
    ident = act.ctx.new_id("disclosure")
    record = {
        "area": village,
        "village": village,
        "period": period,
        "cycles": sorted(str(c) for c in cycle_ids),
        "programs": sorted(programs),
        "program_info": program_info,
        "rows": full,
        "count": content["count"],
        "total_fen": content["total_fen"],
        "content_hash": content_hash(content),
        "status": "draft",
        "drafter": act.ctx.signer,
        "org": grant[2],
        "created_height": act.ctx.height,
        "created_time": act.ctx.time_ms,
        "objections": [],
    }
    act.records.put("disclosure", ident, record)
    act.touch("disclosure", ident)
    act.emit(
        "disclosure_drafted",
        disclosure=ident,
        village=village,
        period=period,
        count=record["count"],
        total_fen=record["total_fen"],
        content_hash=record["content_hash"],
    )


def _by_id(program: dict[str, Any]) -> str:
    return str(program["id"])


def disclosure_publish(act: Action) -> None:
    ident = act.args.text("disclosure")
    act.args.done()
    records = act.records
    record = records.need("disclosure", ident, "disclosure")
    if record["status"] != "draft":
        raise WrongState(f"disclosure {ident} is {record['status']}; only a draft is published")
    if act.ctx.signer == record["drafter"]:
        raise WrongRole(f"the handler who drafted disclosure {ident} cannot publish it")
    require_role(records, act.ctx.signer, "approver", record["village"])
    days = current_policy(records).objection_working_days
    record.update(
        status="published",
        publisher=act.ctx.signer,
        published_height=act.ctx.height,
        published_time=act.ctx.time_ms,
        window_end_ms=window_end_ms(act.ctx.time_ms, days),
    )
    records.put("disclosure", ident, record)
    act.touch("disclosure", ident)
    act.emit(
        "disclosure_published",
        disclosure=ident,
        village=record["village"],
        period=record["period"],
        content_hash=record["content_hash"],
        window_end_ms=record["window_end_ms"],
    )


def _role_over(
    records: Records, account: str, area: str, roles: tuple[str, ...] | None = None
) -> list[str]:
    """A grant of one of ``roles`` (any role if None) covering ``area``; WrongRole if none."""
    for grant in grants_of(records, account):
        if (roles is None or grant[0] in roles) and area_contains(grant[1], area):
            return grant
    wanted = "no role" if roles is None else "no " + " or ".join(roles) + " role"
    raise WrongRole(f"account {account[:12]}… holds {wanted} over {area}")


def open_grievance(records: Records, grievance_id: str) -> dict[str, Any] | None:
    """The grievance if it is still open; None once resolved or closed.

    Grievances are aid/grievances.py's kind: ``links`` lists the objects it is about
    (``{"kind": "disclosure", "id": ...}``), ``status`` its lifecycle state.
    """
    if "grievance" not in KINDS:
        raise UnknownEntity("this chain records no grievances", entity="grievance")
    grievance = records.need("grievance", grievance_id, "grievance")
    return None if grievance["status"] in CLOSED_GRIEVANCE_STATES else grievance


def hold(records: Records, ident: str, grievance_id: str, now_ms: int) -> dict[str, Any]:
    """Record an open grievance about disclosure ``ident`` as an objection holding its close.

    Also callable by the grievance module when it files a grievance linked to a disclosure.
    """
    record = records.need("disclosure", ident, "disclosure")
    if record["status"] != "published" or now_ms > record["window_end_ms"]:
        raise WrongState(f"disclosure {ident} takes objections only while its window runs")
    grievance = open_grievance(records, grievance_id)
    if grievance is None:
        raise WrongState(f"grievance {grievance_id} is already resolved or closed")
    if {"kind": "disclosure", "id": ident} not in grievance.get("links", []):
        raise BadArgs(f"grievance {grievance_id} is not linked to disclosure/{ident}")
    if grievance_id in record["objections"]:
        raise WrongState(f"grievance {grievance_id} already holds disclosure {ident}")
    if len(record["objections"]) >= MAX_OBJECTIONS:
        raise BadArgs(f"a disclosure carries at most {MAX_OBJECTIONS} objections")
    record["objections"].append(grievance_id)
    records.put("disclosure", ident, record)
    return record


def disclosure_object(act: Action) -> None:
    a = act.args
    ident = a.text("disclosure")
    grievance_id = a.text("grievance")
    a.done()
    record = act.records.need("disclosure", ident, "disclosure")
    _role_over(act.records, act.ctx.signer, record["village"])
    hold(act.records, ident, grievance_id, act.ctx.time_ms)
    act.touch("disclosure", ident)
    act.emit("disclosure_objection", disclosure=ident, grievance=grievance_id)


def disclosure_close(act: Action) -> None:
    ident = act.args.text("disclosure")
    act.args.done()
    records = act.records
    record = records.need("disclosure", ident, "disclosure")
    if record["status"] != "published":
        raise WrongState(f"disclosure {ident} is {record['status']}; only a published one closes")
    _role_over(records, act.ctx.signer, record["village"], ("handler", "approver"))
    if act.ctx.time_ms <= record["window_end_ms"]:
        left_s = (record["window_end_ms"] - act.ctx.time_ms) // 1000 + 1
        raise NoticeNotOver(
            f"disclosure {ident}'s objection window runs {left_s} s more", left_s=left_s
        )
    held = [g for g in record["objections"] if open_grievance(records, g) is not None]
    if held:
        raise NoticeNotOver(
            f"disclosure {ident} is held by {len(held)} open objection(s)", grievances=held
        )
    record.update(status="closed", closed_height=act.ctx.height, closed_time=act.ctx.time_ms)
    records.put("disclosure", ident, record)
    act.touch("disclosure", ident)
    act.emit("disclosure_closed", disclosure=ident)
