from __future__ import annotations

from typing import Any

import pytest

from aid.errors import (
    BadArgs,
    Duplicate,
    NoticeNotOver,
    UnknownArea,
    UnknownEntity,
    WrongArea,
    WrongRole,
    WrongState,
)
from aid.exits import CRITERIA
from aid.identity import account_commitment
from aid.state import Records
from tests.aid.helpers import (
    APPROVER,
    AUDITOR,
    CIVIL,
    COUNTY,
    FAR_REGISTRAR,
    IDS,
    MAKER,
    OTHER_VILLAGE,
    REG_KEY,
    TOWNSHIP,
    TOWNSHIP_REVIEWER,
    VILLAGE_REVIEWER,
    MemoryChain,
    apply,
    ids,
    key,
    register,
    registry_chain,
    sealed_to,
)


@pytest.fixture
def chain() -> MemoryChain:
    return registry_chain()


def status(chain: MemoryChain, hh: str) -> str:
    return str(Records(chain).need("household", hh)["status"])


def test_application_to_registration_through_notice(chain: MemoryChain) -> None:
    hh = apply(chain, ids(IDS[0], IDS[1]))
    assert status(chain, hh) == "applied"
    chain.act(VILLAGE_REVIEWER, "household.review", household=hh, stage="village")
    assert status(chain, hh) == "notice"
    chain.time_ms += 7 * 86_400_000 - 1000
    with pytest.raises(NoticeNotOver, match="another 1 s"):
        chain.act(TOWNSHIP_REVIEWER, "household.review", household=hh, stage="township")
    chain.time_ms += 1000
    chain.act(TOWNSHIP_REVIEWER, "household.review", household=hh, stage="township")
    with pytest.raises(WrongState, match="township review needs notice"):
        chain.act(TOWNSHIP_REVIEWER, "household.review", household=hh, stage="township")
    out = chain.act(APPROVER, "household.review", household=hh, stage="county")
    assert status(chain, hh) == "registered"
    assert out.touched == (f"household/{hh}",)
    record = Records(chain).need("household", hh)
    assert [r["stage"] for r in record["reviews"]] == ["village", "township", "county"]


def test_the_applicant_never_reviews_its_own_application(chain: MemoryChain) -> None:
    chain.grant(MAKER, "village_registrar", TOWNSHIP, "village")
    hh = apply(chain, ids(IDS[0]))
    with pytest.raises(WrongRole, match="maker"):
        chain.act(MAKER, "household.review", household=hh, stage="village")


def test_reviews_need_the_stage_role_and_area(chain: MemoryChain) -> None:
    hh = apply(chain, ids(IDS[0]))
    with pytest.raises(WrongRole, match="village_registrar"):
        chain.act(APPROVER, "household.review", household=hh, stage="village")
    chain.grant(FAR_REGISTRAR, "registrar", OTHER_VILLAGE, "office2")
    with pytest.raises(WrongArea):
        apply(chain, ids(IDS[1]), signer=FAR_REGISTRAR)


def test_one_person_in_two_active_households_is_caught(chain: MemoryChain) -> None:
    first = register(chain, ids(IDS[0], IDS[1]))
    with pytest.raises(Duplicate, match=f"active household {first}") as info:
        apply(chain, ids(IDS[2], IDS[1]))
    assert info.value.data["check"] == "same_person_two_households"
    chain.act(APPROVER, "household.remove", household=first, reason="moved away")
    apply(chain, ids(IDS[2], IDS[1]))  # a removed household no longer holds its members


def test_one_bank_account_behind_two_households_is_caught(chain: MemoryChain) -> None:
    acct = account_commitment(REG_KEY, "6222020012345678")
    apply(chain, ids(IDS[0]), account_commitment=acct)
    with pytest.raises(Duplicate, match="bank account") as info:
        apply(chain, ids(IDS[1]), account_commitment=acct)
    assert info.value.data["check"] == "same_account_two_households"


@pytest.mark.parametrize(
    ("over", "error", "message"),
    [
        ({"members": ["11010519491231002X"]}, BadArgs, "never an ID number"),
        ({"members": ["ab" * 32, "ab" * 32]}, BadArgs, "distinct"),
        ({"members": []}, BadArgs, "1 or more"),
        ({"village": "530102001999"}, UnknownArea, "530102001999 is not in this chain's area"),
        ({"village": TOWNSHIP}, BadArgs, f"a village code, not the township {TOWNSHIP}"),
        ({"village": "5301020010"}, UnknownArea, "12 digits"),
        ({"income_per_head_yuan": -1}, BadArgs, "income_per_head_yuan"),
        ({"cause": "laziness"}, BadArgs, "cause must be one of"),
        ({"sealed": {}}, BadArgs, 'sealed must be {"data", "keys"}'),
        ({"sealed": {"office": "ab" * 40}}, BadArgs, 'sealed must be {"data", "keys"}'),
        ({"sealed": {**sealed_to("office"), "data": "张三"}}, BadArgs, "base64 of encrypted"),
        ({"sealed": sealed_to("office", data_bytes=40)}, BadArgs, "base64 of encrypted"),
        ({"sealed": {**sealed_to("office"), "data": "QUJD" * 2049}}, BadArgs, "at most 8192"),
        ({"sealed": sealed_to()}, BadArgs, "to 1 to 256 organisations"),
        ({"sealed": {**sealed_to(), "keys": {"office": "QUJD"}}}, BadArgs, "data key sealed to"),
        ({"sealed": {**sealed_to(), "keys": {"office": "=" * 108}}}, BadArgs, "data key sealed"),
        ({"sealed": sealed_to("ghost")}, UnknownEntity, "ghost"),
        ({"name": "张三"}, BadArgs, "unknown arguments"),
    ],
)
def test_bad_applications_are_refused_and_change_nothing(
    chain: MemoryChain, over: dict[str, Any], error: type[Exception], message: str
) -> None:
    before = dict(chain.state)
    with pytest.raises(error, match=message):
        apply(chain, **{"members": ids(IDS[0]), **over})
    assert chain.state == before


def test_a_county_registrar_files_households_only_in_the_trees_villages(
    chain: MemoryChain,
) -> None:
    """A registrar's county contains every well-formed code under it; only the genesis tree's
    villages are places a household can live (a county or township code, or a village the
    tree does not list, would be counted nowhere the agencies look)."""
    registrar = key("county-registrar")
    chain.grant(registrar, "registrar", COUNTY, "office")
    before = dict(chain.state)
    for area, error in ((COUNTY, BadArgs), (TOWNSHIP, BadArgs), ("530102009001", UnknownArea)):
        with pytest.raises(error, match=area) as info:
            apply(chain, ids(IDS[0]), village=area, signer=registrar)
        assert info.value.data["argument"] == "village"
    assert chain.state == before
    apply(chain, ids(IDS[0]), signer=registrar)  # the tree's village


def test_lifting_needs_its_own_notice_and_a_second_approver(chain: MemoryChain) -> None:
    hh = register(chain, ids(IDS[0]))
    # the exit criteria, as exit.attest records them (tests/aid/test_monitoring.py)
    Records(chain).put("attest", hh, {c: {"met": True} for c in CRITERIA})
    chain.act(APPROVER, "household.lift", household=hh, step="propose")
    second = key("appr2")
    chain.grant(second, "approver", COUNTY, "office")
    with pytest.raises(NoticeNotOver):
        chain.act(second, "household.lift", household=hh, step="confirm")
    chain.time_ms += 7 * 86_400_000
    with pytest.raises(WrongRole, match="proposed the lifting"):
        chain.act(APPROVER, "household.lift", household=hh, step="confirm")
    chain.act(second, "household.lift", household=hh, step="confirm")
    assert status(chain, hh) == "lifted"
    # a lifted household stays on the registry, and its data stays correctable
    new_account = account_commitment(REG_KEY, "6228480000000009")
    chain.act(MAKER, "household.change", household=hh, account_commitment=new_account, reason="x")
    chain.act(
        APPROVER, "household.change_review", change=chain.last_id("change"), decision="approve"
    )
    assert Records(chain).need("household", hh)["account_commitment"] == new_account
    chain.act(APPROVER, "household.remove", household=hh, reason="moved abroad")
    with pytest.raises(WrongState, match="is removed; only registered or lifted ones change"):
        chain.act(MAKER, "household.change", household=hh, size=2, reason="x")


def test_labels_come_from_civil_affairs_only(chain: MemoryChain) -> None:
    hh = register(chain, ids(IDS[0]))
    with pytest.raises(WrongRole, match="civil affairs"):
        chain.act(TOWNSHIP_REVIEWER, "household.label", household=hh, label="dibao", present=True)
    chain.act(CIVIL, "household.label", household=hh, label="dibao", present=True)
    assert Records(chain).need("household", hh)["labels"] == ["dibao"]


def test_an_auditors_view_of_personal_data_is_on_chain(chain: MemoryChain) -> None:
    hh = register(chain, ids(IDS[0]))
    out = chain.act(AUDITOR, "household.view", household=hh, purpose="sample 2026-11")
    assert out.events[0]["name"] == "personal_data_viewed"
    with pytest.raises(WrongRole):
        chain.act(APPROVER, "household.view", household=hh, purpose="curious")


def test_rejection_closes_an_open_application_with_its_reason(chain: MemoryChain) -> None:
    hh = apply(chain, ids(IDS[0]))
    chain.act(VILLAGE_REVIEWER, "household.reject", household=hh, reason="income above line")
    record = Records(chain).need("household", hh)
    assert (record["status"], record["reason"]) == ("rejected", "income above line")
    apply(chain, ids(IDS[0]))  # a rejected household does not hold its members


def change_members(chain: MemoryChain, hh: str, members: list[str], **over: Any) -> str:
    """Propose a change of ``hh``'s members (with sealed data) and return the change's id."""
    args: dict[str, Any] = {"members": members, "sealed": sealed_to("office"), "reason": "x"}
    chain.act(MAKER, "household.change", household=hh, **{**args, **over})
    return chain.last_id("change")


def idc_owner(chain: MemoryChain, person: str) -> str | None:
    entry = Records(chain).get("idc", person)
    return None if entry is None else str(entry["household"])


def test_a_birth_and_a_departure_change_the_members_through_review(chain: MemoryChain) -> None:
    (old, kept), (born,) = ids(IDS[0], IDS[1]), ids(IDS[2])
    hh = register(chain, [old, kept])
    change = change_members(chain, hh, [kept, born], size=2)
    assert idc_owner(chain, born) is None  # claimed only once the change is approved
    chain.act(APPROVER, "household.change_review", change=change, decision="approve")
    record = Records(chain).need("household", hh)
    assert (record["members"], record["version"]) == (sorted([kept, born]), 2)
    assert [idc_owner(chain, p) for p in (old, kept, born)] == [None, hh, hh]
    other = apply(chain, [old])  # the one who left may join another household
    assert idc_owner(chain, old) == other


def test_a_change_of_members_refuses_duplicates_and_stale_data(chain: MemoryChain) -> None:
    (a, b, c) = ids(*IDS)
    hh, neighbour = register(chain, [a]), register(chain, [b])
    before = dict(chain.state)
    with pytest.raises(Duplicate, match=f"active household {neighbour}") as info:
        change_members(chain, hh, [a, b])
    assert info.value.data["check"] == "same_person_two_households"
    with pytest.raises(BadArgs, match="sealed again"):
        chain.act(MAKER, "household.change", household=hh, members=[a, c], reason="x")
    with pytest.raises(BadArgs, match="already has exactly these members"):
        change_members(chain, hh, [a])
    with pytest.raises(BadArgs, match="distinct"):
        change_members(chain, hh, [a, a])
    assert chain.state == before
    # c joins the neighbour while hh's request for c is pending: the approval is refused
    change = change_members(chain, hh, [a, c])
    joined = change_members(chain, neighbour, [b, c])
    chain.act(APPROVER, "household.change_review", change=joined, decision="approve")
    with pytest.raises(Duplicate, match=f"active household {neighbour}"):
        chain.act(APPROVER, "household.change_review", change=change, decision="approve")
    assert idc_owner(chain, c) == neighbour
