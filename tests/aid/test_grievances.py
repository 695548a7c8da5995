"""Grievances: filing with links, sensitive reports sealed, lifecycle, deadlines, notice holds."""

from __future__ import annotations

from typing import Any

import pytest

from aid.errors import (
    BadArgs,
    NoticeNotOver,
    UnknownArea,
    UnknownEntity,
    WrongArea,
    WrongRole,
    WrongState,
)
from aid.exits import CRITERIA
from aid.reads import list_entities
from aid.state import Records
from tests.aid.helpers import (
    APPROVER,
    AUDITOR,
    TOWNSHIP,
    TOWNSHIP_REVIEWER,
    VILLAGE_REVIEWER,
    MemoryChain,
    apply,
    ids,
    key,
    sealed_to,
    valid_id,
)
from tests.aid.oversight import (
    CADRE,
    CIVIL_REVIEWER,
    COUNTY,
    DAY_MS,
    DISPATCHER,
    GRID,
    HANDLER,
    HASH,
    REVIEWER,
    VILLAGE,
    history_actions,
    household,
    oversight_chain,
    record,
    sweep,
)

SEALED = sealed_to("audit", "office")
STRANGER = key("stranger")


@pytest.fixture
def chain() -> MemoryChain:
    return oversight_chain()


def file(chain: MemoryChain, signer: Any = GRID, **args: Any) -> str:
    chain.act(signer, "grievance.file", **args)
    return chain.last_id("grievance")


def plain(chain: MemoryChain, hh: str, category: str = "not_received") -> str:
    return file(
        chain, category=category, links=[{"kind": "household", "id": hh}], content_hash=HASH
    )


def test_a_grievance_links_a_household_and_takes_its_area(chain: MemoryChain) -> None:
    hh = household(chain)
    g = record(chain, "grievance", plain(chain, hh))
    assert (g["area"], g["status"], g["category"], g["sensitive"]) == (
        VILLAGE,
        "received",
        "not_received",
        False,
    )
    assert g["links"] == [{"kind": "household", "id": hh}] and g["org"] == "village"
    assert g["deadline"] == chain.time_ms + 15 * DAY_MS and g["created_time"] == chain.time_ms


def test_a_grievance_about_an_area_only(chain: MemoryChain) -> None:
    g = record(chain, "grievance", file(chain, category="service", area=TOWNSHIP))
    assert g["area"] == TOWNSHIP and g["links"] == [] and g["content_hash"] is None


@pytest.mark.parametrize(
    ("signer", "args", "error", "message"),
    [
        (STRANGER, {"category": "service", "area": VILLAGE}, WrongRole, "agency account"),
        (GRID, {"category": "service", "area": "530103001001"}, WrongArea, "no role over"),
        (GRID, {"category": "gossip", "area": VILLAGE}, BadArgs, "category must be one of"),
        (GRID, {"category": "service"}, BadArgs, "links or an area"),
        (GRID, {"category": "service", "area": "53"}, UnknownArea, "12 digits"),
        (GRID, {"category": "service", "links": [{"kind": "fund", "id": "x"}]}, BadArgs, "kind"),
        (GRID, {"category": "service", "links": [{"kind": "household", "id": "x"}]},
         UnknownEntity, "no household"),
        (GRID, {"category": "service", "links": ["x"]}, BadArgs, "links\\[0\\]"),
        (GRID, {"category": "fraud", "area": VILLAGE}, BadArgs, "content_sealed"),
        (GRID, {"category": "fraud", "area": VILLAGE, "content_sealed": sealed_to("office")},
         BadArgs, "sealed to an auditor"),
        (GRID, {"category": "bribery", "area": VILLAGE, "content_sealed": SEALED,
                "links": []}, BadArgs, "no plain links"),
        (GRID, {"category": "data_leak", "area": VILLAGE, "content_sealed": SEALED,
                "content_hash": HASH}, BadArgs, "no plain content_hash"),
        (GRID, {"category": "objection", "area": VILLAGE}, BadArgs, "exactly one household"),
    ],
)  # fmt: skip
def test_filing_refusals_change_nothing(
    chain: MemoryChain, signer: Any, args: dict[str, Any], error: type[Exception], message: str
) -> None:
    before = dict(chain.state)
    with pytest.raises(error, match=message):
        file(chain, signer=signer, **args)
    assert chain.state == before


def test_a_sensitive_report_shows_only_non_personal_fields(chain: MemoryChain) -> None:
    g_id = file(chain, category="fraud", area=VILLAGE, content_sealed=SEALED)
    g = record(chain, "grievance", g_id)
    assert g["sensitive"] is True and g["links"] == [] and g["content_hash"] is None
    assert g["content_sealed"] == SEALED
    listed = list_entities(Records(chain), chain, "grievance", {"category": "fraud"})
    assert [x["id"] for x in listed.items] == [g_id]


def test_a_sensitive_report_is_assigned_by_an_auditor_to_a_reader(chain: MemoryChain) -> None:
    g_id = file(chain, category="bribery", area=VILLAGE, content_sealed=sealed_to("audit"))
    with pytest.raises(WrongRole, match="auditor of a auditor"):
        chain.act(DISPATCHER, "grievance.assign", grievance=g_id, handler=HANDLER.public_hex)
    with pytest.raises(WrongRole, match="sealed to"):
        chain.act(AUDITOR, "grievance.assign", grievance=g_id, handler=HANDLER.public_hex)
    chain.act(AUDITOR, "grievance.assign", grievance=g_id, handler=AUDITOR.public_hex)
    g = record(chain, "grievance", g_id)
    assert (g["handler"], g["handler_org"]) == (AUDITOR.public_hex, "audit")


def test_the_lifecycle_with_maker_not_checker_at_close(chain: MemoryChain) -> None:
    g_id = plain(chain, household(chain))
    with pytest.raises(WrongRole, match="handler is a"):
        chain.act(DISPATCHER, "grievance.assign", grievance=g_id, handler=GRID.public_hex)
    chain.act(DISPATCHER, "grievance.assign", grievance=g_id, handler=CADRE.public_hex)
    with pytest.raises(WrongState, match="needs in_progress"):
        chain.act(CADRE, "grievance.resolve", grievance=g_id, outcome="upheld",
                  resolution_hash=HASH)  # fmt: skip
    with pytest.raises(WrongRole, match="only the handler"):
        chain.act(HANDLER, "grievance.progress", grievance=g_id)
    chain.act(CADRE, "grievance.progress", grievance=g_id, note_hash=HASH)
    with pytest.raises(BadArgs, match="outcome must be one of"):
        chain.act(CADRE, "grievance.resolve", grievance=g_id, outcome="maybe",
                  resolution_hash=HASH)  # fmt: skip
    chain.act(CADRE, "grievance.resolve", grievance=g_id, outcome="upheld", resolution_hash=HASH)
    with pytest.raises(WrongRole, match="cannot also close"):
        chain.act(CADRE, "grievance.close", grievance=g_id)
    with pytest.raises(WrongRole):
        chain.act(HANDLER, "grievance.close", grievance=g_id)
    chain.act(GRID, "grievance.close", grievance=g_id)  # the filer
    g = record(chain, "grievance", g_id)
    assert (g["status"], g["outcome"]) == ("closed", "upheld")
    assert history_actions(chain, "grievance", g_id) == [
        "grievance.file",
        "grievance.assign",
        "grievance.progress",
        "grievance.resolve",
        "grievance.close",
    ]


def test_a_checker_may_close_and_states_are_kept(chain: MemoryChain) -> None:
    g_id = plain(chain, household(chain))
    with pytest.raises(WrongState, match="needs resolved"):
        chain.act(CIVIL_REVIEWER, "grievance.close", grievance=g_id)
    chain.act(CIVIL_REVIEWER, "grievance.assign", grievance=g_id, handler=REVIEWER.public_hex)
    chain.act(REVIEWER, "grievance.progress", grievance=g_id)
    chain.act(REVIEWER, "grievance.resolve", grievance=g_id, outcome="rejected",
              resolution_hash=HASH)  # fmt: skip
    chain.act(CIVIL_REVIEWER, "grievance.close", grievance=g_id)
    assert record(chain, "grievance", g_id)["status"] == "closed"


def test_an_unresolved_grievance_escalates_up_the_area_tree(chain: MemoryChain) -> None:
    g_id = plain(chain, household(chain))
    for expected in (TOWNSHIP, COUNTY):
        chain.time_ms += 15 * DAY_MS
        sweep(chain)
        assert record(chain, "grievance", g_id)["escalated_to"] == expected
    chain.time_ms += 15 * DAY_MS
    sweep(chain)
    g = record(chain, "grievance", g_id)
    assert g["overdue"] is True and [e["to"] for e in g["escalations"]] == [
        TOWNSHIP,
        COUNTY,
        "overdue",
    ]
    chain.time_ms += 60 * DAY_MS
    assert sweep(chain).events == ()


def test_a_resolved_grievance_does_not_escalate(chain: MemoryChain) -> None:
    g_id = plain(chain, household(chain))
    chain.act(DISPATCHER, "grievance.assign", grievance=g_id, handler=CADRE.public_hex)
    chain.act(CADRE, "grievance.progress", grievance=g_id)
    chain.act(CADRE, "grievance.resolve", grievance=g_id, outcome="upheld", resolution_hash=HASH)
    chain.time_ms += 20 * DAY_MS
    assert sweep(chain).events == ()


# --- objections hold a public notice -------------------------------------------------------
def in_notice(chain: MemoryChain) -> str:
    hh = apply(chain, ids(valid_id("53010219700101377")))
    chain.act(VILLAGE_REVIEWER, "household.review", household=hh, stage="village")
    return hh


def object_to(chain: MemoryChain, hh: str) -> str:
    return file(
        chain, category="objection", links=[{"kind": "household", "id": hh}], content_hash=HASH
    )


def settle(chain: MemoryChain, g_id: str) -> None:
    chain.act(DISPATCHER, "grievance.assign", grievance=g_id, handler=CADRE.public_hex)
    chain.act(CADRE, "grievance.progress", grievance=g_id)
    chain.act(CADRE, "grievance.resolve", grievance=g_id, outcome="rejected", resolution_hash=HASH)


def test_an_objection_holds_the_registration_notice_until_resolved(chain: MemoryChain) -> None:
    hh = in_notice(chain)
    g_id = object_to(chain, hh)
    assert record(chain, "grievance", g_id)["holds"] == hh
    assert record(chain, "household", hh)["objections"] == 1
    chain.time_ms += 8 * DAY_MS
    before = dict(chain.state)
    with pytest.raises(NoticeNotOver, match="open objection"):
        chain.act(TOWNSHIP_REVIEWER, "household.review", household=hh, stage="township")
    assert chain.state == before
    settle(chain, g_id)
    assert "objections" not in record(chain, "household", hh)
    chain.act(TOWNSHIP_REVIEWER, "household.review", household=hh, stage="township")


def test_an_objection_after_the_notice_is_refused(chain: MemoryChain) -> None:
    hh = in_notice(chain)
    chain.time_ms += 7 * DAY_MS
    with pytest.raises(WrongState, match="not in a public notice"):
        object_to(chain, hh)
    with pytest.raises(WrongState, match="not in a public notice"):
        object_to(chain, household(chain))


def test_an_objection_holds_a_lifting_notice(chain: MemoryChain) -> None:
    hh = household(chain)
    Records(chain).put("attest", hh, {c: {"met": True} for c in CRITERIA})
    chain.act(APPROVER, "household.lift", household=hh, step="propose")
    g_id = object_to(chain, hh)
    second = key("appr2")
    chain.grant(second, "approver", COUNTY, "office")
    chain.time_ms += 8 * DAY_MS
    with pytest.raises(NoticeNotOver, match="open objection"):
        chain.act(second, "household.lift", household=hh, step="confirm")
    settle(chain, g_id)
    chain.act(second, "household.lift", household=hh, step="confirm")
    assert record(chain, "household", hh)["status"] == "lifted"


def test_two_objections_need_both_resolved(chain: MemoryChain) -> None:
    hh = in_notice(chain)
    first, second = object_to(chain, hh), object_to(chain, hh)
    settle(chain, first)
    chain.time_ms += 8 * DAY_MS
    with pytest.raises(NoticeNotOver):
        chain.act(TOWNSHIP_REVIEWER, "household.review", household=hh, stage="township")
    settle(chain, second)
    chain.act(TOWNSHIP_REVIEWER, "household.review", household=hh, stage="township")
