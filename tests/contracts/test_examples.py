"""The retired example contracts in contracts/examples, run through deploy/call in memory.

They exercise the language on realistic code (storage, events, transfers, a cross-contract
call). The ledger does their job natively now (contracts/examples/__init__.py).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from chain.statekeys import account_key
from contracts import examples, system
from contracts.examples import source
from contracts.runtime import CallContext, ContractResult, MemoryState, call, deploy, query
from contracts.vm.checker import check_source

GAS = 2_000_000
DAY = 86_400_000
START = 1_700_000_000_000
ADMIN = "ad" * 32
TOWNSHIP = "70" * 32
APPROVERS = ["a1" * 32, "a2" * 32, "a3" * 32]
BANK = "ba" * 32
OUTSIDER = "99" * 32


def commitment(salt: str, household: str) -> str:
    return hashlib.sha256(f"{salt}:{household}".encode()).hexdigest()


H1 = commitment("salt-7f3a", "household-0001")
H2 = commitment("salt-7f3a", "household-0002")


class Chain:
    """A tiny in-memory chain: deploy/call with advancing heights and block times."""

    def __init__(self) -> None:
        self.state = MemoryState()
        self.height = 1
        self.time = START
        self.nonces: dict[str, int] = {}

    def ctx(self) -> CallContext:
        self.height += 1
        return CallContext(height=self.height, time=self.time, tx_hash=f"{self.height:064x}")

    def deploy(self, sender: str, name: str, init: dict[str, Any]) -> str:
        nonce = self.nonces.get(sender, 0)
        self.nonces[sender] = nonce + 1
        result = deploy(
            self.state,
            sender=sender,
            nonce=nonce,
            source=source(name),
            init=init,
            gas=GAS,
            ctx=self.ctx(),
        )
        assert result.ok, result.error
        assert result.address is not None
        return result.address

    def call(self, sender: str, contract: str, method: str, **args: Any) -> ContractResult:
        return call(
            self.state,
            sender=sender,
            contract=contract,
            method=method,
            args=args,
            gas=GAS,
            ctx=self.ctx(),
        )

    def balance(self, address: str) -> int:
        account = self.state.get(account_key(address))
        return 0 if account is None else int(account["balance"])


@pytest.mark.parametrize(
    ("package", "name"),
    [(examples, name) for name in examples.NAMES] + [(system, name) for name in system.NAMES],
)
def test_shipped_contracts_pass_the_checker(package: Any, name: str) -> None:
    module, problems = check_source(package.source(name))
    assert module is not None and problems == [], problems


def test_the_retired_examples_are_not_system_contracts() -> None:
    """The ledger does their work: contracts/system holds only what the ledger deploys."""
    assert not set(examples.NAMES) & set(system.NAMES)
    with pytest.raises(KeyError, match="no system contract 'program_budget'"):
        system.source("program_budget")


def setup(budget: int = 10_000, with_registry: bool = True) -> tuple[Chain, str, str | None]:
    chain = Chain()
    registry = None
    if with_registry:
        registry = chain.deploy(ADMIN, "household_registry", {"registrars": [TOWNSHIP]})
        for h in (H1, H2):
            ok = chain.call(
                TOWNSHIP,
                registry,
                "register",
                commitment=h,
                category="basic",
                valid_from=START - DAY,
                valid_until=START + 365 * DAY,
            )
            assert ok.ok, ok.error
    program = chain.deploy(
        ADMIN,
        "program_budget",
        {
            "approvers": APPROVERS,
            "proposers": [TOWNSHIP],
            "threshold": 2,
            "household_cap": 3_000,
            "bank": BANK,
            "starts_at": START - DAY,
            "ends_at": START + 30 * DAY,
            "registry": registry,
        },
    )
    chain.state.set(account_key(program), {"balance": budget, "nonce": 0})
    return chain, program, registry


def test_two_of_three_approvals_pay_the_bank() -> None:
    chain, program, _ = setup()
    assert (
        chain.call(
            TOWNSHIP,
            program,
            "propose",
            payment_id="p1",
            commitment=H1,
            amount=2_500,
            period="2026-11",
        ).result
        == "pending"
    )
    first = chain.call(APPROVERS[0], program, "approve", payment_id="p1")
    assert first.ok and first.result == "pending"
    assert chain.balance(BANK) == 0
    second = chain.call(APPROVERS[2], program, "approve", payment_id="p1")
    assert second.ok and second.result == "paid", second.error
    assert chain.balance(BANK) == 2_500 and chain.balance(program) == 7_500
    assert [e["name"] for e in second.events] == ["approved", "paid"]
    assert second.events[1]["fields"]["commitment"] == H1
    summary = chain.call(OUTSIDER, program, "summary").result
    assert summary["paid_total"] == 2_500 and summary["payments"] == 1
    assert chain.call(OUTSIDER, program, "paid", commitment=H1, period="2026-11").result == "p1"


def expect_refusal(chain: Chain, result: ContractResult, before: dict[str, Any], text: str) -> None:
    assert not result.ok
    assert result.error is not None and result.error["type"] == "RequireFailed"
    assert text in result.error["message"]
    assert chain.state.data == before


def test_rules_are_enforced_and_refusals_change_nothing() -> None:
    chain, program, registry = setup()
    chain.call(
        TOWNSHIP, program, "propose", payment_id="p1", commitment=H1, amount=1_000, period="2026-11"
    )
    before = copy.deepcopy(chain.state.data)
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        (
            OUTSIDER,
            "propose",
            {"payment_id": "p2", "commitment": H2, "amount": 1, "period": "x"},
            "only a proposer",
        ),
        (
            TOWNSHIP,
            "propose",
            {"payment_id": "p2", "commitment": H2, "amount": 3_001, "period": "2026-11"},
            "amount must be",
        ),
        (
            TOWNSHIP,
            "propose",
            {"payment_id": "p1", "commitment": H2, "amount": 5, "period": "2026-11"},
            "already used",
        ),
        (
            TOWNSHIP,
            "propose",
            {"payment_id": "p3", "commitment": "00" * 32, "amount": 5, "period": "2026-11"},
            "not eligible",
        ),
        (
            TOWNSHIP,
            "propose",
            {"payment_id": "p4", "commitment": "xyz", "amount": 5, "period": "2026-11"},
            "64-hex",
        ),
        (OUTSIDER, "approve", {"payment_id": "p1"}, "only an approver"),
        (APPROVERS[0], "approve", {"payment_id": "nope"}, "unknown payment"),
    ]
    for sender, method, args, text in cases:
        expect_refusal(chain, chain.call(sender, program, method, **args), before, text)
    chain.call(APPROVERS[0], program, "approve", payment_id="p1")
    before = copy.deepcopy(chain.state.data)
    expect_refusal(
        chain,
        chain.call(APPROVERS[0], program, "approve", payment_id="p1"),
        before,
        "already approved",
    )
    assert registry is not None


def test_no_double_payment_per_household_and_period() -> None:
    chain, program, _ = setup()
    for pid in ("a", "b"):
        assert chain.call(
            TOWNSHIP,
            program,
            "propose",
            payment_id=pid,
            commitment=H1,
            amount=100,
            period="2026-11",
        ).ok
    for approver in APPROVERS[:2]:
        assert chain.call(approver, program, "approve", payment_id="a").ok
    assert chain.call(APPROVERS[0], program, "approve", payment_id="b").ok
    before = copy.deepcopy(chain.state.data)
    second = chain.call(APPROVERS[1], program, "approve", payment_id="b")
    expect_refusal(chain, second, before, "already paid")
    again = chain.call(
        TOWNSHIP, program, "propose", payment_id="c", commitment=H1, amount=100, period="2026-11"
    )
    expect_refusal(chain, again, before, "already paid")
    other_period = chain.call(
        TOWNSHIP, program, "propose", payment_id="c", commitment=H1, amount=100, period="2026-12"
    )
    assert other_period.ok
    assert chain.balance(BANK) == 100


def test_insufficient_budget_reverts_the_final_approval() -> None:
    chain, program, _ = setup(budget=500)
    chain.call(
        TOWNSHIP,
        program,
        "propose",
        payment_id="big",
        commitment=H2,
        amount=2_000,
        period="2026-11",
    )
    chain.call(APPROVERS[0], program, "approve", payment_id="big")
    before = copy.deepcopy(chain.state.data)
    result = chain.call(APPROVERS[1], program, "approve", payment_id="big")
    assert result.error is not None and result.error["type"] == "InsufficientFunds"
    assert chain.state.data == before and result.events == []
    assert chain.call(OUTSIDER, program, "payment", payment_id="big").result["status"] == "pending"


def test_time_window_is_enforced() -> None:
    chain, program, _ = setup()
    chain.time = START + 31 * DAY
    before = copy.deepcopy(chain.state.data)
    late = chain.call(
        TOWNSHIP, program, "propose", payment_id="late", commitment=H1, amount=10, period="2026-12"
    )
    expect_refusal(chain, late, before, "time window")


def test_revoked_household_is_not_eligible() -> None:
    chain, program, registry = setup()
    assert registry is not None
    assert chain.call(TOWNSHIP, registry, "revoke", commitment=H2, reason="moved away").ok
    ctx = CallContext(height=99, time=START, tx_hash="")
    eligible = query(
        chain.state,
        contract=registry,
        method="is_eligible",
        args={"commitment": H2, "category": "basic", "at": START},
        gas=GAS,
        ctx=ctx,
    )
    assert eligible.ok and eligible.result is False
    before = copy.deepcopy(chain.state.data)
    refused = chain.call(
        TOWNSHIP, program, "propose", payment_id="r", commitment=H2, amount=10, period="2026-11"
    )
    expect_refusal(chain, refused, before, "not eligible")


def test_registry_refuses_non_registrars_and_duplicates() -> None:
    chain, _, registry = setup()
    assert registry is not None
    before = copy.deepcopy(chain.state.data)
    expect_refusal(
        chain,
        chain.call(
            OUTSIDER,
            registry,
            "register",
            commitment=H1,
            category="basic",
            valid_from=0,
            valid_until=1,
        ),
        before,
        "only a registrar",
    )
    expect_refusal(
        chain,
        chain.call(
            TOWNSHIP,
            registry,
            "register",
            commitment=H1,
            category="basic",
            valid_from=0,
            valid_until=1,
        ),
        before,
        "already registered",
    )


def test_program_without_registry_and_rejection() -> None:
    chain, program, _ = setup(with_registry=False)
    assert chain.call(
        TOWNSHIP, program, "propose", payment_id="x", commitment=H1, amount=10, period="p"
    ).ok
    assert (
        chain.call(APPROVERS[1], program, "reject", payment_id="x", reason="duplicate").result
        == "rejected"
    )
    before = copy.deepcopy(chain.state.data)
    expect_refusal(
        chain,
        chain.call(APPROVERS[0], program, "approve", payment_id="x"),
        before,
        "payment is rejected",
    )


def test_private_helpers_are_not_entry_points() -> None:
    chain, program, _ = setup()
    result = chain.call(OUTSIDER, program, "_is_hex64", value="ab")
    assert result.error is not None and result.error["type"] == "NoSuchMethod"
