"""Pairing and assistance records (帮扶责任人, 帮扶记录): who helps a household, and each visit.

    pairing   active ──pairing.end(reason)──▶ ended
    visit     recorded (append-only; a correction is a new record naming the one it corrects)

The poverty-alleviation office's dispatcher binds a responsible cadre (an account holding the
``cadre`` role over the household's village, at the office or a village committee) to a
household; a household has at most one active pairing. Only that cadre records visits. A visit's
date is the block's time, never a date the client sends, so a record cannot be back-dated; it
names a measure from a fixed list, and carries its findings as a hash of the off-chain note or
as a note sealed to organisations, plus photo hashes. Records are never edited: a correction is
a new visit record with ``corrects`` set.

Each pairing keeps ``next_due_ms``: the last visit (or the binding) plus the household's visit
cadence (``aid.policy``: the shortest of the default and its labels' cadences, and the
monitored one while it is monitored), so "overdue" is ``next_due_ms < now``
(aid/assessment.py ``overdue_pairings``).
"""

from __future__ import annotations

from typing import Any

from aid.context import Action
from aid.errors import AlreadyExists, BadArgs, WrongRole, WrongState
from aid.oversight import (
    common,
    hash_list,
    household,
    note_hash,
    require_one_of,
    save,
    sealed_note,
)
from aid.policy import current_policy
from aid.roles import require_role

PAIRABLE_STATES = ("registered", "lifting", "lifted")
MAX_PHOTOS = 16
MEASURES = (
    "policy_explained",  # 政策宣传
    "industry",  # 产业帮扶
    "employment",  # 就业帮扶
    "education",  # 教育帮扶
    "health",  # 健康帮扶
    "housing",  # 住房保障
    "social_assistance",  # 低保/特困兜底
    "skills_training",  # 技能培训
    "consumption",  # 消费帮扶
    "other",
)
BINDERS = (("dispatcher", "poverty_office"), ("handler", "poverty_office"))


def next_due_ms(act: Action, hh: dict[str, Any]) -> int:
    cadence = current_policy(act.records).visit_cadence_ms(hh["labels"], bool(hh.get("monitored")))
    return act.ctx.time_ms + cadence


def pairing_bind(act: Action) -> None:
    a = act.args
    hh_id = a.text("household")
    cadre = a.account("cadre")
    a.done()
    hh = household(act, hh_id, PAIRABLE_STATES)
    village = hh["village"]
    grant = require_one_of(act, BINDERS, village)
    try:
        cadre_grant = require_role(act.records, cadre, "cadre", village)
    except WrongRole as exc:
        raise WrongRole(f"the account to pair is not a cadre: {exc.message}") from None
    taken = act.records.get("hpair", hh_id)
    if taken is not None:
        raise AlreadyExists(
            f"household {hh_id} already has active pairing {taken['pairing']}; end it first",
            pairing=taken["pairing"],
        )
    ident = act.ctx.new_id("pairing")
    pairing = {
        **common(act, village, "active"),
        "household": hh_id,
        "cadre": cadre,
        "cadre_org": cadre_grant[2],
        "bound_by": act.ctx.signer,
        "org": grant[2],
        "visits": 0,
        "last_visit_ms": None,
        "next_due_ms": next_due_ms(act, hh),
        "ended_ms": None,
        "reason": None,
    }
    save(act, "pairing", ident, pairing)
    act.records.put("hpair", hh_id, {"pairing": ident})
    act.touch("household", hh_id)
    act.emit("pairing_bound", pairing=ident, household=hh_id, cadre=cadre, area=village)


def pairing_end(act: Action) -> None:
    a = act.args
    ident = a.text("pairing")
    reason = a.text("reason")
    a.done()
    pairing = act.records.need("pairing", ident, "pairing")
    if pairing["status"] != "active":
        raise WrongState(f"pairing {ident} is {pairing['status']}")
    require_one_of(act, BINDERS, pairing["area"])
    pairing.update(status="ended", ended_ms=act.ctx.time_ms, reason=reason)
    save(act, "pairing", ident, pairing)
    act.records.delete("hpair", pairing["household"])
    act.emit("pairing_ended", pairing=ident, household=pairing["household"], reason=reason)


def _findings(act: Action) -> tuple[str | None, dict[str, Any] | None]:
    a = act.args
    if a.has("findings_hash") == a.has("findings_sealed"):
        raise BadArgs("a visit gives exactly one of findings_hash and findings_sealed")
    if a.has("findings_hash"):
        return note_hash(a, "findings_hash"), None
    return None, sealed_note(a, act.records, "findings_sealed")


def visit_record(act: Action) -> None:
    """A visit by the paired cadre, dated by the block; ``corrects`` names a visit it corrects."""
    a = act.args
    pairing_id = a.text("pairing")
    measure = a.choice("measure", MEASURES)
    findings, sealed = _findings(act)
    photos = hash_list(a, "photos", MAX_PHOTOS)
    corrects = a.text("corrects", required=False) or None
    a.done()
    pairing = act.records.need("pairing", pairing_id, "pairing")
    if pairing["status"] != "active":
        raise WrongState(f"pairing {pairing_id} is {pairing['status']}; visits need an active one")
    if pairing["cadre"] != act.ctx.signer:
        raise WrongRole(f"only the cadre paired in {pairing_id} records its visits")
    grant = require_role(act.records, act.ctx.signer, "cadre", pairing["area"])
    if corrects is not None:
        old = act.records.need("visit", corrects, "visit")
        if old["pairing"] != pairing_id:
            raise BadArgs(f"visit {corrects} belongs to another pairing", argument="corrects")
    ident = act.ctx.new_id("visit")
    visit = {
        **common(act, pairing["area"], "correction" if corrects else "recorded"),
        "pairing": pairing_id,
        "household": pairing["household"],
        "cadre": act.ctx.signer,
        "org": grant[2],
        "measure": measure,
        "findings_hash": findings,
        "findings_sealed": sealed,
        "photos": photos,
        "corrects": corrects,
    }
    save(act, "visit", ident, visit)
    if corrects is None:  # a correction is not a new visit: the due date stays
        hh = act.records.need("household", pairing["household"], "household")
        pairing["visits"] += 1
        pairing["last_visit_ms"] = act.ctx.time_ms
        pairing["next_due_ms"] = next_due_ms(act, hh)
        save(act, "pairing", pairing_id, pairing)
    act.emit(
        "visit_recorded",
        visit=ident,
        pairing=pairing_id,
        household=pairing["household"],
        measure=measure,
        corrects=corrects,
    )
