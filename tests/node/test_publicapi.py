"""Public reads over an in-memory ledger: published lists only, no ids, hashes that compare."""

from __future__ import annotations

import json

import pytest

from aid.errors import BadArgs, UnknownArea
from aid.state import Records
from node import publicapi
from tests.aid.helpers import APPROVER, COUNTY, VILLAGE, MemoryChain
from tests.aid.money import approved_cycle, fund_program, households, money_chain
from tests.aid.test_disclosure import draft, rows


def published_chain() -> tuple[MemoryChain, str, list[str], str]:
    chain = money_chain()
    program = fund_program(chain)
    hhs = households(chain, 3)
    cycle = approved_cycle(chain, program, hhs)
    ident = draft(chain, cycle, rows(program, hhs))
    return chain, program, hhs, ident


def test_a_draft_is_not_public_a_published_list_is() -> None:
    chain, _program, hhs, ident = published_chain()
    records = Records(chain)
    empty = publicapi.disclosure(records, chain, VILLAGE, "2026-11")
    assert empty["disclosure"] is None
    chain.act(APPROVER, "disclosure.publish", disclosure=ident)
    data = publicapi.disclosure(records, chain, VILLAGE, "2026-11")
    shown = data["disclosure"]
    assert shown["status"] == "published" and shown["content"]["count"] == 3
    assert shown["content_hash"] == records.need("disclosure", ident)["content_hash"]
    text = json.dumps(data)
    for hh in hhs:
        assert hh not in text  # no household id
    assert all(
        set(r) == {"masked_name", "village", "program", "amount_fen"}
        for r in shown["content"]["rows"]
    )
    a = publicapi.answer(data, 10)
    b = publicapi.answer(publicapi.disclosure(records, chain, VILLAGE, "2026-11"), 11)
    assert a["content_hash"] == b["content_hash"]


def test_bad_public_input_is_refused() -> None:
    chain = money_chain()
    with pytest.raises(BadArgs, match="not a village"):
        publicapi.disclosure(Records(chain), chain, COUNTY, "2026-11")
    with pytest.raises(BadArgs, match="month"):
        publicapi.disclosure(Records(chain), chain, VILLAGE, "11/2026")
    with pytest.raises(UnknownArea):
        publicapi.programs(Records(chain), chain, "12345")
    with pytest.raises(BadArgs, match="year"):
        publicapi.funds(Records(chain), chain, COUNTY, 1999)
    with pytest.raises(BadArgs, match="cursor"):
        publicapi.events(Records(chain), chain, COUNTY, "x", lambda h: 0)
    # a well-formed code the genesis tree does not list is refused, not answered with zeros
    for read in (
        lambda area: publicapi.programs(Records(chain), chain, area),
        lambda area: publicapi.funds(Records(chain), chain, area, 2026),
        lambda area: publicapi.events(Records(chain), chain, area, None, lambda h: 0),
        lambda area: publicapi.disclosure(Records(chain), chain, area, "2026-11"),
    ):
        with pytest.raises(UnknownArea, match="530102009000 is not in this chain's area tree"):
            read("530102009000")
    with pytest.raises(UnknownArea, match="530102001009"):
        publicapi.disclosure(Records(chain), chain, "530102001009", "2026-11")  # no such village


def test_funds_programs_and_events_of_a_county() -> None:
    chain, program, _, ident = published_chain()
    chain.act(APPROVER, "disclosure.publish", disclosure=ident)
    records = Records(chain)
    funds = publicapi.funds(records, chain, COUNTY, 2026)
    assert [f["amount_fen"] for f in funds["funds"]] == [1_000_000]
    assert [p["id"] for p in funds["programs"]] == [program]
    assert funds["programs"][0]["rule"]["per_household_cap_fen"] == 100_000
    assert publicapi.funds(records, chain, COUNTY, 2025)["funds"] == []
    progs = publicapi.programs(records, chain, COUNTY)["programs"]
    assert progs[0]["committed_fen"] == 150_000
    page = publicapi.events(records, chain, COUNTY, None, lambda h: h * 1000)
    actions = [e["action"] for e in page["events"]]
    assert actions[0] == "disclosure.publish" and "fund.receive" in actions
    heights = [e["height"] for e in page["events"]]
    assert heights == sorted(heights, reverse=True)
    assert page["next_cursor"] is None
