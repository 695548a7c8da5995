"""Public disclosure: masked names only, rows the ledger checks, a window, objections, close."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aid.cycles import entitlement_id
from aid.disclosure import (
    MASKED_NAME,
    content_hash,
    mask_name,
    masked_rows,
    public_content,
    window_end_ms,
)
from aid.errors import (
    BadArgs,
    NoticeNotOver,
    UnknownArea,
    UnknownEntity,
    WrongRole,
    WrongState,
)
from aid.state import Records
from tests.aid.helpers import APPROVER, TOWNSHIP, VILLAGE, MemoryChain, key
from tests.aid.money import HANDLER, approved_cycle, fund_program, households, money_chain

OTHER_HANDLER = key("hand2")
NAMES = ["张*三", "李*", "欧**明"]


def disclosure_chain() -> tuple[MemoryChain, str, str, list[str]]:
    chain = money_chain()
    chain.grant(OTHER_HANDLER, "handler", VILLAGE, "office")
    program = fund_program(chain)
    hhs = households(chain, 3)
    cycle = approved_cycle(chain, program, hhs)
    return chain, program, cycle, hhs


def rows(program: str, hhs: list[str], names: list[str] = NAMES) -> list[dict[str, Any]]:
    return [
        {"entitlement": entitlement_id(program, "2026-11", hh), "masked_name": name}
        for hh, name in zip(hhs, names, strict=True)
    ]


def draft(chain: MemoryChain, cycle: str, rows_: list[dict[str, Any]], **over: Any) -> str:
    args: dict[str, Any] = {"village": VILLAGE, "period": "2026-11", "cycles": [cycle]}
    chain.act(over.pop("signer", HANDLER), "disclosure.draft", **{**args, "rows": rows_, **over})
    return chain.last_id("disclosure")


def test_mask_name_keeps_first_and_last_character_only() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("张小三") == "张*三"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_name(" 王 五 ") == "王*"
    for name in ("张三", "张小三", "欧阳小明", "Ann Lee", "爱新觉罗溥仪某某"):
        assert MASKED_NAME.match(mask_name(name))
    with pytest.raises(BadArgs):
        mask_name("  ")
    assert masked_rows([("e1", "张小三")]) == [{"entitlement": "e1", "masked_name": "张*三"}]


@given(st.text(min_size=1, max_size=12))
def test_a_masked_name_never_holds_a_digit_or_the_middle(name: str) -> None:
    if not name.strip():
        return
    masked = mask_name(name)
    assert masked.count("*") >= 1 and len(masked) <= 6
    assert masked[0] == "".join(name.split())[0]


def test_window_counts_working_days_in_china_standard_time() -> None:
    friday_noon_cst = 1_764_302_400_000  # 2025-11-28 12:00 +08:00, a Friday
    end = window_end_ms(friday_noon_cst, 1)  # Monday 2025-12-01 ends at 24:00 CST
    assert end == 1_764_604_800_000  # 2025-12-02 00:00 +08:00
    assert window_end_ms(friday_noon_cst, 5) - end == 4 * 86_400_000  # Tue..Fri
    assert window_end_ms(friday_noon_cst, 6) - end == 7 * 86_400_000  # next Monday
    saturday = friday_noon_cst + 86_400_000
    assert window_end_ms(saturday, 5) == window_end_ms(friday_noon_cst, 5)


def test_content_hash_is_of_canonical_json_and_has_no_ids() -> None:
    content = public_content(
        VILLAGE,
        "2026-11",
        [{"id": "p1", "name": "x", "purpose": "living", "category": "cash"}],
        [{"entitlement": "e1", "masked_name": "张*三", "program": "p1", "amount_fen": 5}],
    )
    assert content["rows"] == [
        {"masked_name": "张*三", "village": VILLAGE, "program": "p1", "amount_fen": 5}
    ]
    assert content_hash(content) == content_hash(dict(reversed(list(content.items()))))
    assert "e1" not in str(content)


def test_draft_takes_amounts_from_the_ledger_and_hashes_the_content() -> None:
    chain, program, cycle, hhs = disclosure_chain()
    ident = draft(chain, cycle, rows(program, hhs))
    record = Records(chain).need("disclosure", ident)
    assert record["status"] == "draft" and record["count"] == 3
    assert record["total_fen"] == 3 * 50_000
    assert {r["masked_name"] for r in record["rows"]} == set(NAMES)
    programs = [{"id": program, "name": "Living subsidy", "purpose": "living", "category": "cash"}]
    expected = public_content(VILLAGE, "2026-11", programs, record["rows"])
    assert record["content_hash"] == content_hash(expected)


@pytest.mark.parametrize("bad", ["张三丰", "张*三*", "1*2", "张*3", "*三", "张*****三", "", 5])
def test_a_full_name_or_a_number_is_refused(bad: Any) -> None:
    chain, program, cycle, hhs = disclosure_chain()
    names = [bad, "李*", "王*"]
    with pytest.raises(BadArgs, match="masked display name"):
        draft(chain, cycle, rows(program, hhs, names))
    assert not any(k.startswith("aid/disclosure/") for k in chain.state)


def test_rows_must_be_exactly_the_villages_entitlements() -> None:
    chain, program, cycle, hhs = disclosure_chain()
    with pytest.raises(BadArgs, match="1 missing"):
        draft(chain, cycle, rows(program, hhs[:2], NAMES[:2]))
    extra = [*rows(program, hhs), {"entitlement": "f" * 20, "masked_name": "赵*"}]
    with pytest.raises(BadArgs, match="1 not among them"):
        draft(chain, cycle, extra)
    doubled = [*rows(program, hhs), rows(program, hhs)[0]]
    with pytest.raises(BadArgs, match="twice"):
        draft(chain, cycle, doubled)


def test_a_disclosure_is_of_one_village_of_the_tree() -> None:
    chain, program, cycle, hhs = disclosure_chain()
    with pytest.raises(BadArgs, match=f"a village code, not the township {TOWNSHIP}"):
        draft(chain, cycle, rows(program, hhs), village=TOWNSHIP)
    with pytest.raises(UnknownArea, match="530102001009 is not in this chain's area tree"):
        draft(chain, cycle, rows(program, hhs), village="530102001009")
    assert not any(k.startswith("aid/disclosure/") for k in chain.state)


def test_only_approved_cycles_and_handlers() -> None:
    chain, program, cycle, hhs = disclosure_chain()
    with pytest.raises(WrongRole):
        draft(chain, cycle, rows(program, hhs), signer=APPROVER)
    chain.act(HANDLER, "cycle.create", program=program, period="2026-12")
    draft_cycle = chain.last_id("cycle")
    with pytest.raises(WrongState, match="approved cycles"):
        draft(chain, draft_cycle, rows(program, hhs), period="2026-12")


def test_publish_by_another_account_then_close_after_the_window() -> None:
    chain, program, cycle, hhs = disclosure_chain()
    ident = draft(chain, cycle, rows(program, hhs))
    with pytest.raises(WrongRole):  # the drafter holds no approver role, and is the maker
        chain.act(HANDLER, "disclosure.publish", disclosure=ident)
    chain.act(APPROVER, "disclosure.publish", disclosure=ident)
    record = Records(chain).need("disclosure", ident)
    assert record["status"] == "published"
    assert record["window_end_ms"] == window_end_ms(record["published_time"], 7)
    with pytest.raises(WrongState):
        chain.act(APPROVER, "disclosure.publish", disclosure=ident)
    with pytest.raises(NoticeNotOver, match="window runs"):
        chain.act(HANDLER, "disclosure.close", disclosure=ident)
    chain.time_ms = record["window_end_ms"] + 1
    chain.act(OTHER_HANDLER, "disclosure.close", disclosure=ident)
    assert Records(chain).need("disclosure", ident)["status"] == "closed"


def test_an_open_grievance_holds_the_close() -> None:
    chain, program, cycle, hhs = disclosure_chain()
    ident = draft(chain, cycle, rows(program, hhs))
    chain.act(APPROVER, "disclosure.publish", disclosure=ident)
    with pytest.raises(UnknownEntity, match="no grievance 'g1'"):
        chain.act(HANDLER, "disclosure.object", disclosure=ident, grievance="g1")
    link = {"kind": "disclosure", "id": ident}
    # an objection filed against the published list holds it at once
    chain.act(HANDLER, "grievance.file", category="objection", links=[link])
    objection = chain.last_id("grievance")
    assert Records(chain).need("disclosure", ident)["objections"] == [objection]
    with pytest.raises(WrongState, match="already holds"):
        chain.act(HANDLER, "disclosure.object", disclosure=ident, grievance=objection)
    # another grievance about the list is recorded as an objection by disclosure.object
    chain.act(HANDLER, "grievance.file", category="eligibility", links=[link])
    other = chain.last_id("grievance")
    chain.act(HANDLER, "disclosure.object", disclosure=ident, grievance=other)
    chain.act(
        HANDLER, "grievance.file", category="eligibility", links=[{"kind": "cycle", "id": cycle}]
    )
    with pytest.raises(BadArgs, match="not linked"):
        chain.act(
            HANDLER, "disclosure.object", disclosure=ident, grievance=chain.last_id("grievance")
        )
    chain.time_ms = Records(chain).need("disclosure", ident)["window_end_ms"] + 1
    with pytest.raises(NoticeNotOver, match="2 open objection"):
        chain.act(HANDLER, "disclosure.close", disclosure=ident)
    for g in (objection, other):
        record = Records(chain).need("grievance", g)
        chain.state[f"aid/grievance/{g}"] = {**record, "status": "resolved"}
    chain.act(HANDLER, "disclosure.close", disclosure=ident)
