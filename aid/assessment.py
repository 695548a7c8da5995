"""Assessment (考核): how well the people and programs of an area did in a period, from records.

Pure reads over the ledger's records and its read-side index (like aid/reads.py): nothing here is
stored, every figure is a count or sum over records anyone can list with ``aid_list``.

- per cadre and per organisation: visits done in the period against visits due (each pairing
  owes one visit per cadence of its household that fell in the period while it was active),
  pairings overdue now; alerts closed (resolved or dismissed) and how many of those in time
  (never escalated), alerts open past their deadline; grievances resolved and how many in time,
  grievances overdue;
- per bank: payment timeliness, the bank's outcome reports against its batches' creation (paid
  within ``policy.payment_deadline_s`` or later), and failures;
- per program: each performance target against the actual figure (``households_paid``,
  ``amount_paid_fen``, ``committed_fen``, ``cycles_closed``; any other metric is reported with
  ``actual: null``: the ledger does not measure it).

Reads are bounded: at most ``MAX_REPORT_ROWS`` records of each kind are looked at, and
``truncated`` names the kinds where the bound cut the report.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from aid.areas import area_prefix, require_in_tree
from aid.errors import BadArgs
from aid.policy import current_policy
from aid.reads import MAX_PAGE, Page, ReadIndex, _page_size
from aid.state import Records

MAX_REPORT_ROWS = 50_000  # records of one kind one report looks at
MAX_OVERDUE_SCAN = 5_000  # active pairings one overdue page looks at
_PERIOD = re.compile(r"^(20\d\d)(?:-(0[1-9]|1[0-2]))?$")


def period_bounds(period: str) -> tuple[int, int]:
    """[start, end) in ms (UTC) of a year ``YYYY`` or a month ``YYYY-MM``."""
    match = _PERIOD.match(period) if isinstance(period, str) else None
    if match is None:
        raise BadArgs("period must be a year like 2026 or a month like 2026-11")
    year, month = int(match.group(1)), match.group(2)
    if month is None:
        start, end = (year, 1), (year + 1, 1)
    else:
        m = int(month)
        start, end = (year, m), (year + (m == 12), m % 12 + 1)
    return _ms(*start), _ms(*end)


def _ms(year: int, month: int) -> int:
    return calendar.timegm((year, month, 1, 0, 0, 0, 0, 0, 0)) * 1000


def _scan(
    records: Records, index: ReadIndex, kind: str, prefix: str, cut: set[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, record) of every entity under an index prefix, at most MAX_REPORT_ROWS."""
    after: str | None = None
    seen = 0
    while True:
        rows = index.scan(prefix, after, MAX_PAGE)
        for key, _ in rows:
            if seen == MAX_REPORT_ROWS:
                cut.add(kind)
                return
            seen += 1
            ident = key.rsplit("/", 1)[1]
            record = records.get(kind, ident)
            assert record is not None, f"index key {key} points at a missing {kind}"
            yield ident, record
        if len(rows) < MAX_PAGE:
            return
        after = rows[-1][0]


def overdue_pairings(
    records: Records,
    index: ReadIndex,
    area: str,
    now_ms: int,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page:
    """Active pairings in ``area`` whose next visit was due before ``now_ms``, by area.

    Looks at up to MAX_OVERDUE_SCAN active pairings per call; ``next_cursor`` resumes the scan.
    """
    prefix = f"pairing/status/active/{area_prefix(require_in_tree(records.peek, area))}"
    size = _page_size(limit)
    if cursor is not None and not (isinstance(cursor, str) and cursor.startswith(prefix)):
        raise BadArgs("cursor does not belong to this listing; start again without one")
    items: list[dict[str, Any]] = []
    after, scanned = cursor, 0
    while len(items) < size and scanned < MAX_OVERDUE_SCAN:
        rows = index.scan(prefix, after, min(MAX_PAGE, MAX_OVERDUE_SCAN - scanned))
        for key, _ in rows:
            scanned += 1
            after = key
            ident = key.rsplit("/", 1)[1]
            pairing = records.get("pairing", ident)
            assert pairing is not None, f"index key {key} points at a missing pairing"
            if pairing["next_due_ms"] < now_ms:
                overdue = now_ms - pairing["next_due_ms"]
                items.append({"kind": "pairing", "id": ident, **pairing, "overdue_ms": overdue})
                if len(items) == size:
                    break
        if len(rows) < MAX_PAGE:
            if len(items) < size:
                after = None  # the scan reached the end
            break
    return Page(items, after)


def _person() -> dict[str, int]:
    return defaultdict(int)


def _visits(
    records: Records, index: ReadIndex, area: str, window: tuple[int, int], now: int, cut: set[str]
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    start, end = window
    policy = current_policy(records)
    cadres: dict[str, dict[str, int]] = defaultdict(_person)
    orgs: dict[str, dict[str, int]] = defaultdict(_person)
    prefix = f"pairing/area/{area_prefix(area)}"
    for _, pairing in _scan(records, index, "pairing", prefix, cut):
        hh = records.get("household", pairing["household"]) or {"labels": []}
        cadence = policy.visit_cadence_ms(hh["labels"], bool(hh.get("monitored")))
        alive_to = pairing["ended_ms"] if pairing["ended_ms"] is not None else now
        overlap = min(end, alive_to) - max(start, pairing["created_time"])
        due = max(0, overlap) // cadence
        overdue = int(pairing["status"] == "active" and pairing["next_due_ms"] < now)
        for row in (cadres[pairing["cadre"]], orgs[pairing["cadre_org"]]):
            row["pairings"] += 1
            row["visits_due"] += due
            row["overdue_now"] += overdue
    for _, visit in _scan(records, index, "visit", f"visit/area/{area_prefix(area)}", cut):
        if visit["status"] == "recorded" and start <= visit["created_time"] < end:
            cadres[visit["cadre"]]["visits_done"] += 1
            orgs[visit["org"]]["visits_done"] += 1
    return cadres, orgs


def _handled(
    records: Records,
    index: ReadIndex,
    kind: str,
    area: str,
    window: tuple[int, int],
    now: int,
    cut: set[str],
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Per owner/handler and per its organisation: closed in the period, closed in time (never
    escalated), open past the deadline now."""
    start, end = window
    people: dict[str, dict[str, int]] = defaultdict(_person)
    orgs: dict[str, dict[str, int]] = defaultdict(_person)
    who, done_at, open_states = (
        ("owner", "closed_time", ("raised", "assigned", "verified", "intervened"))
        if kind == "alert"
        else ("handler", "resolved_time", ("received", "assigned", "in_progress"))
    )
    for _, record in _scan(records, index, kind, f"{kind}/area/{area_prefix(area)}", cut):
        rows = (people[record[who] or "unassigned"], orgs[record[f"{who}_org"] or "unassigned"])
        closed = record[done_at] is not None and start <= record[done_at] < end
        late = record["status"] in open_states and record["deadline"] < now
        for row in rows:
            row["closed"] += int(closed)
            row["closed_in_time"] += int(closed and not record["escalations"])
            row["overdue_now"] += int(late)
    return people, orgs


def _programs(
    records: Records, index: ReadIndex, area: str, window: tuple[int, int], cut: set[str]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]]]:
    policy = current_policy(records)
    out: list[dict[str, Any]] = []
    banks: dict[str, dict[str, int]] = defaultdict(_person)
    for ident, program in _scan(
        records, index, "program", f"program/area/{area_prefix(area)}", cut
    ):
        paid: set[str] = set()
        closed = 0
        for cycle_id, cycle in _scan(records, index, "cycle", f"cycle/program/{ident}/", cut):
            closed += int(cycle["status"] == "closed")
            prefix = f"entitlement/program/{ident}/{cycle['period']}/"
            batches = {
                b: r for b, r in _scan(records, index, "batch", f"batch/cycle/{cycle_id}/", cut)
            }
            for _, ent in _scan(records, index, "entitlement", prefix, cut):
                if ent.get("cycle") != cycle_id:
                    continue
                if ent["status"] in ("paid", "delivered"):
                    paid.add(ent["household"])
                _payment_times(ent, batches, banks, window, policy.payment_deadline_s * 1000)
        actual = {
            "households_paid": len(paid),
            "amount_paid_fen": program["paid"],
            "committed_fen": program["committed"],
            "cycles_closed": closed,
        }
        out.append(
            {
                "program": ident,
                "name": program["name"],
                "area": program["area"],
                "status": program["status"],
                "targets": [{**t, "actual": actual.get(t["metric"])} for t in program["targets"]],
            }
        )
    return out, banks


def _payment_times(
    ent: dict[str, Any],
    batches: dict[str, dict[str, Any]],
    banks: dict[str, dict[str, int]],
    window: tuple[int, int],
    deadline_ms: int,
) -> None:
    for attempt in ent["attempts"]:
        batch = batches.get(attempt.get("batch", ""))
        if batch is None or attempt.get("outcome") is None:
            continue
        if not window[0] <= attempt["time_ms"] < window[1]:
            continue
        row = banks[batch["bank"]]
        row["reported"] += 1
        row["failed"] += int(attempt["outcome"] == "failed")
        row["in_time"] += int(attempt["time_ms"] - batch["time_ms"] <= deadline_ms)
        row["delay_ms_total"] += attempt["time_ms"] - batch["time_ms"]


def assessment_report(
    records: Records, index: ReadIndex, area: str, period: str, now_ms: int
) -> dict[str, Any]:
    """The assessment of ``area`` (and everything below it) for ``period`` (YYYY or YYYY-MM)."""
    window = period_bounds(period)
    require_in_tree(records.peek, area)  # a code outside the tree: UnknownArea
    cut: set[str] = set()
    cadres, orgs = _visits(records, index, area, window, now_ms, cut)
    alerts, alert_orgs = _handled(records, index, "alert", area, window, now_ms, cut)
    grievances, grievance_orgs = _handled(records, index, "grievance", area, window, now_ms, cut)
    programs, banks = _programs(records, index, area, window, cut)
    return {
        "area": area,
        "period": period,
        "from_ms": window[0],
        "to_ms": window[1],
        "as_of_ms": now_ms,
        "cadres": _rows(cadres, "account", VISIT_FIELDS),
        "organisations": _rows(orgs, "org", VISIT_FIELDS),
        "alert_owners": _rows(alerts, "account", HANDLED_FIELDS),
        "alert_orgs": _rows(alert_orgs, "org", HANDLED_FIELDS),
        "grievance_handlers": _rows(grievances, "account", HANDLED_FIELDS),
        "grievance_orgs": _rows(grievance_orgs, "org", HANDLED_FIELDS),
        "banks": _rows(banks, "bank", BANK_FIELDS),
        "programs": programs,
        "truncated": sorted(cut),
    }


VISIT_FIELDS = ("pairings", "visits_due", "visits_done", "overdue_now")
HANDLED_FIELDS = ("closed", "closed_in_time", "overdue_now")
BANK_FIELDS = ("reported", "in_time", "failed", "delay_ms_total")


def _rows(
    table: dict[str, dict[str, int]], name: str, fields: tuple[str, ...]
) -> list[dict[str, Any]]:
    return [{name: key, **{f: table[key][f] for f in fields}} for key in sorted(table)]
