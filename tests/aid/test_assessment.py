"""Assessment: every figure of the report recounted from the records the actions left."""

from __future__ import annotations

from typing import Any

import pytest

from aid.assessment import assessment_report, overdue_pairings, period_bounds
from aid.cycles import entitlement_id
from aid.errors import BadArgs, UnknownArea
from aid.state import Records
from tests.aid.helpers import MemoryChain
from tests.aid.money import BANKER, approved_cycle, batch, fund_program, households
from tests.aid.oversight import (
    CADRE,
    COUNTY,
    DAY_MS,
    DISPATCHER,
    HASH,
    REVIEWER,
    VILLAGE_CADRE,
    YEAR,
    oversight_chain,
    sweep,
    with_monitoring,
)

START, END = period_bounds("2026")


def test_period_bounds() -> None:
    assert period_bounds("2026-12")[1] == period_bounds("2027")[0]
    assert period_bounds("2026-02")[1] - period_bounds("2026-02")[0] == 28 * DAY_MS
    for bad in ("2026-13", "26", "2026-1", 2026):
        with pytest.raises(BadArgs):
            period_bounds(bad)  # type: ignore[arg-type]


@pytest.fixture
def county() -> tuple[MemoryChain, dict[str, Any]]:
    """Two pairings (one visited, one left overdue), two alerts, a paid program."""
    chain = oversight_chain()
    chain.time_ms = START
    with_monitoring(chain)
    program = fund_program(chain)
    hhs = households(chain, 3)
    chain.act(DISPATCHER, "pairing.bind", household=hhs[0], cadre=CADRE.public_hex)
    visited = chain.last_id("pairing")
    chain.act(DISPATCHER, "pairing.bind", household=hhs[1], cadre=VILLAGE_CADRE.public_hex)
    for _ in range(3):
        chain.time_ms += 20 * DAY_MS
        chain.act(CADRE, "visit.record", pairing=visited, measure="industry", findings_hash=HASH)
    chain.rules.evaluate = lambda args: {"level": "yellow", "reason": "near the line"}
    alerts = []
    for hh in hhs[:2]:
        out = chain.act(
            REVIEWER, "indicator.report", household=hh, indicator="job_loss", value=1, year=YEAR
        )
        alerts.append(out.events[0]["alert"])
    chain.act(DISPATCHER, "alert.assign", alert=alerts[0], owner=CADRE.public_hex)
    chain.act(DISPATCHER, "alert.assign", alert=alerts[1], owner=CADRE.public_hex)
    chain.act(REVIEWER, "alert.dismiss", alert=alerts[0], reason="misreported")  # in time
    chain.time_ms += 16 * DAY_MS
    sweep(chain)  # alerts[1] escalates
    cycle = approved_cycle(chain, program, hhs, period="2026-05")
    b = batch(chain, cycle, 3, 150_000)
    chain.time_ms += 2 * DAY_MS
    rows = [
        {"entitlement": entitlement_id(program, "2026-05", hh), "outcome": "paid",
         "amount": 50_000, "bank_ref": f"R{n}"}
        for n, hh in enumerate(hhs[:2])
    ]  # fmt: skip
    chain.act(BANKER, "payment.report", batch=b, results=rows)
    chain.time_ms += 10 * DAY_MS
    last = {"entitlement": entitlement_id(program, "2026-05", hhs[2]), "outcome": "failed",
            "amount": 50_000, "code": "account_closed"}  # fmt: skip
    chain.act(BANKER, "payment.report", batch=b, results=[last])
    return chain, {"program": program, "alerts": alerts, "visited": visited}


def test_the_assessment_report_recounts_the_records(
    county: tuple[MemoryChain, dict[str, Any]],
) -> None:
    chain, ids = county
    now = chain.time_ms
    report = assessment_report(Records(chain), chain, COUNTY, "2026", now)
    assert report["truncated"] == []
    cadres = {row["account"]: row for row in report["cadres"]}
    elapsed = now - Records(chain).need("pairing", ids["visited"])["created_time"]
    assert cadres[CADRE.public_hex]["visits_done"] == 3
    assert cadres[CADRE.public_hex]["visits_due"] == elapsed // (30 * DAY_MS)
    assert cadres[VILLAGE_CADRE.public_hex]["visits_done"] == 0
    assert cadres[VILLAGE_CADRE.public_hex]["overdue_now"] == 1
    orgs = {row["org"]: row for row in report["organisations"]}
    assert orgs["office"]["visits_done"] == 3 and orgs["village"]["pairings"] == 1
    owner = {row["account"]: row for row in report["alert_owners"]}[CADRE.public_hex]
    # alerts[1] escalated to orange and is past that deadline too
    assert (owner["closed"], owner["closed_in_time"], owner["overdue_now"]) == (1, 1, 1)
    office = {row["org"]: row for row in report["alert_orgs"]}["office"]
    assert (office["closed"], office["closed_in_time"], office["overdue_now"]) == (1, 1, 1)
    bank = report["banks"][0]
    assert bank["bank"] == "bank" and bank["reported"] == 3
    assert (bank["in_time"], bank["failed"]) == (2, 1)
    program = report["programs"][0]
    assert program["targets"] == [{"metric": "households_paid", "target": 3, "actual": 2}]


def test_a_month_without_activity_counts_nothing(
    county: tuple[MemoryChain, dict[str, Any]],
) -> None:
    chain, _ = county
    report = assessment_report(Records(chain), chain, COUNTY, "2026-11", chain.time_ms)
    assert all(row["visits_done"] == 0 for row in report["cadres"])
    assert report["banks"] == []


def test_another_county_sees_nothing(county: tuple[MemoryChain, dict[str, Any]]) -> None:
    chain, _ = county
    report = assessment_report(Records(chain), chain, "530103000000", "2026", chain.time_ms)
    assert report["cadres"] == report["programs"] == report["alert_owners"] == []
    with pytest.raises(UnknownArea):
        assessment_report(Records(chain), chain, "5301", "2026", chain.time_ms)
    with pytest.raises(UnknownArea, match="530102009000 is not in this chain's area tree"):
        assessment_report(Records(chain), chain, "530102009000", "2026", chain.time_ms)
    with pytest.raises(UnknownArea, match="530102009000 is not in this chain's area tree"):
        overdue_pairings(Records(chain), chain, "530102009000", chain.time_ms)


def test_overdue_pages_resume_from_the_cursor(county: tuple[MemoryChain, dict[str, Any]]) -> None:
    chain, _ = county
    chain.time_ms += 100 * DAY_MS
    first = overdue_pairings(Records(chain), chain, COUNTY, chain.time_ms, limit=1)
    assert len(first.items) == 1 and first.next_cursor is not None
    rest = overdue_pairings(Records(chain), chain, COUNTY, chain.time_ms, first.next_cursor, 1)
    assert len(rest.items) == 1 and rest.items[0]["id"] != first.items[0]["id"]
    with pytest.raises(BadArgs, match="cursor"):
        overdue_pairings(Records(chain), chain, COUNTY, chain.time_ms, "alert/x", 1)
