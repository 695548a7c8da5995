"""Funds → allocations → programs → cycles → approvals → bank batches → outcomes, and attacks."""

from __future__ import annotations

from typing import Any

import pytest

from aid.cycles import entitlement_id
from aid.errors import (
    AlreadyExists,
    AlreadyPaid,
    BadArgs,
    BankMismatch,
    DeadlinePassed,
    OverBudget,
    RuleFailed,
    SnapshotFrozen,
    WrongArea,
    WrongRole,
    WrongState,
)
from aid.identity import account_commitment
from tests.aid.helpers import APPROVER, COUNTY, IDS, MAKER, REG_KEY, MemoryChain, ids
from tests.aid.money import (
    ALLOCATOR,
    BANKER,
    FAR_REVIEWER,
    FIN_APPROVER,
    HANDLER,
    REVIEWER,
    RULES,
    approved_cycle,
    batch,
    ent_of,
    fund_program,
    households,
    money_chain,
    reconcile,
    records,
    report,
)


@pytest.fixture
def chain() -> MemoryChain:
    return money_chain()


def test_end_to_end_the_money_reaches_the_household(chain: MemoryChain) -> None:
    program = fund_program(chain)
    hhs = households(chain, 3)
    cycle = approved_cycle(chain, program, hhs)
    assert records(chain).need("program", program)["committed"] == 150_000
    b = batch(chain, cycle, 3, 150_000)
    ents = [ent_of(chain, program, hh) for hh in hhs]
    ids_ = [entitlement_id(program, "2026-11", hh) for hh in hhs]
    report(
        chain,
        b,
        *(
            {"entitlement": e, "outcome": "paid", "amount": 50_000, "bank_ref": f"REF{i}"}
            for i, e in enumerate(ids_)
        ),
    )
    prog = records(chain).need("program", program)
    assert (prog["committed"], prog["paid"]) == (150_000, 150_000)
    assert records(chain).need("batch", b)["status"] == "settled"
    assert all(e["status"] == "batched" for e in ents)  # the copies read before the report
    assert ent_of(chain, program, hhs[0])["attempts"][0]["bank_ref"] == "REF0"


def test_approving_over_budget_is_refused_and_nothing_half_written(chain: MemoryChain) -> None:
    program = fund_program(chain, budget=120_000)
    hhs = households(chain, 3)
    chain.act(HANDLER, "cycle.create", program=program, period="2026-11")
    cycle = chain.last_id("cycle")
    before = dict(chain.state)
    with pytest.raises(OverBudget, match="150000 fen of its 120000 fen budget"):
        chain.act(HANDLER, "cycle.add", cycle=cycle, households=hhs)
    assert chain.state == before


def test_allocations_cannot_overdraw_or_leave_their_purpose(chain: MemoryChain) -> None:
    chain.act(
        ALLOCATOR,
        "fund.receive",
        doc_no="D1",
        level="county",
        year=2026,
        purpose="housing",
        amount=100,
        area=COUNTY,
    )
    fund = chain.last_id("fund")
    with pytest.raises(OverBudget, match="has 100 fen left, 101 asked"):
        chain.act(ALLOCATOR, "allocation.issue", source=fund, area=COUNTY, amount=101)
    with pytest.raises(AlreadyExists, match="already received"):
        chain.act(
            ALLOCATOR,
            "fund.receive",
            doc_no="D1",
            level="county",
            year=2026,
            purpose="housing",
            amount=100,
            area=COUNTY,
        )
    with pytest.raises(WrongArea):
        chain.act(ALLOCATOR, "allocation.issue", source=fund, area="530103001001", amount=1)
    chain.act(ALLOCATOR, "allocation.issue", source=fund, area=COUNTY, amount=100)
    alloc = chain.last_id("allocation")
    chain.act(ALLOCATOR, "allocation.receive", allocation=alloc)
    with pytest.raises(WrongState, match="money never leaves its purpose"):
        chain.act(
            HANDLER,
            "program.create",
            name="P",
            purpose="living",
            category="cash",
            area=COUNTY,
            start_period="2026-01",
            end_period="2026-12",
            per_household_cap=10,
            rules=RULES,
            funding=[[alloc, 50]],
            targets=[],
        )


@pytest.mark.parametrize("amount", [-1, 0, 2**64, 2**53, "100", 1.5, None])
def test_impossible_amounts_are_refused(chain: MemoryChain, amount: Any) -> None:
    with pytest.raises(BadArgs, match="amount must be an integer"):
        chain.act(
            ALLOCATOR,
            "fund.receive",
            doc_no="X",
            level="county",
            year=2026,
            purpose="living",
            amount=amount,
            area=COUNTY,
        )


def test_maker_checker_and_who_may_approve(chain: MemoryChain) -> None:
    program = fund_program(chain)
    hhs = households(chain, 1)
    chain.act(HANDLER, "cycle.create", program=program, period="2026-11")
    cycle = chain.last_id("cycle")
    chain.act(HANDLER, "cycle.add", cycle=cycle, households=hhs)
    chain.act(HANDLER, "cycle.submit", cycle=cycle)
    chain.grant(HANDLER, "reviewer", COUNTY, "office")
    with pytest.raises(WrongRole, match="maker"):
        chain.act(HANDLER, "cycle.approve", cycle=cycle, decision="approve")
    with pytest.raises(WrongArea):  # a reviewer of another county
        chain.act(FAR_REVIEWER, "cycle.approve", cycle=cycle, decision="approve")
    with pytest.raises(WrongRole, match="reviewer"):  # the bank approving
        chain.act(BANKER, "cycle.approve", cycle=cycle, decision="approve")
    chain.act(REVIEWER, "cycle.approve", cycle=cycle, decision="approve")
    with pytest.raises(WrongRole, match="already approved"):
        chain.act(REVIEWER, "cycle.approve", cycle=cycle, decision="approve")
    with pytest.raises(WrongRole, match="finance organisation"):  # an office approver
        chain.act(APPROVER, "cycle.approve", cycle=cycle, decision="approve")
    chain.act(FIN_APPROVER, "cycle.approve", cycle=cycle, decision="approve")
    assert records(chain).need("cycle", cycle)["status"] == "approved"


def test_program_activation_is_a_finance_co_signature(chain: MemoryChain) -> None:
    chain.act(
        ALLOCATOR,
        "fund.receive",
        doc_no="D9",
        level="county",
        year=2026,
        purpose="living",
        amount=100,
        area=COUNTY,
    )
    chain.act(ALLOCATOR, "allocation.issue", source=chain.last_id("fund"), area=COUNTY, amount=100)
    alloc = chain.last_id("allocation")
    chain.act(ALLOCATOR, "allocation.receive", allocation=alloc)
    chain.act(
        HANDLER,
        "program.create",
        name="P",
        purpose="living",
        category="cash",
        area=COUNTY,
        start_period="2026-01",
        end_period="2026-12",
        per_household_cap=10,
        rules=RULES,
        funding=[[alloc, 100]],
        targets=[],
    )
    program = chain.last_id("program")
    with pytest.raises(WrongRole, match="finance bureau approver"):
        chain.act(APPROVER, "program.status", program=program, move="activate")


def test_a_rejection_sends_the_cycle_back_with_its_reason(chain: MemoryChain) -> None:
    program = fund_program(chain)
    hhs = households(chain, 2)
    chain.act(HANDLER, "cycle.create", program=program, period="2026-11")
    cycle = chain.last_id("cycle")
    chain.act(HANDLER, "cycle.add", cycle=cycle, households=hhs)
    chain.act(HANDLER, "cycle.submit", cycle=cycle)
    with pytest.raises(SnapshotFrozen):
        chain.act(HANDLER, "cycle.remove", cycle=cycle, households=hhs[:1])
    chain.act(REVIEWER, "cycle.approve", cycle=cycle, decision="reject", reason="hh 2 moved")
    c = records(chain).need("cycle", cycle)
    assert (c["status"], c["reason"]) == ("draft", "hh 2 moved")
    chain.act(HANDLER, "cycle.remove", cycle=cycle, households=hhs[1:])
    assert records(chain).need("program", program)["pending"] == 50_000


def test_a_stage_past_its_deadline_takes_no_approvals(chain: MemoryChain) -> None:
    program = fund_program(chain)
    hhs = households(chain, 1)
    chain.act(HANDLER, "cycle.create", program=program, period="2026-11")
    cycle = chain.last_id("cycle")
    chain.act(HANDLER, "cycle.add", cycle=cycle, households=hhs)
    chain.act(HANDLER, "cycle.submit", cycle=cycle)
    chain.time_ms += 11 * 86_400_000
    with pytest.raises(DeadlinePassed, match="resubmit"):
        chain.act(REVIEWER, "cycle.approve", cycle=cycle, decision="approve")
    chain.act(HANDLER, "cycle.submit", cycle=cycle)
    chain.act(REVIEWER, "cycle.approve", cycle=cycle, decision="approve")


def test_the_same_household_and_period_is_never_entitled_twice(chain: MemoryChain) -> None:
    program = fund_program(chain)
    hhs = households(chain, 1)
    approved_cycle(chain, program, hhs)
    chain.act(HANDLER, "cycle.create", program=program, period="2026-11")
    second = chain.last_id("cycle")
    with pytest.raises(AlreadyPaid, match="already has an entitlement"):
        chain.act(HANDLER, "cycle.add", cycle=second, households=hhs)


def test_bank_reports_replayed_contradictory_or_wrong_are_refused(chain: MemoryChain) -> None:
    program = fund_program(chain)
    hhs = households(chain, 2)
    cycle = approved_cycle(chain, program, hhs)
    with pytest.raises(BankMismatch, match="declares 2 payments totalling 99999"):
        batch(chain, cycle, 2, 99_999)
    b = batch(chain, cycle, 2, 100_000)
    e0, e1 = (entitlement_id(program, "2026-11", hh) for hh in hhs)
    with pytest.raises(BankMismatch, match="issued for 50000"):
        report(chain, b, {"entitlement": e0, "outcome": "paid", "amount": 60_000, "bank_ref": "R"})
    report(chain, b, {"entitlement": e0, "outcome": "paid", "amount": 50_000, "bank_ref": "R"})
    before = dict(chain.state)
    with pytest.raises(AlreadyPaid, match="replayed"):
        report(chain, b, {"entitlement": e0, "outcome": "paid", "amount": 50_000, "bank_ref": "R"})
    with pytest.raises(WrongState, match="contradicts"):
        report(
            chain,
            b,
            {"entitlement": e0, "outcome": "failed", "amount": 50_000, "code": "account_closed"},
        )
    with pytest.raises(WrongRole):  # a clerk posing as the bank
        chain.act(
            HANDLER,
            "payment.report",
            batch=b,
            results=[{"entitlement": e1, "outcome": "paid", "amount": 50_000, "bank_ref": "R"}],
        )
    assert chain.state == before


def test_failed_payment_is_reissued_once_after_the_account_is_corrected(chain: MemoryChain) -> None:
    program = fund_program(chain)
    (hh,) = households(chain, 1)
    cycle = approved_cycle(chain, program, [hh])
    ent = entitlement_id(program, "2026-11", hh)
    b1 = batch(chain, cycle, 1, 50_000)
    report(
        chain,
        b1,
        {"entitlement": ent, "outcome": "failed", "amount": 50_000, "code": "account_closed"},
    )
    with pytest.raises(WrongState, match="unchanged"):
        chain.act(HANDLER, "payment.reissue", entitlement=ent)
    new_acct = account_commitment(REG_KEY, "6228480000000001")
    chain.act(
        MAKER,
        "household.change",
        household=hh,
        account_commitment=new_acct,
        reason="account closed; new card",
    )
    change = chain.last_id("change")
    with pytest.raises(WrongRole, match="maker"):
        chain.act(MAKER, "household.change_review", change=change, decision="approve")
    chain.act(APPROVER, "household.change_review", change=change, decision="approve")
    chain.act(HANDLER, "payment.reissue", entitlement=ent)
    with pytest.raises(WrongState, match="reissued"):
        chain.act(HANDLER, "payment.reissue", entitlement=ent)
    b2 = batch(chain, cycle, 1, 50_000)
    report(chain, b2, {"entitlement": ent, "outcome": "paid", "amount": 50_000, "bank_ref": "R2"})
    e = ent_of(chain, program, hh)
    assert [a["outcome"] for a in e["attempts"]] == ["failed", "paid"]
    assert e["attempts"][1]["account_commitment"] == new_acct
    assert records(chain).need("program", program)["paid"] == 50_000
    with pytest.raises(BankMismatch, match="0 payable entitlements"):
        batch(chain, cycle, 1, 50_000)  # nothing left to pay: never twice
    report(
        chain,
        b2,
        {"entitlement": ent, "outcome": "returned", "amount": 50_000, "code": "account_frozen"},
    )
    assert records(chain).need("program", program)["paid"] == 0


def test_registry_edits_after_approval_leave_the_cycle_unchanged(chain: MemoryChain) -> None:
    program = fund_program(chain)
    (hh,) = households(chain, 1)
    cycle = approved_cycle(chain, program, [hh])
    snapshot = records(chain).need("cycle", cycle)["snapshot"]
    old = ent_of(chain, program, hh)["account_commitment"]
    chain.act(
        MAKER,
        "household.change",
        household=hh,
        income_per_head_yuan=9000,
        account_commitment=account_commitment(REG_KEY, "6228480000000002"),
        reason="x",
    )
    chain.act(
        APPROVER, "household.change_review", change=chain.last_id("change"), decision="approve"
    )
    assert records(chain).need("cycle", cycle)["snapshot"] == snapshot
    assert ent_of(chain, program, hh)["account_commitment"] == old


def test_rules_answers_are_bounded_by_the_ledger(chain: MemoryChain) -> None:
    program = fund_program(chain)
    hhs = households(chain, 2)
    chain.act(HANDLER, "cycle.create", program=program, period="2026-11")
    cycle = chain.last_id("cycle")
    chain.rules.entitlement = lambda args: 100_001
    with pytest.raises(RuleFailed, match="over the program's per-household cap"):
        chain.act(HANDLER, "cycle.add", cycle=cycle, households=hhs)
    chain.rules.entitlement = lambda args: 10
    chain.rules.eligible = lambda args: (
        "income above the line" if args["household"]["id"] == hhs[0] else True
    )
    out = chain.act(HANDLER, "cycle.add", cycle=cycle, households=hhs)
    assert out.events[-1]["skipped"] == [[hhs[0], "income above the line"]]
    chain.rules.stages = lambda args: [{"role": "king", "quorum": 1}]
    with pytest.raises(RuleFailed, match="unknown role"):
        chain.act(HANDLER, "cycle.submit", cycle=cycle)


def test_an_assess_hook_answers_both_questions_in_one_call(chain: MemoryChain) -> None:
    program = fund_program(chain)
    hhs = households(chain, 3)
    chain.act(HANDLER, "cycle.create", program=program, period="2026-11")
    cycle = chain.last_id("cycle")
    answers = {hhs[0]: "income above the line", hhs[1]: False, hhs[2]: 20_000}
    chain.rules.assess = lambda args: answers[args["household"]["id"]]
    out = chain.act(HANDLER, "cycle.add", cycle=cycle, households=hhs)
    assert out.events[-1]["skipped"] == [
        [hhs[0], "income above the line"],
        [hhs[1], "not eligible"],
    ]
    assert out.events[-1]["added"] == 1 and out.events[-1]["total"] == 20_000
    assert chain.rules.calls == ["assess"] * 3  # never eligible or entitlement
    chain.act(HANDLER, "cycle.create", program=program, period="2026-12")
    december = chain.last_id("cycle")
    for bad, why in ((True, "returned True, not a positive integer"), (10**9, "gave")):
        chain.rules.assess = lambda args, bad=bad: bad
        with pytest.raises(RuleFailed, match=f"rule assess {why}"):
            chain.act(HANDLER, "cycle.add", cycle=december, households=hhs[:1])


def test_payments_to_unregistered_households_are_refused(chain: MemoryChain) -> None:
    from tests.aid.helpers import apply

    program = fund_program(chain)
    pending = apply(chain, ids(IDS[2]))
    chain.act(HANDLER, "cycle.create", program=program, period="2026-11")
    with pytest.raises(WrongState, match="only registered households") as info:
        chain.act(HANDLER, "cycle.add", cycle=chain.last_id("cycle"), households=[pending])
    assert info.value.data["check"] == "payment_to_unregistered_household"


def test_cancelling_returns_the_amount_to_the_budget_and_needs_a_checker(
    chain: MemoryChain,
) -> None:
    program = fund_program(chain)
    hhs = households(chain, 3)
    cycle = approved_cycle(chain, program, hhs)
    ent = [entitlement_id(program, "2026-11", hh) for hh in hhs]
    assert records(chain).need("program", program)["committed"] == 150_000
    with pytest.raises(WrongRole, match="approver"):
        chain.act(REVIEWER, "entitlement.cancel", entitlement=ent[0], reason="moved away")
    chain.grant(HANDLER, "approver", COUNTY, "office")  # the cycle's maker, now also an approver
    with pytest.raises(WrongRole, match="maker"):
        chain.act(HANDLER, "entitlement.cancel", entitlement=ent[0], reason="moved away")
    b1 = batch(chain, cycle, 3, 150_000)
    with pytest.raises(WrongState, match="the bank holds it in a batch"):
        chain.act(FIN_APPROVER, "entitlement.cancel", entitlement=ent[0], reason="moved away")
    report(
        chain,
        b1,
        {"entitlement": ent[0], "outcome": "paid", "amount": 50_000, "bank_ref": "R1"},
        {"entitlement": ent[1], "outcome": "failed", "amount": 50_000, "code": "account_closed"},
        {"entitlement": ent[2], "outcome": "paid", "amount": 50_000, "bank_ref": "R3"},
    )
    with pytest.raises(WrongState, match="is paid; only approved, failed"):
        chain.act(FIN_APPROVER, "entitlement.cancel", entitlement=ent[0], reason="x")
    out = chain.act(
        FIN_APPROVER, "entitlement.cancel", entitlement=ent[1], reason="household dissolved"
    )
    assert out.events[0]["name"] == "entitlement_cancelled"
    e1 = ent_of(chain, program, hhs[1])
    assert e1["status"] == "cancelled" and e1["cancelled"]["reason"] == "household dissolved"
    prog = records(chain).need("program", program)
    assert (prog["committed"], prog["paid"]) == (100_000, 100_000)
    with pytest.raises(WrongState, match="is cancelled"):
        chain.act(FIN_APPROVER, "entitlement.cancel", entitlement=ent[1], reason="again")
    with pytest.raises(WrongState, match="is cancelled"):
        chain.act(HANDLER, "payment.reissue", entitlement=ent[1])


def test_a_cycle_closes_once_every_entitlement_is_settled(chain: MemoryChain) -> None:
    program = fund_program(chain)
    hhs = households(chain, 3)
    cycle = approved_cycle(chain, program, hhs)
    ent = [entitlement_id(program, "2026-11", hh) for hh in hhs]
    with pytest.raises(WrongState, match=r"3 unsettled entitlements \(3 approved\)"):
        chain.act(ALLOCATOR, "cycle.close", cycle=cycle)
    b1 = batch(chain, cycle, 3, 150_000)
    report(
        chain,
        b1,
        {"entitlement": ent[0], "outcome": "paid", "amount": 50_000, "bank_ref": "R1"},
        {"entitlement": ent[1], "outcome": "failed", "amount": 50_000, "code": "account_closed"},
    )
    with pytest.raises(WrongRole, match="allocator"):
        chain.act(HANDLER, "cycle.close", cycle=cycle)
    with pytest.raises(WrongState, match=r"2 unsettled entitlements \(1 batched, 1 failed\)"):
        chain.act(ALLOCATOR, "cycle.close", cycle=cycle)
    report(
        chain, b1, {"entitlement": ent[2], "outcome": "paid", "amount": 50_000, "bank_ref": "R3"}
    )
    chain.act(FIN_APPROVER, "entitlement.cancel", entitlement=ent[1], reason="account gone")
    with pytest.raises(WrongState, match="1 bank batches not reconciled"):
        chain.act(ALLOCATOR, "cycle.close", cycle=cycle)
    reconcile(chain, b1, 2, 100_000)
    out = chain.act(ALLOCATOR, "cycle.close", cycle=cycle)
    closed = next(e for e in out.events if e["name"] == "cycle_closed")
    assert (closed["settled"], closed["settled_total"], closed["cancelled"]) == (2, 100_000, 1)
    assert records(chain).need("cycle", cycle)["status"] == "closed"
    with pytest.raises(WrongState, match="is closed; only approved or paying"):
        chain.act(ALLOCATOR, "cycle.close", cycle=cycle)
    with pytest.raises(WrongState, match="only approved cycles are paid"):
        batch(chain, cycle, 1, 50_000)
    # the bank reverses a payment after the books closed: its word stands, the cycle reopens
    report(
        chain,
        b1,
        {"entitlement": ent[0], "outcome": "returned", "amount": 50_000, "code": "account_frozen"},
    )
    assert records(chain).need("cycle", cycle)["status"] == "paying"
    assert records(chain).need("batch", b1)["status"] == "settled"  # its statement is stale
    with pytest.raises(WrongState, match=r"1 unsettled entitlements \(1 returned\)"):
        chain.act(ALLOCATOR, "cycle.close", cycle=cycle)
    chain.act(FIN_APPROVER, "entitlement.cancel", entitlement=ent[0], reason="returned, deceased")
    with pytest.raises(WrongState, match="not reconciled"):
        chain.act(ALLOCATOR, "cycle.close", cycle=cycle)
    reconcile(chain, b1, 1, 50_000)
    chain.act(ALLOCATOR, "cycle.close", cycle=cycle)
    prog = records(chain).need("program", program)
    assert (prog["committed"], prog["paid"]) == (50_000, 50_000)


def test_a_batch_is_reconciled_with_the_banks_statement_once_settled(chain: MemoryChain) -> None:
    program = fund_program(chain)
    hhs = households(chain, 2)
    cycle = approved_cycle(chain, program, hhs)
    ent = [entitlement_id(program, "2026-11", hh) for hh in hhs]
    b1 = batch(chain, cycle, 2, 100_000)
    with pytest.raises(WrongState, match="is sent; a batch is reconciled once the bank reported"):
        reconcile(chain, b1, 0, 0)
    report(
        chain,
        b1,
        {"entitlement": ent[0], "outcome": "paid", "amount": 50_000, "bank_ref": "R1"},
        {"entitlement": ent[1], "outcome": "failed", "amount": 50_000, "code": "name_mismatch"},
    )
    with pytest.raises(WrongRole, match="allocator"):
        chain.act(
            HANDLER, "batch.reconcile", batch=b1, statement_hash="5e" * 32, count=1, total=50_000
        )
    with pytest.raises(BadArgs, match="statement_hash"):
        chain.act(
            ALLOCATOR, "batch.reconcile", batch=b1, statement_hash="5E" * 32, count=1, total=50_000
        )
    with pytest.raises(BankMismatch, match="1 paid payments totalling 50000 fen") as info:
        reconcile(chain, b1, 2, 100_000)  # the failed payment is no credit
    assert info.value.data["actual"] == [1, 50_000]
    reconcile(chain, b1, 1, 50_000)
    done = records(chain).need("batch", b1)
    assert done["status"] == "reconciled" and done["reconciled"]["statement_hash"] == "5e" * 32
    with pytest.raises(WrongState, match="is reconciled"):
        reconcile(chain, b1, 1, 50_000)


def test_closing_a_program_gives_its_unspent_budget_back_up(chain: MemoryChain) -> None:
    program = fund_program(chain)  # a 1,000,000 fen fund, 200,000 allocated, all drawn
    alloc = records(chain).need("program", program)["funding"][0][0]
    fund = records(chain).need("allocation", alloc)["source"]
    hhs = households(chain, 3)
    approved_cycle(chain, program, hhs[:2])  # 100,000 committed
    ent = [entitlement_id(program, "2026-11", hh) for hh in hhs[:2]]
    chain.act(HANDLER, "cycle.create", program=program, period="2026-12")
    draft = chain.last_id("cycle")
    chain.act(HANDLER, "cycle.add", cycle=draft, households=hhs[2:])
    with pytest.raises(WrongState, match="50000 fen in cycles being prepared or approved"):
        chain.act(FIN_APPROVER, "program.status", program=program, move="close", reason="ended")
    chain.act(HANDLER, "cycle.cancel", cycle=draft, reason="program ends")
    out = chain.act(FIN_APPROVER, "program.status", program=program, move="close", reason="ended")
    released = next(e for e in out.events if e["name"] == "program_budget_released")
    assert (released["amount"], released["to"]) == (100_000, [[alloc, 100_000]])
    view = records(chain)
    prog = view.need("program", program)
    assert (prog["budget"], prog["committed"], prog["released"]) == (100_000, 100_000, 100_000)
    assert view.need("allocation", alloc)["drawn"] == 100_000  # free for another program
    # money an entitlement frees after closing goes back too
    chain.act(FIN_APPROVER, "entitlement.cancel", entitlement=ent[0], reason="moved away")
    view = records(chain)
    assert view.need("program", program)["budget"] == 50_000
    assert view.need("allocation", alloc)["drawn"] == 50_000
    chain.act(ALLOCATOR, "allocation.return", allocation=alloc, reason="year end")
    assert records(chain).need("fund", fund)["drawn"] == 50_000
    # a returned allocation holds nothing undrawn: what comes back passes on to the fund
    chain.act(FIN_APPROVER, "entitlement.cancel", entitlement=ent[1], reason="moved away")
    view = records(chain)
    assert view.need("program", program)["budget"] == 0
    assert (view.need("allocation", alloc)["amount"], view.need("allocation", alloc)["drawn"]) == (
        0,
        0,
    )
    assert view.need("fund", fund)["drawn"] == 0
