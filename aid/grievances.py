"""Grievances and reports (申诉/举报), filed by an agency on behalf of a citizen.

    received ─assign─▶ assigned ─progress─▶ in_progress ─resolve(outcome)─▶ resolved ─close─▶ closed
    past its deadline (not yet resolved): escalated to the area above, at the end of a block

Any account holding a role over the grievance's area files one, linked to households, payments
(entitlements), cycles, programs or disclosures. Everything in a transaction is public (``tx_get``
returns its payload), so a sensitive grievance (fraud, bribery, data leak) carries no plain
links or content at all: only its category and an area, with the content and links sealed to
organisations that must include an auditor; its handler must belong to one of those
organisations, so only the auditor and the handler can open it. Reads (``aid_get``/``aid_list``)
return the record as stored: for a sensitive one, non-personal fields and sealed data.

An objection (异议) filed while a household's public notice runs (registration or lifting)
holds that notice: ``household.review`` and ``household.lift`` confirm refuse with
``notice_not_over`` while the household counts an open objection (``objections``), until the
objection is resolved.

Deadline: ``policy.grievance_deadline_s`` from filing to resolution. Past it, the end-of-block
sweep (aid/deadlines.py) escalates the grievance to the area above (``escalated_to``) with a
fresh deadline, at most ``MAX_ESCALATIONS`` times; then it is marked ``overdue``.
"""

from __future__ import annotations

from typing import Any

from aid import disclosure
from aid.areas import area_contains, area_parent
from aid.context import Action
from aid.deadlines import schedule
from aid.errors import BadArgs, WrongArea, WrongRole, WrongState
from aid.oversight import Who, common, grant_of, note_hash, require_one_of, save, sealed_note
from aid.policy import current_policy
from aid.roles import grants_of, require_org
from aid.state import KINDS

CATEGORIES = (
    "objection",  # 公示异议: holds a household's public notice
    "not_received",  # 未收到资金
    "amount_wrong",  # 金额不符
    "eligibility",  # 认定不公
    "service",  # 工作作风
    "other",
)
SENSITIVE = ("fraud", "bribery", "data_leak")  # 举报: sealed to the auditor and the handler
MAX_LINKS = 8
MAX_ESCALATIONS = 2
OUTCOMES = ("upheld", "partly_upheld", "rejected")
OPEN = ("received", "assigned", "in_progress")
ASSIGNERS: Who = (("dispatcher", "poverty_office"), ("reviewer", "civil_affairs"))
SENSITIVE_ASSIGNERS: Who = (("auditor", "auditor"),)
HANDLERS: Who = (
    ("handler", "poverty_office"),
    ("reviewer", "poverty_office"),
    ("reviewer", "civil_affairs"),
    ("cadre", "poverty_office"),
    ("auditor", "auditor"),
)
CLOSERS: Who = (
    ("reviewer", "poverty_office"),
    ("reviewer", "civil_affairs"),
    ("auditor", "auditor"),
)
LINK_KINDS = ("household", "entitlement", "cycle", "program", "batch", "disclosure")


def _link_area(act: Action, kind: str, ident: str) -> str:
    """The area a linked entity belongs to (a payment's is its household's village)."""
    if kind not in LINK_KINDS or kind not in KINDS:
        raise BadArgs(
            f"a link's kind must be one of {', '.join(k for k in LINK_KINDS if k in KINDS)}"
        )
    record = act.records.need(kind, ident, kind)
    if kind == "household":
        return str(record["village"])
    if kind == "entitlement":
        return str(act.records.need("household", record["household"], "household")["village"])
    if kind in ("cycle", "batch"):
        cycle = record if kind == "cycle" else act.records.need("cycle", record["cycle"], "cycle")
        return str(act.records.need("program", cycle["program"], "program")["area"])
    return str(record["area"])


def _links(act: Action) -> list[dict[str, str]]:
    raw = act.args.list_of("links", max_items=MAX_LINKS)
    out = []
    for i, item in enumerate(raw):
        if (
            not isinstance(item, dict)
            or set(item) != {"kind", "id"}
            or not isinstance(item["kind"], str)
            or not isinstance(item["id"], str)
            or not 0 < len(item["id"]) <= 64
        ):
            raise BadArgs(f'links[{i}] must be {{"kind": ..., "id": ...}}', argument="links")
        out.append({"kind": item["kind"], "id": item["id"]})
    if len({(link["kind"], link["id"]) for link in out}) != len(out):
        raise BadArgs("links names an entity twice", argument="links")
    return out


def _filer(act: Action, area: str) -> list[str]:
    """Any agency account with a role over ``area`` files; the grant it used."""
    grants = grants_of(act.records, act.ctx.signer)
    for grant in grants:
        if area_contains(grant[1], area):
            return grant
    if grants:
        raise WrongArea(f"account {act.ctx.signer[:12]}… holds no role over area {area}")
    raise WrongRole("grievances are filed by an agency account holding a role")


def grievance_file(act: Action) -> None:
    a = act.args
    category = a.choice("category", CATEGORIES + SENSITIVE)
    sensitive = category in SENSITIVE
    sealed: dict[str, Any] | None
    if sensitive:
        for name in ("links", "content_hash"):
            if a.has(name):
                raise BadArgs(
                    f"a {category} report carries no plain {name}: seal it in content_sealed",
                    argument=name,
                )
        area, links = a.area("area"), []
        content_hash = None
        sealed = sealed_note(a, act.records, "content_sealed")
        if not any(require_org(act.records, org)["kind"] == "auditor" for org in sealed["keys"]):
            raise BadArgs("a sensitive report is sealed to an auditor organisation")
    else:
        links = _links(act) if a.has("links") else []
        if not links and not a.has("area"):
            raise BadArgs("a grievance names links or an area", argument="links")
        content_hash = note_hash(a, "content_hash", required=False)
        sealed = sealed_note(a, act.records, "content_sealed") if a.has("content_sealed") else None
        area = (
            a.area("area") if a.has("area") else _link_area(act, links[0]["kind"], links[0]["id"])
        )
    a.done()
    for link in links:
        _link_area(act, link["kind"], link["id"])  # each linked entity exists
    grant = _filer(act, area)
    holds_notice = _objection(act, category, links)
    ident = act.ctx.new_id("grievance")
    deadline = act.ctx.time_ms + current_policy(act.records).grievance_deadline_s * 1000
    grievance = {
        **common(act, area, "received"),
        "category": category,
        "sensitive": sensitive,
        "links": links,
        "content_hash": content_hash,
        "content_sealed": sealed,
        "filer": act.ctx.signer,
        "org": grant[2],
        "deadline": deadline,
        "handler": None,
        "handler_org": None,
        "escalated_to": area,
        "escalations": [],
        "overdue": False,
        "holds": holds_notice,
        "outcome": None,
        "resolution_hash": None,
        "resolved_time": None,
        "closed_time": None,
    }
    save(act, "grievance", ident, grievance)
    schedule(act.records, "grievance", ident, deadline)
    if category == "objection":
        for link in links:
            if link["kind"] == "disclosure":  # an objection to a public list holds its close
                disclosure.hold(act.records, link["id"], ident, act.ctx.time_ms)
                act.touch("disclosure", link["id"])
    act.emit("grievance_filed", grievance=ident, category=category, sensitive=sensitive, area=area)


def _objection(act: Action, category: str, links: list[dict[str, str]]) -> str | None:
    """An objection during a household's notice holds it; returns the household held."""
    if category != "objection":
        return None
    households = [link["id"] for link in links if link["kind"] == "household"]
    disclosures = [link for link in links if link["kind"] == "disclosure"]
    if len(households) + len(disclosures) != 1:
        raise BadArgs(
            "an objection links exactly one household in its notice or one published disclosure",
            argument="links",
        )
    if disclosures:
        return None  # held by the disclosure itself once the grievance exists (grievance_file)
    hh_id = households[0]
    hh = act.records.need("household", hh_id, "household")
    ends = hh.get("notice_ends_ms")
    if hh["status"] not in ("notice", "lifting") or ends is None or act.ctx.time_ms >= ends:
        raise WrongState(
            f"household {hh_id} is not in a public notice ({hh['status']}); "
            "file an eligibility grievance instead"
        )
    hh["objections"] = hh.get("objections", 0) + 1
    save(act, "household", hh_id, hh)
    act.emit("notice_held", household=hh_id, objections=hh["objections"])
    return hh_id


def _release(act: Action, grievance: dict[str, Any]) -> None:
    hh_id = grievance["holds"]
    if hh_id is None:
        return
    hh = act.records.need("household", hh_id, "household")
    assert hh.get("objections", 0) > 0, f"household {hh_id} counts no objection to release"
    hh["objections"] -= 1
    if not hh["objections"]:
        del hh["objections"]
    save(act, "household", hh_id, hh)
    act.emit("notice_released", household=hh_id, objections=hh.get("objections", 0))


def _grievance(act: Action, ident: str, states: tuple[str, ...]) -> dict[str, Any]:
    grievance = act.records.need("grievance", ident, "grievance")
    if grievance["status"] not in states:
        raise WrongState(
            f"grievance {ident} is {grievance['status']}; this needs {' or '.join(states)}"
        )
    return grievance


def _move(act: Action, ident: str, grievance: dict[str, Any], status: str, **fields: Any) -> None:
    grievance["status"] = status
    save(act, "grievance", ident, grievance)
    act.emit(f"grievance_{status}", grievance=ident, **fields)


def _handler(act: Action, ident: str, grievance: dict[str, Any]) -> None:
    if grievance["handler"] != act.ctx.signer:
        raise WrongRole(f"only the handler of grievance {ident} does this")


def grievance_assign(act: Action) -> None:
    a = act.args
    ident = a.text("grievance")
    handler = a.account("handler")
    a.done()
    grievance = _grievance(act, ident, ("received", "assigned"))
    area = grievance["area"]
    require_one_of(act, SENSITIVE_ASSIGNERS if grievance["sensitive"] else ASSIGNERS, area)
    handler_grant = grant_of(act.records, handler, HANDLERS, area)
    if handler_grant is None:
        raise WrongRole("a grievance's handler is a handler, reviewer, cadre or auditor there")
    if grievance["sensitive"]:
        readers = set(grievance["content_sealed"]["keys"])
        handler_grant = next((g for g in grants_of(act.records, handler) if g[2] in readers), None)
        if handler_grant is None:
            raise WrongRole(
                "a sensitive report goes to a handler of an organisation it is sealed to"
            )
    grievance.update(handler=handler, handler_org=handler_grant[2])
    _move(act, ident, grievance, "assigned", handler=handler)


def grievance_progress(act: Action) -> None:
    a = act.args
    ident = a.text("grievance")
    note = note_hash(a, "note_hash", required=False)
    a.done()
    grievance = _grievance(act, ident, ("assigned",))
    _handler(act, ident, grievance)
    _move(act, ident, grievance, "in_progress", note_hash=note)


def grievance_resolve(act: Action) -> None:
    a = act.args
    ident = a.text("grievance")
    outcome = a.choice("outcome", OUTCOMES)
    resolution = note_hash(a, "resolution_hash")
    a.done()
    grievance = _grievance(act, ident, ("in_progress",))
    _handler(act, ident, grievance)
    _release(act, grievance)
    grievance.update(outcome=outcome, resolution_hash=resolution, resolved_time=act.ctx.time_ms)
    _move(act, ident, grievance, "resolved", outcome=outcome)


def grievance_close(act: Action) -> None:
    """The filer, or a reviewer/auditor who did not handle it, closes a resolved grievance."""
    a = act.args
    ident = a.text("grievance")
    a.done()
    grievance = _grievance(act, ident, ("resolved",))
    if grievance["handler"] == act.ctx.signer:
        raise WrongRole(f"the handler of grievance {ident} cannot also close it")
    if grievance["filer"] != act.ctx.signer:
        require_one_of(act, CLOSERS, grievance["area"])
    grievance["closed_time"] = act.ctx.time_ms
    _move(act, ident, grievance, "closed")


def escalate_grievance(act: Action, ident: str, deadline_ms: int) -> None:
    """Deadline sweep: an unresolved grievance still due at ``deadline_ms`` goes up one area."""
    grievance = act.records.get("grievance", ident)
    if grievance is None or grievance["status"] not in OPEN:
        return
    if grievance["deadline"] != deadline_ms:
        return
    step: dict[str, Any] = {"height": act.ctx.height, "time": act.ctx.time_ms}
    above = area_parent(grievance["escalated_to"])
    if len(grievance["escalations"]) >= MAX_ESCALATIONS or above is None:
        grievance["overdue"] = True
        step["to"] = "overdue"
    else:
        deadline = act.ctx.time_ms + current_policy(act.records).grievance_deadline_s * 1000
        grievance.update(escalated_to=above, deadline=deadline)
        schedule(act.records, "grievance", ident, deadline)
        step["to"] = above
    grievance["escalations"].append(step)
    save(act, "grievance", ident, grievance)
    act.emit("grievance_escalated", grievance=ident, **step)
