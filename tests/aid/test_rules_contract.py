"""The demo rules contract running in the real VM, through the ledger's ContractRules port."""

from __future__ import annotations

from pathlib import Path

import pytest

from aid.errors import RuleFailed
from aid.rules import ContractRules
from aid.state import Records
from contracts import runtime
from tests.aid.helpers import MemoryChain, key
from tests.aid.money import (
    FIN_APPROVER,
    HANDLER,
    REVIEWER,
    fund_program,
    households,
    money_chain,
)


@pytest.fixture
def chain() -> MemoryChain:
    return money_chain()


SOURCE = (Path(runtime.__file__).parent / "system" / "rules_living_subsidy.py").read_text()
# the same rules without the optional ``assess`` hook: asked ``eligible`` then ``entitlement``
TWO_HOOKS = SOURCE[: SOURCE.index("def assess(")] + SOURCE[SOURCE.index("def stages(") :]
PARAMS = {
    "line_yuan": 4000,
    "base_fen": 30_000,
    "per_member_fen": 10_000,
    "dibao_fen": 5_000,
    "large_cycle_fen": 1_000_000,
}


def deploy(chain: MemoryChain, source: str = SOURCE, init: dict | None = None) -> str:
    ctx = runtime.CallContext(height=1, time=chain.time_ms, tx_hash="00" * 32)
    result = runtime.deploy(
        chain,
        sender=key("deployer").public_hex,
        nonce=0,
        source=source,
        init=PARAMS if init is None else init,
        gas=5_000_000,
        ctx=ctx,
    )
    assert result.ok, result.error
    assert result.address is not None
    return result.address


def use_vm(chain: MemoryChain, gas: int = 2_000_000) -> ContractRules:
    rules = ContractRules(chain, gas=gas, height=chain.height, time_ms=chain.time_ms)
    chain.rules = rules
    return rules


def program_with(chain: MemoryChain, address: str) -> str:
    program = fund_program(chain)
    record = Records(chain).need("program", program)
    record["rules"] = address
    Records(chain).put("program", program, record)
    return program


def test_the_vm_decides_eligibility_amount_and_stages(chain: MemoryChain) -> None:
    program = program_with(chain, deploy(chain))
    hhs = households(chain, 2)
    chain.act(HANDLER, "cycle.create", program=program, period="2026-11")
    cycle = chain.last_id("cycle")
    rules = use_vm(chain)
    out = chain.act(HANDLER, "cycle.add", cycle=cycle, households=hhs)
    assert out.events[-1]["added"] == 2 and out.events[-1]["total"] == 60_000
    assert rules.gas_used > 0
    chain.act(HANDLER, "cycle.submit", cycle=cycle)
    stages = Records(chain).need("cycle", cycle)["stages"]
    assert [(s["role"], s["org_kind"]) for s in stages] == [
        ("reviewer", "poverty_office"),
        ("approver", "finance"),
    ]
    chain.act(REVIEWER, "cycle.approve", cycle=cycle, decision="approve")
    chain.act(FIN_APPROVER, "cycle.approve", cycle=cycle, decision="approve")
    assert Records(chain).need("cycle", cycle)["status"] == "approved"


def test_households_above_the_line_are_skipped_with_the_contracts_reason(
    chain: MemoryChain,
) -> None:
    program = program_with(chain, deploy(chain, init={**PARAMS, "line_yuan": 3000}))
    hhs = households(chain, 1)  # income 3200 yuan per head
    chain.act(HANDLER, "cycle.create", program=program, period="2026-11")
    use_vm(chain)
    out = chain.act(HANDLER, "cycle.add", cycle=chain.last_id("cycle"), households=hhs)
    assert out.events[-1]["skipped"] == [
        [hhs[0], "income per head 3200 yuan is not below the line of 3000 yuan"]
    ]


@pytest.mark.parametrize(("source", "rule"), [(SOURCE, "assess"), (TWO_HOOKS, "entitlement")])
def test_a_failing_rule_names_program_rule_and_message(
    chain: MemoryChain, source: str, rule: str
) -> None:
    broken = source.replace('p["base_fen"] +', 'p["base_fen_typo"] +')
    program = program_with(chain, deploy(chain, source=broken))
    hhs = households(chain, 1)
    chain.act(HANDLER, "cycle.create", program=program, period="2026-11")
    use_vm(chain)
    with pytest.raises(
        RuleFailed, match=f"program {program}: rule {rule} failed: KeyError"
    ) as info:
        chain.act(HANDLER, "cycle.add", cycle=chain.last_id("cycle"), households=hhs)
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "base_fen_typo" in text)
    # the location is the contract's own line, in the function that failed
    assert f"(line {line}, column" in info.value.message and "in entitlement)" in info.value.message
    assert info.value.data["location"]["line"] == line
    assert info.value.data["rule"] == rule


@pytest.mark.parametrize(("source", "rule"), [(SOURCE, "assess"), (TWO_HOOKS, "eligible")])
def test_rules_run_out_of_the_transactions_gas(chain: MemoryChain, source: str, rule: str) -> None:
    program = program_with(chain, deploy(chain, source=source))
    hhs = households(chain, 2)
    chain.act(HANDLER, "cycle.create", program=program, period="2026-11")
    use_vm(chain, gas=50)
    with pytest.raises(RuleFailed, match=f"rule {rule}"):
        chain.act(HANDLER, "cycle.add", cycle=chain.last_id("cycle"), households=hhs)


def test_assess_decides_exactly_what_eligible_and_entitlement_decide_for_less_gas() -> None:
    """One query per household instead of two: the same entitlements, reasons and totals."""
    outcomes = []
    for source in (SOURCE, TWO_HOOKS):
        chain = money_chain()
        program = program_with(
            chain, deploy(chain, source=source, init={**PARAMS, "line_yuan": 3300})
        )
        hhs = households(chain, 6)
        for hh in hhs[::2]:  # above the line: skipped with the contract's reason
            record = Records(chain).need("household", hh)
            record["income_per_head_yuan"] = 3500
            Records(chain).put("household", hh, record)
        chain.act(HANDLER, "cycle.create", program=program, period="2026-11")
        cycle = chain.last_id("cycle")
        rules = use_vm(chain)
        out = chain.act(HANDLER, "cycle.add", cycle=cycle, households=hhs)
        entitlements = sorted(
            (value["household"], value["amount"])
            for name, value in chain.state.items()
            if name.startswith("aid/entitlement/")
        )
        outcomes.append((out.events[-1], entitlements, rules.gas_used))
    (one_event, one_ents, one_gas), (two_event, two_ents, two_gas) = outcomes
    assert one_event == two_event and one_ents == two_ents
    assert len(one_ents) == 3 and len(one_event["skipped"]) == 3
    assert one_gas < two_gas


def test_which_hooks_a_contract_defines_is_read_from_its_code_without_gas(
    chain: MemoryChain,
) -> None:
    with_assess = deploy(chain)
    other = money_chain()
    without = deploy(other, source=TWO_HOOKS)
    assert runtime.defines(chain, with_assess, "assess")
    assert not runtime.defines(other, without, "assess")
    assert runtime.defines(other, without, "eligible")
    assert not runtime.defines(chain, with_assess, "init")  # never callable as a hook
    assert not runtime.defines(chain, "ab" * 32, "assess")  # nothing deployed there
    assert not runtime.defines(chain, "not an address", "assess")
    rules = use_vm(chain)
    assert rules.defines(with_assess, "assess") and rules.gas_used == 0
