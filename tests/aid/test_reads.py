"""Reads over the records and the read-side index the node keeps (here: MemoryChain's)."""

from __future__ import annotations

import pytest

from aid.cycles import entitlement_id
from aid.errors import BadArgs
from aid.identity import account_commitment
from aid.reads import get_entity, history, list_entities, list_prefix, trace
from aid.state import Records
from tests.aid.helpers import (
    APPROVER,
    COUNTY,
    MAKER,
    REG_KEY,
    TOWNSHIP,
    VILLAGE,
    MemoryChain,
)
from tests.aid.money import (
    HANDLER,
    approved_cycle,
    batch,
    fund_program,
    households,
    money_chain,
    report,
)


@pytest.fixture
def chain() -> MemoryChain:
    return money_chain()


def test_list_prefixes_follow_the_index_key_order() -> None:
    assert list_prefix("household", {}) == "household/status/"
    assert list_prefix("household", {"area": COUNTY}) == "household/area/530102"
    assert list_prefix("household", {"status": "registered", "area": TOWNSHIP}) == (
        "household/status/registered/530102001"
    )
    assert list_prefix("cycle", {"program": "p1", "period": "2026-11"}) == (
        "cycle/program/p1/2026-11/"
    )
    with pytest.raises(BadArgs, match="can be filtered by"):
        list_prefix("cycle", {"period": "2026-11", "status": "draft"})
    with pytest.raises(BadArgs, match="at most 64"):
        list_prefix("cycle", {"status": "draft/../x"})
    with pytest.raises(BadArgs, match="kind must be one of"):
        list_prefix("account", {})


def test_an_areas_households_page_by_page(chain: MemoryChain) -> None:
    made = set(households(chain, 5))
    seen, cursor, pages = [], None, 0
    while True:
        page = list_entities(Records(chain), chain, "household", {"area": COUNTY}, cursor, 2)
        seen += [h["id"] for h in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert set(seen) == made and len(seen) == 5 and pages == 3
    assert list_entities(Records(chain), chain, "household", {"area": "530103000000"}).items == []
    registered = list_entities(
        Records(chain), chain, "household", {"status": "registered", "area": VILLAGE}, None, 50
    )
    assert {h["id"] for h in registered.items} == made
    with pytest.raises(BadArgs, match="limit"):
        list_entities(Records(chain), chain, "household", {}, None, 10_000)
    with pytest.raises(BadArgs, match="cursor"):
        list_entities(Records(chain), chain, "household", {"area": COUNTY}, "fund/area/x", 5)


def test_history_lists_every_transaction_that_changed_an_entity(chain: MemoryChain) -> None:
    (hh,) = households(chain, 1)
    steps = history(chain, "household", hh).items
    assert [s["action"] for s in steps] == [
        "household.apply",
        "household.review",
        "household.review",
        "household.review",
    ]
    assert all(len(s["tx"]) == 64 and s["height"] > 0 for s in steps)
    assert steps == sorted(steps, key=lambda s: s["height"])


def test_the_trace_runs_from_a_payment_up_to_the_fund_document(chain: MemoryChain) -> None:
    program = fund_program(chain)
    hhs = households(chain, 2)
    cycle = approved_cycle(chain, program, hhs)
    b = batch(chain, cycle, 2, 100_000)
    ent = entitlement_id(program, "2026-11", hhs[0])
    report(chain, b, {"entitlement": ent, "outcome": "paid", "amount": 50_000, "bank_ref": "R1"})
    out = trace(Records(chain), chain, "entitlement", ent)
    kinds = {n["kind"] for n in out["nodes"]}
    assert kinds == {"entitlement", "cycle", "household", "batch", "program", "allocation", "fund"}
    fund = next(n for n in out["nodes"] if n["kind"] == "fund")
    assert fund["record"]["doc_no"].startswith("滇财农")
    steps = {n["kind"]: [h["action"] for h in n["history"]] for n in out["nodes"]}
    assert steps["entitlement"][-1] == "payment.report"
    assert "cycle.approve" in steps["cycle"] and "batch.create" in steps["batch"]
    assert out["truncated"] is False


def test_the_trace_runs_down_from_a_fund_to_every_entitlement(chain: MemoryChain) -> None:
    program = fund_program(chain)
    hhs = households(chain, 3)
    approved_cycle(chain, program, hhs)
    fund_id = get_entity(Records(chain), "program", program)["funding"][0][0]  # an allocation
    alloc = Records(chain).need("allocation", fund_id)
    out = trace(Records(chain), chain, "fund", alloc["fund"])
    ents = [n for n in out["nodes"] if n["kind"] == "entitlement"]
    assert {e["record"]["household"] for e in ents} == set(hhs)
    households_seen = [n for n in out["nodes"] if n["kind"] == "household"]
    assert {h["id"] for h in households_seen} == set(hhs)


def test_a_batchs_entitlements_are_its_payment_instructions(chain: MemoryChain) -> None:
    """A bank lists what a batch asks it to pay; a payment re-issued into a second batch is
    listed under both, as both batches carried it."""
    program = fund_program(chain)
    hhs = households(chain, 2)
    cycle = approved_cycle(chain, program, hhs)
    first = batch(chain, cycle, 2, 100_000)
    failed, paid = (entitlement_id(program, "2026-11", hh) for hh in hhs)
    report(
        chain,
        first,
        {"entitlement": failed, "outcome": "failed", "amount": 50_000, "code": "account_closed"},
        {"entitlement": paid, "outcome": "paid", "amount": 50_000, "bank_ref": "R1"},
    )
    new_account = account_commitment(REG_KEY, "6228480000000001")
    chain.act(MAKER, "household.change", household=hhs[0], account_commitment=new_account,
              reason="account closed; new card")  # fmt: skip
    chain.act(APPROVER, "household.change_review", change=chain.last_id("change"),
              decision="approve")  # fmt: skip
    chain.act(HANDLER, "payment.reissue", entitlement=failed)
    second = batch(chain, cycle, 1, 50_000)

    def listed(batch_id: str) -> set[str]:
        page = list_entities(Records(chain), chain, "entitlement", {"batch": batch_id})
        return {e["id"] for e in page.items}

    assert listed(first) == {failed, paid}
    assert listed(second) == {failed}
    assert listed("0" * 20) == set()
