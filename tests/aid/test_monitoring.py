"""Monitoring: rules contract per area, indicators, alerts, escalation, monitored, exit criteria."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aid import deadlines
from aid.errors import BadArgs, RuleFailed, UnknownEntity, WrongArea, WrongRole, WrongState
from aid.reads import list_entities
from aid.registry import payable
from aid.rules import household_view
from aid.state import Records
from contracts import runtime
from tests.aid.helpers import APPROVER, CIVIL, MemoryChain, key
from tests.aid.oversight import (
    CADRE,
    CIVIL_REVIEWER,
    COUNTY,
    DAY_MS,
    DISPATCHER,
    FIN_APPROVER,
    GRID,
    HASH,
    MONITOR,
    OFFICE_APPROVER,
    REVIEWER,
    VILLAGE,
    YEAR,
    history_actions,
    household,
    oversight_chain,
    record,
    sweep,
    with_monitoring,
)


@pytest.fixture
def chain() -> MemoryChain:
    c = oversight_chain()
    with_monitoring(c)
    return c


def level_by_income(args: dict[str, Any]) -> Any:
    """A stand-in for the contract: below 5,000 yuan red, below 8,800 yellow; medical orange."""
    values = args["indicators"]
    if values.get("income_per_head_yuan", 99_999) < 5000:
        return {"level": "red", "reason": "far below the line"}
    if values.get("medical_expense_yuan", 0) > 10_000:
        return {"level": "orange", "reason": "large medical bill"}
    if values.get("income_per_head_yuan", 99_999) < 8800:
        return {"level": "yellow", "reason": "near the line"}
    return None


def report(chain: MemoryChain, hh: str, indicator: str, value: int, signer: Any = REVIEWER) -> Any:
    chain.rules.evaluate = level_by_income
    return chain.act(
        signer, "indicator.report", household=hh, indicator=indicator, value=value, year=YEAR
    )


def raised(chain: MemoryChain, hh: str, income: int = 8000) -> str:
    out = report(chain, hh, "income_per_head_yuan", income)
    alert = out.events[0]["alert"]
    assert alert is not None
    return str(alert)


# --- the rules contract of an area ---------------------------------------------------------
def test_the_rules_contract_takes_two_organisations() -> None:
    chain = oversight_chain()
    with pytest.raises(WrongState, match="no monitoring rules contract is proposed"):
        chain.act(FIN_APPROVER, "monitoring.rules", area=COUNTY, step="confirm")
    with pytest.raises(WrongRole, match="approver of a poverty_office"):
        chain.act(FIN_APPROVER, "monitoring.rules", area=COUNTY, step="propose", contract=MONITOR)
    chain.act(OFFICE_APPROVER, "monitoring.rules", area=COUNTY, step="propose", contract=MONITOR)
    with pytest.raises(WrongRole, match="approver of a finance"):
        chain.act(APPROVER, "monitoring.rules", area=COUNTY, step="confirm")
    both = key("both")
    chain.grant(both, "approver", COUNTY, "fin")
    chain.grant(both, "approver", COUNTY, "office")
    chain.act(both, "monitoring.rules", area=COUNTY, step="propose", contract="ee" * 32)
    with pytest.raises(WrongRole, match="cannot confirm"):
        chain.act(both, "monitoring.rules", area=COUNTY, step="confirm")
    chain.act(FIN_APPROVER, "monitoring.rules", area=COUNTY, step="confirm")
    assert Records(chain).need("monrules", COUNTY)["active"] == "ee" * 32


def test_without_rules_an_indicator_is_refused() -> None:
    chain = oversight_chain()
    hh = household(chain)
    before = dict(chain.state)
    with pytest.raises(WrongState, match="no monitoring rules contract covers"):
        report(chain, hh, "income_per_head_yuan", 100)
    assert chain.state == before


def test_the_nearest_area_with_rules_decides(chain: MemoryChain) -> None:
    township = VILLAGE[:9] + "000"
    chain.act(
        OFFICE_APPROVER, "monitoring.rules", area=township, step="propose", contract="ee" * 32
    )
    chain.act(FIN_APPROVER, "monitoring.rules", area=township, step="confirm")
    seen: list[str] = []
    chain.rules.call = lambda program, contract, hook, args: seen.append(contract)
    hh = household(chain)
    chain.act(REVIEWER, "indicator.report", household=hh, indicator="job_loss", value=1, year=YEAR)
    assert seen == ["ee" * 32]


# --- indicators ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("signer", "indicator", "value", "error", "message"),
    [
        (REVIEWER, "medical_expense_yuan", 5, WrongRole, "reviewer of a civil_affairs"),
        (CIVIL_REVIEWER, "income_per_head_yuan", 5, WrongRole, "reviewer of a poverty_office"),
        (CADRE, "disaster", 1, WrongRole, "this action is for"),
        (REVIEWER, "disaster", 2, BadArgs, "value must be an integer from 0 to 1"),
        (REVIEWER, "income_per_head_yuan", -1, BadArgs, "value must be"),
        (REVIEWER, "rainfall", 1, BadArgs, "indicator must be one of"),
    ],
)
def test_indicator_refusals_change_nothing(
    chain: MemoryChain,
    signer: Any,
    indicator: str,
    value: int,
    error: type[Exception],
    message: str,
) -> None:
    hh = household(chain)
    before = dict(chain.state)
    with pytest.raises(error, match=message):
        report(chain, hh, indicator, value, signer=signer)
    assert chain.state == before


def test_an_indicator_from_outside_the_area_is_refused(chain: MemoryChain) -> None:
    far = key("far-rev")
    chain.grant(far, "reviewer", "530103000000", "office2")
    hh = household(chain)
    with pytest.raises(WrongArea):
        report(chain, hh, "income_per_head_yuan", 100, signer=far)


def test_reports_that_raise_nothing_are_kept(chain: MemoryChain) -> None:
    hh = household(chain)
    out = report(chain, hh, "income_per_head_yuan", 12_000, signer=GRID)
    ind = record(chain, "indicator", out.events[0]["indicator_id"])
    assert ind["alert"] is None and ind["level"] is None and ind["org"] == "village"
    assert ind["area"] == VILLAGE and ind["status"] == "evaluated"
    assert Records(chain).need("hind", hh) == {
        "year": YEAR,
        "values": {"income_per_head_yuan": 12_000},
    }


def test_the_contract_sees_the_latest_indicators_of_the_year(chain: MemoryChain) -> None:
    hh = household(chain)
    report(chain, hh, "income_per_head_yuan", 12_000)
    seen: list[dict[str, Any]] = []
    chain.rules.evaluate = lambda args: seen.append(args)
    chain.act(
        CIVIL_REVIEWER,
        "indicator.report",
        household=hh,
        indicator="medical_expense_yuan",
        value=20_000,
        year=YEAR,
    )
    assert seen[0]["indicators"] == {"income_per_head_yuan": 12_000, "medical_expense_yuan": 20_000}
    assert seen[0]["household"]["id"] == hh and "members" not in seen[0]["household"]
    with pytest.raises(WrongState, match="already has indicators of 2026"):
        chain.act(
            REVIEWER,
            "indicator.report",
            household=hh,
            indicator="job_loss",
            value=1,
            year=YEAR - 1,
        )


@pytest.mark.parametrize(
    "answer",
    [
        {"level": "purple", "reason": "x"},
        {"level": "red"},
        "red",
        1,
        {"level": "red", "reason": ""},
    ],
)
def test_a_bad_contract_answer_is_a_rule_failure(chain: MemoryChain, answer: Any) -> None:
    hh = household(chain)
    chain.rules.evaluate = lambda args: answer
    before = dict(chain.state)
    with pytest.raises(RuleFailed, match="monitoring rules answered"):
        chain.act(
            REVIEWER, "indicator.report", household=hh, indicator="job_loss", value=1, year=YEAR
        )
    assert chain.state == before


def test_a_raised_alert_has_level_deadline_and_no_owner(chain: MemoryChain) -> None:
    hh = household(chain)
    alert = raised(chain, hh)
    a = record(chain, "alert", alert)
    assert (a["status"], a["level"], a["owner"]) == ("raised", "yellow", None)
    assert a["deadline"] == chain.time_ms + 15 * DAY_MS and a["area"] == VILLAGE
    assert a["created_time"] == chain.time_ms
    assert Records(chain).need("halert", hh) == {"alert": alert}


def test_one_open_alert_per_household_whose_level_only_rises(chain: MemoryChain) -> None:
    hh = household(chain)
    alert = raised(chain, hh, 8000)
    chain.time_ms += DAY_MS
    out = report(chain, hh, "income_per_head_yuan", 4000)
    assert out.events[0]["alert"] == alert
    a = record(chain, "alert", alert)
    assert a["level"] == "red" and a["deadline"] == chain.time_ms + 3 * DAY_MS
    assert a["reports"] == 2 and len(a["indicators"]) == 2
    report(chain, hh, "income_per_head_yuan", 8000)
    assert record(chain, "alert", alert)["level"] == "red"


# --- the alert lifecycle -------------------------------------------------------------------
def assign(chain: MemoryChain, alert: str, owner: Any = CADRE) -> None:
    chain.act(DISPATCHER, "alert.assign", alert=alert, owner=owner.public_hex)


def test_the_whole_lifecycle_and_monitored(chain: MemoryChain) -> None:
    hh = household(chain)
    alert = raised(chain, hh)
    assign(chain, alert)
    chain.act(CADRE, "alert.verify", alert=alert, findings_hash=HASH, monitored=True)
    hh_rec = record(chain, "household", hh)
    assert hh_rec["monitored"] is True and hh_rec["status"] == "registered"
    assert household_view(hh, hh_rec)["monitored"] is True
    chain.act(CADRE, "alert.intervene", alert=alert, measure="employment", note_hash=HASH)
    chain.act(CADRE, "alert.intervene", alert=alert, measure="health", note_hash=HASH)
    with pytest.raises(WrongRole, match="owner of alert"):
        chain.act(CADRE, "alert.resolve", alert=alert, reason="job found")
    chain.act(REVIEWER, "alert.resolve", alert=alert, reason="job found")
    a = record(chain, "alert", alert)
    assert a["status"] == "resolved" and len(a["interventions"]) == 2
    assert a["closed_by"] == REVIEWER.public_hex and a["resolution"] == "job found"
    assert "monitored" not in record(chain, "household", hh)
    assert Records(chain).get("halert", hh) is None
    assert history_actions(chain, "alert", alert) == [
        "indicator.report",
        "alert.assign",
        "alert.verify",
        "alert.intervene",
        "alert.intervene",
        "alert.resolve",
    ]


def test_resolving_may_keep_the_household_monitored(chain: MemoryChain) -> None:
    hh = household(chain)
    alert = raised(chain, hh)
    assign(chain, alert)
    chain.act(CADRE, "alert.verify", alert=alert, findings_hash=HASH, monitored=True)
    chain.act(CADRE, "alert.intervene", alert=alert, measure="employment", note_hash=HASH)
    chain.act(REVIEWER, "alert.resolve", alert=alert, reason="stable", keep_monitored=True)
    assert record(chain, "household", hh)["monitored"] is True


@pytest.mark.parametrize(
    ("step", "signer", "args", "error", "message"),
    [
        ("alert.assign", CADRE, {"owner": CADRE.public_hex}, WrongRole, "this action is for"),
        ("alert.assign", DISPATCHER, {"owner": GRID.public_hex}, WrongRole, "owner is a"),
        ("alert.verify", CADRE, {"findings_hash": HASH}, WrongState, "needs assigned"),
        ("alert.intervene", CADRE, {"measure": "x", "note_hash": HASH}, BadArgs, "measure"),
        ("alert.resolve", REVIEWER, {"reason": "ok"}, WrongState, "needs intervened"),
        ("alert.dismiss", REVIEWER, {}, BadArgs, "reason"),
        ("alert.dismiss", CADRE, {"reason": "x"}, WrongRole, "this action is for"),
        ("alert.dismiss", REVIEWER, {"reason": "x", "keep_monitored": True}, BadArgs, "unknown"),
    ],
)
def test_alert_refusals_change_nothing(
    chain: MemoryChain,
    step: str,
    signer: Any,
    args: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    alert = raised(chain, household(chain))
    before = dict(chain.state)
    with pytest.raises(error, match=message):
        chain.act(signer, step, alert=alert, **args)
    assert chain.state == before


def test_only_the_owner_verifies_and_intervenes(chain: MemoryChain) -> None:
    alert = raised(chain, household(chain))
    assign(chain, alert)
    with pytest.raises(WrongRole, match="only the owner"):
        chain.act(REVIEWER, "alert.verify", alert=alert, findings_hash=HASH)
    assign(chain, alert, owner=REVIEWER)  # reassigned before verification
    chain.act(REVIEWER, "alert.verify", alert=alert, findings_hash=HASH)
    with pytest.raises(WrongState, match="needs raised or assigned"):
        assign(chain, alert)


def test_dismissal_needs_a_reason_and_clears_monitored(chain: MemoryChain) -> None:
    hh = household(chain)
    alert = raised(chain, hh)
    assign(chain, alert)
    chain.act(CADRE, "alert.verify", alert=alert, findings_hash=HASH, monitored=True)
    chain.act(CIVIL_REVIEWER, "alert.dismiss", alert=alert, reason="income misreported")
    assert record(chain, "alert", alert)["status"] == "dismissed"
    assert "monitored" not in record(chain, "household", hh)
    with pytest.raises(WrongState):
        chain.act(REVIEWER, "alert.dismiss", alert=alert, reason="again")
    assert raised(chain, hh) != alert  # the household may be alerted again


# --- escalation ----------------------------------------------------------------------------
def test_an_overdue_alert_escalates_level_by_level(chain: MemoryChain) -> None:
    alert = raised(chain, household(chain))
    chain.time_ms += 15 * DAY_MS - 1
    sweep(chain)
    assert record(chain, "alert", alert)["level"] == "yellow"
    chain.time_ms += 1
    out = sweep(chain)
    a = record(chain, "alert", alert)
    assert a["level"] == "orange" and a["deadline"] == chain.time_ms + 7 * DAY_MS
    assert out.events[0]["name"] == "alert_escalated" and f"alert/{alert}" in out.touched
    chain.time_ms += 7 * DAY_MS
    sweep(chain)
    assert record(chain, "alert", alert)["level"] == "red"
    chain.time_ms += 3 * DAY_MS
    sweep(chain)
    a = record(chain, "alert", alert)
    assert a["level"] == "red" and a["overdue"] is True
    assert [e["to"] for e in a["escalations"]] == ["orange", "red", "overdue"]
    chain.time_ms += 30 * DAY_MS
    assert sweep(chain).events == ()  # overdue red: nothing further
    assert history_actions(chain, "alert", alert)[-3:] == ["end_block"] * 3


def test_a_closed_alert_does_not_escalate(chain: MemoryChain) -> None:
    alert = raised(chain, household(chain))
    chain.act(REVIEWER, "alert.dismiss", alert=alert, reason="duplicate report")
    chain.time_ms += 20 * DAY_MS
    assert sweep(chain).events == ()
    assert record(chain, "alert", alert)["level"] == "yellow"


def test_a_raised_level_moves_the_deadline_and_the_old_item_goes_stale(
    chain: MemoryChain,
) -> None:
    hh = household(chain)
    alert = raised(chain, hh, 8000)
    report(chain, hh, "income_per_head_yuan", 4000)  # red now, 3-day deadline
    chain.time_ms += 3 * DAY_MS
    sweep(chain)
    a = record(chain, "alert", alert)
    assert a["overdue"] is True and len(a["escalations"]) == 1
    chain.time_ms += 15 * DAY_MS  # the yellow deadline's item is stale
    sweep(chain)
    assert len(record(chain, "alert", alert)["escalations"]) == 1


def test_escalation_is_deterministic() -> None:
    def run() -> dict[str, Any]:
        c = oversight_chain()
        with_monitoring(c)
        for n in range(3):
            raised(c, household(c, n), 8000 - n)
        for _ in range(4):
            c.time_ms += 8 * DAY_MS
            sweep(c)
        return c.state

    assert run() == run()


class Items:
    def __init__(self) -> None:
        self.state: dict[str, Any] = {}

    def get(self, k: str) -> Any:
        return self.state.get(k)

    def set(self, k: str, v: Any) -> None:
        self.state[k] = v

    def delete(self, k: str) -> None:
        self.state.pop(k, None)


def test_the_sweep_is_bounded_per_block_and_keeps_deadline_order() -> None:
    state = Items()
    records = Records(state)
    n = deadlines.MAX_SWEEP_ITEMS + 10
    for i in reversed(range(n)):
        deadlines.schedule(records, "alert", f"a{i:04d}", 1_000 + i)
    seen: list[str] = []
    handled = deadlines.sweep(records, 10**7, lambda kind, ident, d: seen.append(ident))
    assert handled == deadlines.MAX_SWEEP_ITEMS
    assert seen == [f"a{i:04d}" for i in range(deadlines.MAX_SWEEP_ITEMS)]
    assert deadlines.sweep(records, 10**7, lambda kind, ident, d: seen.append(ident)) == 10
    assert seen == [f"a{i:04d}" for i in range(n)]
    assert records.get("dueq", "0000000000") is None


def test_the_sweep_catches_up_an_idle_chain_over_blocks() -> None:
    state = Items()
    records = Records(state)
    hours = deadlines.MAX_SWEEP_BUCKETS + 5
    deadlines.schedule(records, "alert", "first", 0)
    deadlines.schedule(records, "alert", "late", hours * deadlines.BUCKET_MS)
    seen: list[str] = []
    now = (hours + 1) * deadlines.BUCKET_MS
    deadlines.sweep(records, now, lambda kind, ident, d: seen.append(ident))
    assert seen == ["first"]  # the read bound stopped it among empty hours
    deadlines.sweep(records, now, lambda kind, ident, d: seen.append(ident))
    assert seen == ["first", "late"]
    assert deadlines.sweep(records, now, lambda kind, ident, d: seen.append(ident)) == 0


def test_alerts_list_by_status_and_level(chain: MemoryChain) -> None:
    alert = raised(chain, household(chain))
    page = list_entities(Records(chain), chain, "alert", {"level": "yellow", "area": COUNTY})
    assert [a["id"] for a in page.items] == [alert]
    page = list_entities(Records(chain), chain, "alert", {"status": "raised"})
    assert [a["id"] for a in page.items] == [alert]


# --- exit criteria -------------------------------------------------------------------------
def attest_all(chain: MemoryChain, hh: str, income: int = 9000) -> None:
    chain.act(
        REVIEWER,
        "exit.attest",
        household=hh,
        criterion="income",
        value=income,
        year=YEAR,
        evidence_hash=HASH,
    )
    for criterion, signer in (
        ("housing", GRID),
        ("schooling", REVIEWER),
        ("medical_insurance", CIVIL_REVIEWER),
        ("drinking_water", GRID),
    ):
        chain.act(
            signer, "exit.attest", household=hh, criterion=criterion, met=True, evidence_hash=HASH
        )


def test_lifting_needs_every_exit_criterion(chain: MemoryChain) -> None:
    hh = household(chain)
    with pytest.raises(WrongState, match="income, housing, schooling"):
        chain.act(APPROVER, "household.lift", household=hh, step="propose")
    attest_all(chain, hh, income=8800)  # not above the line of 8,800
    with pytest.raises(WrongState, match="exit criteria: income not attested"):
        chain.act(APPROVER, "household.lift", household=hh, step="propose")
    attest_all(chain, hh, income=8801)
    chain.act(APPROVER, "household.lift", household=hh, step="propose")
    second = key("appr2")
    chain.grant(second, "approver", COUNTY, "office")
    chain.time_ms += 7 * DAY_MS
    chain.act(second, "household.lift", household=hh, step="confirm")
    assert record(chain, "household", hh)["status"] == "lifted"
    assert payable(Records(chain), hh) is None  # lifted: programs no longer pay it
    alert = raised(chain, hh)  # a lifted household is still monitored
    assign(chain, alert)
    chain.act(CADRE, "alert.verify", alert=alert, findings_hash=HASH, monitored=True)
    # 脱贫不脱政策: while monitored, targeted programs may pay it again (their rules decide)
    assert payable(Records(chain), hh) is not None
    chain.act(CADRE, "alert.intervene", alert=alert, measure="employment", note_hash=HASH)
    chain.act(REVIEWER, "alert.resolve", alert=alert, reason="stable again")
    assert payable(Records(chain), hh) is None


@pytest.mark.parametrize(
    ("signer", "args", "error", "message"),
    [
        (GRID, {"criterion": "medical_insurance", "met": True}, WrongRole, "civil_affairs"),
        (REVIEWER, {"criterion": "housing"}, BadArgs, "says whether it is met"),
        (REVIEWER, {"criterion": "income", "value": 9000}, BadArgs, "year"),
        (CIVIL, {"criterion": "income", "value": 9000, "year": YEAR}, WrongRole, "poverty_office"),
        (REVIEWER, {"criterion": "luck", "met": True}, BadArgs, "criterion must be"),
    ],
)
def test_attestation_refusals_change_nothing(
    chain: MemoryChain, signer: Any, args: dict[str, Any], error: type[Exception], message: str
) -> None:
    hh = household(chain)
    before = dict(chain.state)
    with pytest.raises(error, match=message):
        chain.act(signer, "exit.attest", household=hh, evidence_hash=HASH, **args)
    assert chain.state == before
    with pytest.raises(UnknownEntity):
        chain.act(REVIEWER, "exit.attest", household="nope", criterion="housing", met=True,
                  evidence_hash=HASH)  # fmt: skip


# --- the system contracts in the real VM ---------------------------------------------------
MONITORING_PARAMS = {
    "lines": {"2026": 8800},
    "near_line_pct": 110,
    "red_income_pct": 60,
    "orange_medical_pct": 30,
    "red_medical_pct": 60,
}


def vm_chain(params: dict[str, Any] | None = None) -> MemoryChain:
    from tests.aid.test_rules_contract import deploy, use_vm

    chain = oversight_chain()
    text = (Path(runtime.__file__).parent / "system" / "monitoring_rules.py").read_text()
    address = deploy(chain, text, params or MONITORING_PARAMS)
    chain.act(OFFICE_APPROVER, "monitoring.rules", area=COUNTY, step="propose", contract=address)
    chain.act(FIN_APPROVER, "monitoring.rules", area=COUNTY, step="confirm")
    use_vm(chain)
    return chain


@pytest.mark.parametrize(
    ("indicator", "value", "signer", "level"),
    [
        ("income_per_head_yuan", 9000, REVIEWER, "yellow"),  # under 110 % of 8,800
        ("income_per_head_yuan", 8000, REVIEWER, "orange"),
        ("income_per_head_yuan", 5000, REVIEWER, "red"),
        ("income_per_head_yuan", 10_000, REVIEWER, None),
        ("medical_expense_yuan", 6400, CIVIL_REVIEWER, "orange"),  # 50 % of a year's income
        ("medical_expense_yuan", 12_800, CIVIL_REVIEWER, "red"),
        ("medical_expense_yuan", 1000, CIVIL_REVIEWER, None),
        ("disaster", 1, CIVIL_REVIEWER, "orange"),
        ("job_loss", 1, GRID, "yellow"),
    ],
)
def test_the_monitoring_contract_in_the_vm(
    indicator: str, value: int, signer: Any, level: str | None
) -> None:
    chain = vm_chain()
    # one member earning 12,800 yuan a year: above the near-line band, so only the report counts
    hh = household(chain, size=1, income_per_head_yuan=12_800)
    out = chain.act(
        signer, "indicator.report", household=hh, indicator=indicator, value=value, year=YEAR
    )
    assert out.events[0]["level"] == level


def test_the_province_line_comes_from_the_contract() -> None:
    chain = vm_chain({**MONITORING_PARAMS, "lines": {"2026": 9500}})
    hh = household(chain)
    chain.act(REVIEWER, "exit.attest", household=hh, criterion="income", value=9000, year=YEAR,
              evidence_hash=HASH)  # fmt: skip
    assert Records(chain).need("attest", hh)["income"]["met"] is False
    with pytest.raises(RuleFailed, match="no monitoring line is set for 2027"):
        chain.act(REVIEWER, "exit.attest", household=hh, criterion="income", value=9000,
                  year=2027, evidence_hash=HASH)  # fmt: skip


def test_a_bad_parameter_set_is_refused_at_deploy() -> None:
    text = (Path(runtime.__file__).parent / "system" / "monitoring_rules.py").read_text()
    chain = oversight_chain()
    ctx = runtime.CallContext(height=1, time=chain.time_ms, tx_hash="00" * 32)
    result = runtime.deploy(chain, sender=key("d").public_hex, nonce=0, source=text,
                            init={**MONITORING_PARAMS, "red_income_pct": 120},
                            gas=5_000_000, ctx=ctx)  # fmt: skip
    assert not result.ok and "red_income_pct" in str(result.error)


@settings(max_examples=60, deadline=None)
@given(
    deadlines_ms=st.lists(st.integers(0, 30 * deadlines.BUCKET_MS), min_size=1, max_size=40),
    sweeps=st.lists(st.integers(0, 40 * deadlines.BUCKET_MS), min_size=1, max_size=10),
)
def test_every_item_is_handled_once_in_deadline_order_when_due(
    deadlines_ms: list[int], sweeps: list[int]
) -> None:
    """Property: whatever the schedule and the block times, a sweep hands over exactly the items
    due by then, each once, in (deadline, kind, id) order; two runs agree."""

    def run() -> list[tuple[int, list[str]]]:
        state = Items()
        records = Records(state)
        for n, d in enumerate(deadlines_ms):
            deadlines.schedule(records, "alert", f"a{n:03d}", d)
        out = []
        for now in sorted(sweeps):
            seen: list[str] = []
            deadlines.sweep(records, now, lambda kind, ident, d, seen=seen: seen.append(ident))
            out.append((now, seen))
        return out

    first = run()
    assert first == run()
    handled = [ident for _, seen in first for ident in seen]
    assert len(handled) == len(set(handled))
    order = sorted((d, f"a{n:03d}") for n, d in enumerate(deadlines_ms))
    last = max(sweeps)
    assert handled == [ident for d, ident in order if d <= last]
