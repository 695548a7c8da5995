"""Return-to-poverty monitoring (防返贫动态监测): indicators, the rules contract, alerts.

    alert   raised ─assign─▶ assigned ─verify─▶ verified ─intervene─▶ intervened ─resolve─▶ resolved
            any open state ─dismiss(reason)─▶ dismissed
            past its deadline: yellow ─▶ orange ─▶ red (then marked overdue), at the end of a block

The agency that knows an indicator reports it (``indicator.report``): income per head (the
poverty office's reviewer or a village grid worker), a medical expense (civil affairs), a
disaster or a loss of work. The ledger keeps each household's latest values for the year and
asks the monitoring rules contract of the household's area (the nearest area above it with one,
set by ``monitoring.rules``) whether to raise an alert and at which level: the province's
monitoring line and thresholds are that contract's parameters, so a province changes them by
deploying another contract and pointing its area at it, not by a release of the node. Setting
the contract takes two organisations: a poverty-office approver proposes, a finance approver
confirms.

A household has at most one open alert; a later report that the contract rates higher raises
the open alert's level. An alert must be closed by its deadline (``aid.policy``, per level);
otherwise the end-of-block sweep (aid/deadlines.py) escalates it to the level above with the new
level's deadline; a red alert past its deadline is marked ``overdue``. The owner's verification
can make the household ``monitored`` (targeted programs' rules see it); resolving or dismissing
that alert clears it again unless the resolver keeps it (``keep_monitored``). Resolution and
dismissal are by a reviewer who is not the owner (maker ≠ checker).
"""

from __future__ import annotations

from typing import Any

from aid.areas import area_ancestors
from aid.assistance import MEASURES
from aid.context import Action
from aid.deadlines import schedule
from aid.errors import BadArgs, RuleFailed, WrongRole, WrongState
from aid.exits import CRITERIA
from aid.oversight import Who, common, grant_of, household, note_hash, require_one_of, save
from aid.policy import current_policy
from aid.registry import MAX_INCOME_YUAN
from aid.rules import household_view

LEVELS = ("yellow", "orange", "red")
OPEN = ("raised", "assigned", "verified", "intervened")
MONITORABLE_STATES = ("registered", "lifting", "lifted")
MAX_ALERT_INDICATORS = 32  # indicator ids kept on one alert (later ones are counted)
MAX_INTERVENTIONS = 16
MAX_REASON_CHARS = 256
MIN_YEAR, MAX_YEAR = 2000, 2100
FLAG_INDICATORS = ("disaster", "job_loss")
# indicator -> who reports it: (role, organisation kind)
INDICATORS: dict[str, Who] = {
    "income_per_head_yuan": (("reviewer", "poverty_office"), ("grid_worker", "village_committee")),
    "medical_expense_yuan": (("reviewer", "civil_affairs"),),
    "disaster": (("reviewer", "civil_affairs"), ("grid_worker", "village_committee")),
    "job_loss": (("reviewer", "poverty_office"), ("grid_worker", "village_committee")),
}
RULE_SETTERS: Who = (("approver", "poverty_office"),)
RULE_CONFIRMERS: Who = (("approver", "finance"),)
ASSIGNERS: Who = (("dispatcher", "poverty_office"), ("reviewer", "civil_affairs"))
OWNERS: Who = (
    ("cadre", "poverty_office"),
    ("cadre", "village_committee"),
    ("handler", "poverty_office"),
    ("reviewer", "poverty_office"),
    ("reviewer", "civil_affairs"),
)
CHECKERS: Who = (
    ("reviewer", "poverty_office"),
    ("reviewer", "civil_affairs"),
    ("approver", "poverty_office"),
)
EXIT_ATTESTERS: dict[str, Who] = {
    "income": (("reviewer", "poverty_office"),),
    "housing": (("reviewer", "poverty_office"), ("grid_worker", "village_committee")),
    "schooling": (("reviewer", "poverty_office"), ("reviewer", "civil_affairs")),
    "medical_insurance": (("reviewer", "civil_affairs"),),
    "drinking_water": (("reviewer", "poverty_office"), ("grid_worker", "village_committee")),
}
assert tuple(EXIT_ATTESTERS) == CRITERIA


# --- the monitoring rules contract of an area -------------------------------------------------
def monitoring_rules(act: Action) -> None:
    """``step`` propose (poverty-office approver) or confirm (finance approver, not the proposer)."""
    a = act.args
    area = a.area("area")
    step = a.choice("step", ("propose", "confirm"))
    contract = a.account("contract") if step == "propose" else None
    a.done()
    records = act.records
    entry = records.get("monrules", area) or {"active": None, "proposed": None, "proposer": None}
    if step == "propose":
        grant = require_one_of(act, RULE_SETTERS, area)
        entry.update(proposed=contract, proposer=act.ctx.signer, proposer_org=grant[2])
    else:
        if entry["proposed"] is None:
            raise WrongState(f"no monitoring rules contract is proposed for area {area}")
        require_one_of(act, RULE_CONFIRMERS, area)
        if entry["proposer"] == act.ctx.signer:
            raise WrongRole("the account that proposed the monitoring rules cannot confirm them")
        entry.update(
            active=entry["proposed"], proposed=None, proposer=None, since_ms=act.ctx.time_ms
        )
    records.put("monrules", area, entry)
    act.emit("monitoring_rules", area=area, step=step, contract=contract or entry["active"])


def rules_for(act: Action, village: str) -> tuple[str, str]:
    """(area, contract) of the nearest area above ``village`` with active monitoring rules."""
    for area in area_ancestors(village):
        entry = act.records.get("monrules", area)
        if entry is not None and entry["active"] is not None:
            return area, str(entry["active"])
    raise WrongState(
        f"no monitoring rules contract covers area {village}; an approver sets one with "
        "monitoring.rules"
    )


def _call(act: Action, village: str, hook: str, args: dict[str, Any]) -> Any:
    area, contract = rules_for(act, village)
    return act.rules.call(f"monitoring@{area}", contract, hook, args)


# --- indicators -----------------------------------------------------------------------------
def _value(act: Action, indicator: str) -> int:
    if indicator in FLAG_INDICATORS:
        return act.args.integer("value", low=0, high=1)
    return act.args.integer("value", low=0, high=MAX_INCOME_YUAN)


def indicator_report(act: Action) -> None:
    a = act.args
    hh_id = a.text("household")
    indicator = a.choice("indicator", tuple(INDICATORS))
    value = _value(act, indicator)
    year = a.integer("year", low=MIN_YEAR, high=MAX_YEAR)
    a.done()
    hh = household(act, hh_id, MONITORABLE_STATES)
    village = hh["village"]
    grant = require_one_of(act, INDICATORS[indicator], village)
    latest = act.records.get("hind", hh_id) or {"year": year, "values": {}}
    if year < latest["year"]:
        raise WrongState(f"household {hh_id} already has indicators of {latest['year']}")
    if year > latest["year"]:
        latest = {"year": year, "values": {}}
    latest["values"][indicator] = value
    answer = _call(
        act,
        village,
        "evaluate",
        {
            "household": household_view(hh_id, hh),
            "indicators": dict(latest["values"]),
            "year": year,
        },
    )
    level, reason = _check_answer(answer)
    ident = act.ctx.new_id("indicator")
    record = {
        **common(act, village, "evaluated"),
        "household": hh_id,
        "indicator": indicator,
        "value": value,
        "year": year,
        "reporter": act.ctx.signer,
        "org": grant[2],
        "level": level,
        "reason": reason,
        "alert": None,
    }
    act.records.put("hind", hh_id, latest)
    if level is not None:
        record["alert"] = _raise(act, hh_id, village, level, reason or "", ident)
    save(act, "indicator", ident, record)
    act.emit(
        "indicator_reported",
        indicator_id=ident,
        household=hh_id,
        indicator=indicator,
        level=level,
        alert=record["alert"],
    )


def _check_answer(answer: Any) -> tuple[str | None, str | None]:
    """The contract's answer: nothing to raise (None/False), or {"level", "reason"}."""
    if answer is None or answer is False:
        return None, None
    if (
        not isinstance(answer, dict)
        or set(answer) != {"level", "reason"}
        or answer["level"] not in LEVELS
        or not isinstance(answer["reason"], str)
        or not 0 < len(answer["reason"]) <= MAX_REASON_CHARS
    ):
        raise RuleFailed(
            "the monitoring rules answered neither None nor "
            f'{{"level": one of {", ".join(LEVELS)}, "reason": text}}',
            rule="evaluate",
        )
    return str(answer["level"]), str(answer["reason"])


def _raise(act: Action, hh_id: str, village: str, level: str, reason: str, indicator: str) -> str:
    """Open an alert, or raise the level of the household's open one; returns its id."""
    records = act.records
    deadline = act.ctx.time_ms + current_policy(records).alert_deadline_ms(level)
    open_ref = records.get("halert", hh_id)
    if open_ref is not None:
        ident = str(open_ref["alert"])
        alert = records.need("alert", ident, "alert")
        if len(alert["indicators"]) < MAX_ALERT_INDICATORS:
            alert["indicators"].append(indicator)
        alert["reports"] += 1
        if LEVELS.index(level) > LEVELS.index(alert["level"]):
            alert.update(level=level, deadline=deadline, reason=reason)
            schedule(records, "alert", ident, deadline)
            act.emit("alert_raised", alert=ident, household=hh_id, level=level, area=village)
        save(act, "alert", ident, alert)
        return ident
    ident = act.ctx.new_id("alert")
    alert = {
        **common(act, village, "raised"),
        "household": hh_id,
        "level": level,
        "raised_level": level,
        "deadline": deadline,
        "owner": None,
        "owner_org": None,
        "reason": reason,
        "indicators": [indicator],
        "reports": 1,
        "escalations": [],
        "overdue": False,
        "set_monitored": False,
        "verified_by": None,
        "findings_hash": None,
        "interventions": [],
        "resolution": None,
        "closed_by": None,
        "closed_time": None,
    }
    save(act, "alert", ident, alert)
    records.put("halert", hh_id, {"alert": ident})
    schedule(records, "alert", ident, deadline)
    act.emit("alert_raised", alert=ident, household=hh_id, level=level, area=village)
    return ident


# --- alert lifecycle ------------------------------------------------------------------------
def _open_alert(act: Action, ident: str, states: tuple[str, ...]) -> dict[str, Any]:
    alert = act.records.need("alert", ident, "alert")
    if alert["status"] not in states:
        raise WrongState(f"alert {ident} is {alert['status']}; this needs {' or '.join(states)}")
    return alert


def _owner(act: Action, alert: dict[str, Any], ident: str) -> None:
    if alert["owner"] != act.ctx.signer:
        raise WrongRole(f"only the owner of alert {ident} does this")


def _move(act: Action, ident: str, alert: dict[str, Any], status: str, **fields: Any) -> None:
    alert["status"] = status
    save(act, "alert", ident, alert)
    act.emit(f"alert_{status}", alert=ident, household=alert["household"], **fields)


def alert_assign(act: Action) -> None:
    a = act.args
    ident = a.text("alert")
    owner = a.account("owner")
    a.done()
    alert = _open_alert(act, ident, ("raised", "assigned"))
    require_one_of(act, ASSIGNERS, alert["area"])
    owner_grant = grant_of(act.records, owner, OWNERS, alert["area"])
    if owner_grant is None:
        raise WrongRole(
            "an alert's owner is a cadre, handler or reviewer over the household's area"
        )
    alert.update(owner=owner, owner_org=owner_grant[2])
    _move(act, ident, alert, "assigned", owner=owner)


def alert_verify(act: Action) -> None:
    """The owner checked the household: findings, and whether it is to be monitored."""
    a = act.args
    ident = a.text("alert")
    findings = note_hash(a, "findings_hash")
    monitored = a.flag("monitored")
    a.done()
    alert = _open_alert(act, ident, ("assigned",))
    _owner(act, alert, ident)
    alert.update(verified_by=act.ctx.signer, findings_hash=findings)
    if monitored:
        _set_monitored(act, alert["household"], True)
        alert["set_monitored"] = True
    _move(act, ident, alert, "verified", monitored=monitored)


def alert_intervene(act: Action) -> None:
    a = act.args
    ident = a.text("alert")
    measure = a.choice("measure", MEASURES)
    note = note_hash(a, "note_hash")
    a.done()
    alert = _open_alert(act, ident, ("verified", "intervened"))
    _owner(act, alert, ident)
    if len(alert["interventions"]) >= MAX_INTERVENTIONS:
        raise WrongState(f"alert {ident} holds {MAX_INTERVENTIONS} interventions; resolve it")
    alert["interventions"].append({"measure": measure, "note_hash": note, "time": act.ctx.time_ms})
    _move(act, ident, alert, "intervened", measure=measure)


def _close(act: Action, ident: str, alert: dict[str, Any], status: str, reason: str) -> None:
    if alert["owner"] == act.ctx.signer:
        raise WrongRole(f"the owner of alert {ident} cannot also close it (maker ≠ checker)")
    require_one_of(act, CHECKERS, alert["area"])
    keep = act.args.flag("keep_monitored") if status == "resolved" else False
    act.args.done()
    if alert["set_monitored"] and not keep:
        _set_monitored(act, alert["household"], False)
    alert.update(resolution=reason, closed_by=act.ctx.signer, closed_time=act.ctx.time_ms)
    act.records.delete("halert", alert["household"])
    _move(act, ident, alert, status, reason=reason)


def alert_resolve(act: Action) -> None:
    ident = act.args.text("alert")
    reason = act.args.text("reason")
    alert = _open_alert(act, ident, ("intervened",))
    _close(act, ident, alert, "resolved", reason)


def alert_dismiss(act: Action) -> None:
    ident = act.args.text("alert")
    reason = act.args.text("reason")
    alert = _open_alert(act, ident, OPEN)
    _close(act, ident, alert, "dismissed", reason)


def _set_monitored(act: Action, hh_id: str, monitored: bool) -> None:
    hh = act.records.need("household", hh_id, "household")
    if monitored:
        hh["monitored"] = True
        hh["monitored_since_ms"] = act.ctx.time_ms
    else:
        hh.pop("monitored", None)
        hh.pop("monitored_since_ms", None)
    save(act, "household", hh_id, hh)
    act.emit("household_monitored", household=hh_id, monitored=monitored)


def escalate_alert(act: Action, ident: str, deadline_ms: int) -> None:
    """Deadline sweep: an open alert still due at ``deadline_ms`` goes one level up."""
    alert = act.records.get("alert", ident)
    if alert is None or alert["status"] not in OPEN or alert["deadline"] != deadline_ms:
        return  # closed in time, or its deadline moved: a stale queue item
    step = {"from": alert["level"], "height": act.ctx.height, "time": act.ctx.time_ms}
    if alert["level"] == LEVELS[-1]:
        alert["overdue"] = True
        step["to"] = "overdue"
    else:
        level = LEVELS[LEVELS.index(alert["level"]) + 1]
        deadline = act.ctx.time_ms + current_policy(act.records).alert_deadline_ms(level)
        alert.update(level=level, deadline=deadline)
        schedule(act.records, "alert", ident, deadline)
        step["to"] = level
    alert["escalations"].append(step)
    save(act, "alert", ident, alert)
    act.emit("alert_escalated", alert=ident, household=alert["household"], **step)


# --- exit criteria --------------------------------------------------------------------------
def exit_attest(act: Action) -> None:
    """An agency attests one exit criterion; income is judged against the monitoring line."""
    a = act.args
    hh_id = a.text("household")
    criterion = a.choice("criterion", CRITERIA)
    evidence = note_hash(a, "evidence_hash")
    value: int | None = None
    year: int | None = None
    if criterion == "income":
        value = a.integer("value", low=0, high=MAX_INCOME_YUAN)
        year = a.integer("year", low=MIN_YEAR, high=MAX_YEAR)
        met = None
    else:
        if not a.has("met"):
            raise BadArgs(f"exit.attest of {criterion} says whether it is met", argument="met")
        met = a.flag("met")
    a.done()
    hh = household(act, hh_id, ("registered",))
    grant = require_one_of(act, EXIT_ATTESTERS[criterion], hh["village"])
    if met is None:
        line = _call(act, hh["village"], "line", {"year": year})
        if type(line) is not int or not 0 <= line <= MAX_INCOME_YUAN:
            raise RuleFailed(f"the monitoring rules' line for {year} is not a whole yuan amount")
        met = value is not None and value > line
    attested = act.records.get("attest", hh_id) or {}
    attested[criterion] = {
        "met": met,
        "by": act.ctx.signer,
        "org": grant[2],
        "time": act.ctx.time_ms,
        "evidence_hash": evidence,
        "value": value,
        "year": year,
    }
    act.records.put("attest", hh_id, attested)
    act.touch("household", hh_id)
    act.emit("exit_attested", household=hh_id, criterion=criterion, met=met)
