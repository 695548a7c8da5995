"""Builders for money-flow tests: a county with every role granted, a funded active program."""

from __future__ import annotations

from typing import Any

from aid.cycles import entitlement_id
from aid.identity import account_commitment
from aid.state import Records
from tests.aid.helpers import (
    COUNTY,
    OTHER_COUNTY,
    REG_KEY,
    MemoryChain,
    ids,
    key,
    register,
    registry_chain,
    valid_id,
)

ALLOCATOR, FIN_APPROVER, HANDLER, REVIEWER = (key(n) for n in ("alloc", "finappr", "hand", "rev"))
BANKER, FAR_REVIEWER = key("banker"), key("far-reviewer")
RULES = "cc" * 32


def money_chain() -> MemoryChain:
    c = registry_chain()
    c.grant(ALLOCATOR, "allocator", COUNTY, "fin")
    c.grant(FIN_APPROVER, "approver", COUNTY, "fin")
    c.grant(HANDLER, "handler", COUNTY, "office")
    c.grant(REVIEWER, "reviewer", COUNTY, "office")
    c.grant(BANKER, "bank_operator", COUNTY, "bank")
    c.grant(FAR_REVIEWER, "reviewer", OTHER_COUNTY, "office2")
    return c


def records(chain: MemoryChain) -> Records:
    return Records(chain)


def fund_program(chain: MemoryChain, amount: int = 1_000_000, budget: int = 200_000) -> str:
    chain.act(
        ALLOCATOR,
        "fund.receive",
        doc_no="滇财农〔2026〕12号",  # noqa: RUF001 - real document numbers use these brackets
        level="central",
        year=2026,
        purpose="living",
        amount=amount,
        area=COUNTY,
    )
    fund = chain.last_id("fund")
    chain.act(ALLOCATOR, "allocation.issue", source=fund, area=COUNTY, amount=budget)
    alloc = chain.last_id("allocation")
    chain.act(ALLOCATOR, "allocation.receive", allocation=alloc)
    chain.act(
        HANDLER,
        "program.create",
        name="Living subsidy",
        purpose="living",
        category="cash",
        area=COUNTY,
        start_period="2026-01",
        end_period="2026-12",
        per_household_cap=100_000,
        rules=RULES,
        funding=[[alloc, budget]],
        targets=[{"metric": "households_paid", "target": 3}],
    )
    program = chain.last_id("program")
    chain.act(FIN_APPROVER, "program.status", program=program, move="activate")
    return program


def households(chain: MemoryChain, n: int) -> list[str]:
    out = []
    for i in range(n):
        person = valid_id(f"53010219900101{500 + i:03d}")
        acct = account_commitment(REG_KEY, f"62220200000{i:05d}")
        out.append(register(chain, ids(person), account_commitment=acct))
    return out


def approved_cycle(
    chain: MemoryChain, program: str, hhs: list[str], period: str = "2026-11"
) -> str:
    chain.act(HANDLER, "cycle.create", program=program, period=period)
    cycle = chain.last_id("cycle")
    chain.act(HANDLER, "cycle.add", cycle=cycle, households=hhs)
    chain.act(HANDLER, "cycle.submit", cycle=cycle)
    chain.act(REVIEWER, "cycle.approve", cycle=cycle, decision="approve")
    chain.act(FIN_APPROVER, "cycle.approve", cycle=cycle, decision="approve")
    return cycle


def batch(chain: MemoryChain, cycle: str, count: int, total: int) -> str:
    chain.act(ALLOCATOR, "batch.create", cycle=cycle, bank="bank", count=count, total=total)
    return chain.last_id("batch")


def ent_of(chain: MemoryChain, program: str, hh: str, period: str = "2026-11") -> dict[str, Any]:
    return records(chain).need("entitlement", entitlement_id(program, period, hh))


def report(chain: MemoryChain, batch_id: str, *rows: dict[str, Any]) -> None:
    chain.act(BANKER, "payment.report", batch=batch_id, results=list(rows))


def reconcile(chain: MemoryChain, batch_id: str, count: int, total: int) -> None:
    """Finance records a (fake) statement of ``count`` credits totalling ``total`` fen."""
    chain.act(
        ALLOCATOR,
        "batch.reconcile",
        batch=batch_id,
        statement_hash="5e" * 32,
        count=count,
        total=total,
    )
