"""The household registry (建档立卡): application, review with public notice, and later changes.

    applied ──village review──▶ notice ──(notice period over) township review──▶ township_reviewed
       ──county approval──▶ registered
    registered ──lift proposal──▶ lifting ──(notice over) county approval──▶ lifted
    any open state ──reject(reason)──▶ rejected;  registered/lifted ──remove(reason)──▶ removed

Monitoring (防返贫监测) is not a status but the flag ``monitored``, set and cleared by alerts
(aid/monitoring.py): a registered or lifted household may carry it.

Personal data never reaches the chain in plain text: each member is a keyed commitment
(HMAC-SHA256 of the normalised ID number with the consortium's registry key, computed client side)
and names, ID numbers, phones and bank accounts travel sealed (aid/sealed.py): encrypted once,
with the key sealed to each organisation allowed to read them. The commitments make duplicates
visible: one person in two active households, or one bank account behind two households, is
refused with the household it clashes with. Non-personal attributes (size, cause, income per
head, labels) are plain, for statistics.
The applicant never reviews its own application (maker ≠ checker), at any stage.
"""

from __future__ import annotations

from typing import Any

from aid.args import Args
from aid.context import Action
from aid.errors import (
    AlreadyExists,
    BadArgs,
    Duplicate,
    NoticeNotOver,
    WrongArea,
    WrongRole,
    WrongState,
)
from aid.exits import missing_exit_criteria
from aid.policy import current_policy
from aid.roles import require_role
from aid.sealed import sealed_data
from aid.state import Records
from chain.crypto import is_pubkey_hex

MAX_MEMBERS = 32
MAX_INCOME_YUAN = 10_000_000
CAUSES = (
    "illness",  # 因病
    "disability",  # 因残
    "schooling",  # 因学
    "disaster",  # 因灾
    "lack_land",  # 缺土地
    "lack_water",  # 缺水
    "lack_skills",  # 缺技术
    "lack_labour",  # 缺劳力
    "lack_funds",  # 缺资金
    "remote",  # 交通条件落后
    "low_motivation",  # 自身发展动力不足
    "other",
)
LABELS = ("dibao", "wubao", "tekun", "disabled")  # 低保, 五保, 特困, 残疾: civil affairs confirms
COMMITMENT = "a 64-hex HMAC-SHA256 commitment"
OPEN_STATES = ("applied", "notice", "township_reviewed")
ACTIVE_STATES = (*OPEN_STATES, "registered", "lifting", "lifted")
PAYABLE_STATES = ("registered",)


def is_payable(household: dict[str, Any]) -> bool:
    """Registered households are paid; so is a lifted household while a verified
    return-to-poverty alert keeps it ``monitored`` (脱贫不脱政策: lifted households stay
    monitored and targeted programs may support them; each program's rules decide whom)."""
    status = household["status"]
    return status in PAYABLE_STATES or (status == "lifted" and bool(household.get("monitored")))


def _members(a: Args) -> list[str]:
    raw = a.list_of("members", max_items=MAX_MEMBERS)
    members: list[str] = []
    for i, item in enumerate(raw):
        if not is_pubkey_hex(item):  # the same 64-hex shape as an account
            raise BadArgs(f"members[{i}] must be a 64-hex ID commitment, never an ID number")
        members.append(item)
    if not members or len(set(members)) != len(members):
        raise BadArgs("members must be 1 or more distinct ID commitments")
    return sorted(members)


def _sealed(a: Args, records: Records) -> dict[str, Any]:
    return sealed_data(a, records, "sealed", what="the personal data")


def _attributes(a: Args) -> dict[str, Any]:
    return {
        "size": a.integer("size", low=1, high=MAX_MEMBERS),
        "cause": a.choice("cause", CAUSES),
        "income_per_head_yuan": a.integer("income_per_head_yuan", low=0, high=MAX_INCOME_YUAN),
    }


def _refuse_taken_members(records: Records, ident: str, members: list[str]) -> None:
    """Refuse if another active household holds one of ``members`` (one person, one household)."""
    for commitment in members:
        other = _active_owner(records, "idc", commitment, ident)
        if other is not None:
            raise Duplicate(
                f"a member of this household is already in active household {other}",
                household=other,
                check="same_person_two_households",
            )


def _claim_commitments(act: Action, ident: str, members: list[str], account: str | None) -> None:
    """Index each member and the bank account to ``ident``; refuse if another household has one."""
    records = act.records
    _refuse_taken_members(records, ident, members)
    if account is not None:
        other = _active_owner(records, "acctc", account, ident)
        if other is not None:
            raise Duplicate(
                f"this bank account already belongs to active household {other}",
                household=other,
                check="same_account_two_households",
            )
        records.put("acctc", account, {"household": ident})
    for commitment in members:
        records.put("idc", commitment, {"household": ident})


def _active_owner(records: Records, kind: str, commitment: str, me: str) -> str | None:
    entry = records.get(kind, commitment)
    if entry is None or entry["household"] == me:
        return None
    owner = records.get("household", entry["household"])
    if owner is None or owner["status"] not in ACTIVE_STATES:
        return None
    return str(entry["household"])


def household_apply(act: Action) -> None:
    a = act.args
    village = a.area("village", level="village")
    members = _members(a)
    account = a.hex64("account_commitment", COMMITMENT) if a.has("account_commitment") else None
    attrs = _attributes(a)
    sealed = _sealed(a, act.records)
    a.done()
    grant = _require_any(act, ("village_registrar", "registrar"), village)
    ident = act.ctx.new_id("household")
    if act.records.get("household", ident) is not None:
        raise AlreadyExists(f"household {ident} already exists")
    _claim_commitments(act, ident, members, account)
    household = {
        "village": village,
        "status": "applied",
        "members": members,
        "account_commitment": account,
        **attrs,
        "labels": [],
        "sealed": sealed,
        "maker": act.ctx.signer,
        "maker_org": grant[2],
        "applied_ms": act.ctx.time_ms,
        "notice_ends_ms": None,
        "reviews": [],
        "reason": None,
        "version": 1,
    }
    _save(act, ident, household, "household_applied", village=village)


def _require_any(act: Action, roles: tuple[str, ...], area: str) -> list[str]:
    """The first of ``roles`` the signer holds for ``area``.

    If none does, the most useful refusal: "wrong area" when the signer holds one of the roles
    elsewhere, else "wrong role".
    """
    refusals: list[WrongRole | WrongArea] = []
    for role in roles:
        try:
            return require_role(act.records, act.ctx.signer, role, area)
        except (WrongRole, WrongArea) as exc:
            refusals.append(exc)
    raise next((e for e in refusals if isinstance(e, WrongArea)), refusals[0])


def _save(act: Action, ident: str, household: dict[str, Any], event: str, **fields: Any) -> None:
    act.records.put("household", ident, household)
    act.touch("household", ident)
    act.emit(event, household=ident, status=household["status"], **fields)


def _not_maker(act: Action, household: dict[str, Any], ident: str) -> None:
    if household["maker"] == act.ctx.signer:
        raise WrongRole(
            f"the account that applied for household {ident} cannot also review it "
            "(maker ≠ checker)"
        )


def _review(act: Action, household: dict[str, Any], stage: str, grant: list[str]) -> None:
    household["reviews"].append(
        {"stage": stage, "by": act.ctx.signer, "org": grant[2], "time_ms": act.ctx.time_ms}
    )


def household_review(act: Action) -> None:
    """Village review (starts the public notice), township review, county approval."""
    a = act.args
    ident = a.text("household")
    stage = a.choice("stage", ("village", "township", "county"))
    a.done()
    household = act.records.need("household", ident, "household")
    _not_maker(act, household, ident)
    village = household["village"]
    expected, role = {
        "village": ("applied", "village_registrar"),
        "township": ("notice", "reviewer"),
        "county": ("township_reviewed", "approver"),
    }[stage]
    if household["status"] != expected:
        raise WrongState(
            f"household {ident} is {household['status']}; the {stage} review needs {expected}"
        )
    grant = require_role(act.records, act.ctx.signer, role, village)
    if stage == "village":
        notice = current_policy(act.records).notice_period_s * 1000
        household["notice_ends_ms"] = act.ctx.time_ms + notice
        household["status"] = "notice"
    elif stage == "township":
        _notice_over(act, household, ident)
        household["status"] = "township_reviewed"
    else:
        household["status"] = "registered"
        household["registered_ms"] = act.ctx.time_ms
    _review(act, household, stage, grant)
    _save(act, ident, household, "household_reviewed", stage=stage)


def _notice_over(act: Action, household: dict[str, Any], ident: str) -> None:
    ends = household["notice_ends_ms"]
    if act.ctx.time_ms < ends:
        left_s = (ends - act.ctx.time_ms + 999) // 1000
        raise NoticeNotOver(
            f"the public notice of household {ident} runs for another {left_s} s",
            notice_ends_ms=ends,
        )
    if household.get("objections", 0):
        raise NoticeNotOver(f"the public notice of household {ident} has an open objection")


def household_reject(act: Action) -> None:
    a = act.args
    ident = a.text("household")
    reason = a.text("reason")
    a.done()
    household = act.records.need("household", ident, "household")
    if household["status"] not in OPEN_STATES:
        raise WrongState(f"household {ident} is {household['status']}; only open ones are rejected")
    _not_maker(act, household, ident)
    role = {"applied": "village_registrar", "notice": "reviewer", "township_reviewed": "approver"}
    grant = require_role(
        act.records, act.ctx.signer, role[household["status"]], household["village"]
    )
    _close(act, ident, household, "rejected", reason, grant)


def _close(
    act: Action, ident: str, household: dict[str, Any], status: str, reason: str, grant: list[str]
) -> None:
    """End a household's life in the registry (rejected or removed), with the reason."""
    household["status"] = status
    household["reason"] = reason
    _review(act, household, status, grant)
    _save(act, ident, household, f"household_{status}", reason=reason)


def household_lift(act: Action) -> None:
    """脱贫: propose (starts the notice) then, after it, confirm; both by county approvers.

    Proposing needs every exit criterion attested as met (aid/exits.py). An open objection
    (a grievance filed during the notice, aid/grievances.py) holds the confirmation. A lifted
    household keeps its ``monitored`` flag and can still be monitored (aid/monitoring.py).
    """
    a = act.args
    ident = a.text("household")
    step = a.choice("step", ("propose", "confirm"))
    a.done()
    household = act.records.need("household", ident, "household")
    grant = require_role(act.records, act.ctx.signer, "approver", household["village"])
    if step == "propose":
        if household["status"] not in PAYABLE_STATES:
            raise WrongState(f"household {ident} is {household['status']}; cannot be lifted")
        missing = missing_exit_criteria(act.records, ident)
        if missing:  # 两不愁三保障, attested by the agencies (exit.attest)
            raise WrongState(
                f"household {ident} does not meet the exit criteria: "
                f"{', '.join(missing)} not attested as met",
                check="exit_criteria",
                missing=missing,
            )
        notice = current_policy(act.records).notice_period_s * 1000
        household["notice_ends_ms"] = act.ctx.time_ms + notice
        household["status"] = "lifting"
        household["lift_proposer"] = act.ctx.signer
    else:
        if household["status"] != "lifting":
            raise WrongState(f"household {ident} is {household['status']}, not lifting")
        if household["lift_proposer"] == act.ctx.signer:
            raise WrongRole("the account that proposed the lifting cannot confirm it")
        _notice_over(act, household, ident)
        household["status"] = "lifted"
        household["lifted_ms"] = act.ctx.time_ms
    _review(act, household, f"lift_{step}", grant)
    _save(act, ident, household, "household_lift", step=step)


def household_remove(act: Action) -> None:
    a = act.args
    ident = a.text("household")
    reason = a.text("reason")
    a.done()
    household = act.records.need("household", ident, "household")
    if household["status"] not in ("registered", "lifted"):
        raise WrongState(f"household {ident} is {household['status']}; cannot be removed")
    grant = require_role(act.records, act.ctx.signer, "approver", household["village"])
    _close(act, ident, household, "removed", reason, grant)


def household_label(act: Action) -> None:
    """Civil affairs confirms or clears 低保/五保/特困/残疾 on a household."""
    a = act.args
    ident = a.text("household")
    label = a.choice("label", LABELS)
    present = a.flag("present")
    a.done()
    household = act.records.need("household", ident, "household")
    if household["status"] not in ACTIVE_STATES:
        raise WrongState(f"household {ident} is {household['status']}")
    grant = require_role(act.records, act.ctx.signer, "reviewer", household["village"])
    org = act.records.need("org", grant[2], "organisation")
    if org["kind"] != "civil_affairs":
        raise WrongRole("labels are confirmed by a civil affairs reviewer")
    labels = set(household["labels"])
    if present:
        labels.add(label)
    else:
        labels.discard(label)
    household["labels"] = sorted(labels)
    household["version"] += 1
    _save(act, ident, household, "household_labelled", label=label, present=present)


def household_view(act: Action) -> None:
    """An auditor's read of a household's personal data, recorded before the client decrypts."""
    a = act.args
    ident = a.text("household")
    purpose = a.text("purpose")
    a.done()
    household = act.records.need("household", ident, "household")
    grant = require_role(act.records, act.ctx.signer, "auditor", household["village"])
    act.touch("household", ident)
    act.emit(
        "personal_data_viewed", household=ident, by=act.ctx.signer, org=grant[2], purpose=purpose
    )


def payable(records: Records, ident: str) -> dict[str, Any] | None:
    """The household if it may receive payments now (``is_payable``), else None."""
    household = records.get("household", ident)
    if household is None or not is_payable(household):
        return None
    return household


# A lifted household stays on the registry: it is visited and monitored, and paid again while a
# return-to-poverty alert keeps it monitored (is_payable), so its data must stay correctable.
CHANGEABLE_STATES = ("registered", "lifted")
CHANGEABLE = (
    "members",
    "account_commitment",
    "sealed",
    "size",
    "cause",
    "income_per_head_yuan",
    "village",
)


def household_change(act: Action) -> None:
    """Propose a change to a registered household; reviewed like an application.

    A move to a village of another county needs an approver of each county (``approvals``
    collects them); everything else one approver of the household's county, never the maker.
    """
    a = act.args
    ident = a.text("household")
    household = act.records.need("household", ident, "household")
    fields: dict[str, Any] = {}
    if a.has("members"):
        fields["members"] = _members(a)
    if a.has("account_commitment"):
        fields["account_commitment"] = a.hex64("account_commitment", COMMITMENT)
    if a.has("sealed"):
        fields["sealed"] = _sealed(a, act.records)
    if a.has("village"):
        fields["village"] = a.area("village", level="village")
    if a.has("size"):
        fields["size"] = a.integer("size", low=1, high=MAX_MEMBERS)
    if a.has("cause"):
        fields["cause"] = a.choice("cause", CAUSES)
    if a.has("income_per_head_yuan"):
        fields["income_per_head_yuan"] = a.integer(
            "income_per_head_yuan", low=0, high=MAX_INCOME_YUAN
        )
    reason = a.text("reason")
    a.done()
    if not fields:
        raise BadArgs(f"a change names at least one of {', '.join(CHANGEABLE)}")
    if household["status"] not in CHANGEABLE_STATES:
        raise WrongState(
            f"household {ident} is {household['status']}; only registered or lifted ones change"
        )
    grant = _require_any(act, ("village_registrar", "registrar"), household["village"])
    if "members" in fields:
        _check_new_members(act.records, ident, household, fields)
    counties = sorted(
        {_county(household["village"]), _county(fields.get("village", household["village"]))}
    )
    change_id = act.ctx.new_id("change")
    change = {
        "household": ident,
        "fields": fields,
        "reason": reason,
        "status": "pending",
        "maker": act.ctx.signer,
        "maker_org": grant[2],
        "counties": counties,
        "approvals": [],
        "base_version": household["version"],
    }
    act.records.put("change", change_id, change)
    act.touch("change", change_id)
    act.touch("household", ident)
    act.emit(
        "household_change_proposed",
        change=change_id,
        household=ident,
        fields=sorted(fields),
        counties=counties,
    )


def _check_new_members(
    records: Records, ident: str, household: dict[str, Any], fields: dict[str, Any]
) -> None:
    """A change of members: a real change, sealed data to match, no one from another household.

    The sealed personal data lists the members' names and ID numbers, so new commitments without
    it would leave the readers' copy describing other people. The duplicate check runs here, so
    the clerk learns at once, and again when the change is applied (the registry may have moved
    since).
    """
    if fields["members"] == household["members"]:
        raise BadArgs(f"household {ident} already has exactly these members")
    if "sealed" not in fields:
        raise BadArgs("a change of members carries the personal data sealed again (sealed)")
    _refuse_taken_members(records, ident, fields["members"])


def _county(village: str) -> str:
    return village[:6] + "000000"


def household_change_review(act: Action) -> None:
    a = act.args
    change_id = a.text("change")
    decision, reason = a.decision()
    a.done()
    records = act.records
    change = records.need("change", change_id, "change request")
    if change["status"] != "pending":
        raise WrongState(f"change {change_id} is {change['status']}")
    if change["maker"] == act.ctx.signer:
        raise WrongRole("the account that proposed a change cannot approve it (maker ≠ checker)")
    household = records.need("household", change["household"], "household")
    if household["version"] != change["base_version"]:
        raise WrongState(
            f"household {change['household']} changed since this request; propose it again"
        )
    pending = [c for c in change["counties"] if c not in {row[0] for row in change["approvals"]}]
    county = next((c for c in pending if _holds(act, "approver", c)), None)
    if county is None:
        raise WrongRole(f"change {change_id} needs an approver of {', '.join(pending)}")
    grant = require_role(records, act.ctx.signer, "approver", county)
    if decision == "reject":
        change.update(status="rejected", reason=reason)
    else:
        change["approvals"].append([county, act.ctx.signer, grant[2], act.ctx.time_ms])
        if len(change["approvals"]) == len(change["counties"]):
            _apply_change(act, change["household"], household, change["fields"])
            change["status"] = "approved"
    records.put("change", change_id, change)
    act.touch("change", change_id)
    act.emit(
        "household_change_reviewed", change=change_id, decision=decision, status=change["status"]
    )


def _holds(act: Action, role: str, area: str) -> bool:
    try:
        require_role(act.records, act.ctx.signer, role, area)
    except (WrongRole, WrongArea):
        return False
    return True


def _apply_change(
    act: Action, ident: str, household: dict[str, Any], fields: dict[str, Any]
) -> None:
    members = fields.get("members")
    if members is not None:
        _change_members(act, ident, household["members"], members)
    account = fields.get("account_commitment")
    if account is not None and account != household["account_commitment"]:
        _claim_commitments(act, ident, [], account)
        if household["account_commitment"] is not None:
            act.records.delete("acctc", household["account_commitment"])
    household.update(fields)
    household["version"] += 1
    _save(act, ident, household, "household_changed", fields=sorted(fields))


def _change_members(act: Action, ident: str, before: list[str], after: list[str]) -> None:
    """Claim the members who join; release those who leave, so they may join another household."""
    _claim_commitments(act, ident, sorted(set(after) - set(before)), None)
    for commitment in sorted(set(before) - set(after)):
        entry = act.records.get("idc", commitment)
        if entry is not None and entry["household"] == ident:
            act.records.delete("idc", commitment)
