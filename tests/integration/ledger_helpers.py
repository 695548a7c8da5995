"""Driving the disbursement ledger on a real cluster: signing, committing, refusals, a world.

Shared by the ledger's integration tests (test_ledger_chain.py, test_ledger_scenarios.py).
``Ledger`` signs with each key's next nonce and waits for commits; ``expect_refused`` checks a
refusal the way a clerk meets it (``aid_check`` and the committed receipt both name the reason)
and that it changed nothing a reader can see; ``World`` is the set-up most scenarios share:
clerks with their roles, the demo rules contract, a received allocation and a pool of
registered households.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from aid.context import Context
from aid.identity import account_commitment, gb11643_check_digit, person_commitment, seal
from chain.crypto import KeyPair
from chain.tx import Transaction, sign_tx
from contracts import runtime
from rpc.client import RpcError
from tests.integration.aid_genesis import (
    COUNTY,
    OTHER_COUNTY,
    TOWNSHIP,
    VILLAGE,
    AidSetup,
)
from tests.integration.harness import LocalCluster, submit_all, wait_committed

RULES_SOURCE = (Path(runtime.__file__).parent / "system" / "rules_living_subsidy.py").read_text()
RULES_INIT = {
    "line_yuan": 4000,
    "base_fen": 30_000,
    "per_member_fen": 10_000,
    "dibao_fen": 5_000,
    "large_cycle_fen": 10**9,
}
RULES_GAS = 2_000_000
PERIOD = "2026-11"
LEDGER_REFUSED = -32020


class Ledger:
    """Signs with each key's next nonce, submits to node 0, waits for the commit."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster
        self.nonces: dict[str, int] = {}
        self.committed: dict[str, dict[str, Any]] = {}  # tx hash -> tx_get on node 0

    def sign(self, key: KeyPair, action: str, gas: int = 0, **args: Any) -> Transaction:
        payload: dict[str, Any] = {"action": action, "args": args}
        if gas:
            payload["gas"] = gas
        return self.signed(key, "aid", payload)

    def signed(self, key: KeyPair, tx_type: str, payload: dict[str, Any]) -> Transaction:
        nonce = self.nonces.get(key.public_hex, 0)
        self.nonces[key.public_hex] = nonce + 1
        return sign_tx(key, self.cluster.chain_id, nonce, tx_type, payload)

    async def run(self, *txs: Transaction, ok: bool = True) -> list[dict[str, Any]]:
        hashes = await submit_all(self.cluster.url(0), txs)
        found = await wait_committed(self.cluster, 0, hashes, timeout=60)
        self.committed.update(found)
        receipts = [found[h]["receipt"] for h in hashes]
        if ok:
            failed = [
                (t.payload.get("action"), r)
                for t, r in zip(txs, receipts, strict=True)
                if not r["ok"]
            ]
            assert not failed, failed
        return receipts

    async def act(self, key: KeyPair, action: str, gas: int = 0, **args: Any) -> dict[str, Any]:
        """One action, committed and accepted; its receipt."""
        (receipt,) = await self.run(self.sign(key, action, gas, **args))
        return receipt


def new_id(tx: Transaction, kind: str) -> str:
    return Context("", 0, 0, tx.hash).new_id(kind)


@dataclass(frozen=True, slots=True)
class Funding:
    """A fund document received, part of it allocated to the county, the allocation received."""

    receive_fund: Transaction
    issue: Transaction
    receive: Transaction

    @property
    def fund(self) -> str:
        return new_id(self.receive_fund, "fund")

    @property
    def allocation(self) -> str:
        return new_id(self.issue, "allocation")

    @property
    def txs(self) -> tuple[Transaction, Transaction, Transaction]:
        return self.receive_fund, self.issue, self.receive


def funding(
    ledger: Ledger, clerk: KeyPair, doc_no: str, level: str, amount: int, allocated: int
) -> Funding:
    """The three signed actions that put ``allocated`` fen of a new fund at the county's disposal."""
    receive_fund = ledger.sign(
        clerk,
        "fund.receive",
        doc_no=doc_no,
        level=level,
        year=2026,
        purpose="living",
        amount=amount,
        area=COUNTY,
    )
    issue = ledger.sign(
        clerk,
        "allocation.issue",
        source=new_id(receive_fund, "fund"),
        area=COUNTY,
        amount=allocated,
    )
    receive = ledger.sign(clerk, "allocation.receive", allocation=new_id(issue, "allocation"))
    return Funding(receive_fund, issue, receive)


def propose(
    ledger: Ledger, setup: AidSetup, key: KeyPair, role: str, area: str, org: str
) -> Transaction:
    return ledger.sign(
        setup.admins["fin"],
        "role.propose",
        account=key.public_hex,
        role=role,
        area=area,
        org=org,
        change="grant",
        as_admin_of="fin",
    )


def approvals(ledger: Ledger, setup: AidSetup, proposals: list[str], org: str) -> list[Transaction]:
    return [
        ledger.sign(setup.admins[org], "role.approve", proposal=p, as_admin_of=org)
        for p in proposals
    ]


async def grant_roles(
    ledger: Ledger, setup: AidSetup, wanted: Sequence[tuple[KeyPair, str, str, str]]
) -> None:
    """Grant every (key, role, area, org) by governance: fin proposes, office and audit approve."""
    proposes = [propose(ledger, setup, key, role, area, org) for key, role, area, org in wanted]
    await ledger.run(*proposes)
    proposals = [new_id(t, "proposal") for t in proposes]
    await ledger.run(*approvals(ledger, setup, proposals, "office"))
    await ledger.run(*approvals(ledger, setup, proposals, "audit"))


async def on_every_node(cluster: LocalCluster, method: str, **params: Any) -> list[Any]:
    return [await cluster.call(i, method, **params) for i in range(cluster.n)]


async def same_head(cluster: LocalCluster, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        statuses = [await cluster.status(i) for i in range(cluster.n)]
        if len({(s["height"], s["state_root"]) for s in statuses}) == 1:
            return statuses
        if time.monotonic() > deadline:
            raise AssertionError([(s["height"], s["state_root"][:12]) for s in statuses])
        await asyncio.sleep(0.3)


# --- refusals ---------------------------------------------------------------------------------------
Read = tuple[str, dict[str, Any]]  # (read method, params): what a clerk would look at


def get(kind: str, ident: str) -> Read:
    return ("aid_get", {"kind": kind, "id": ident})


def listing(kind: str, **filters: str) -> Read:
    return ("aid_list", {"kind": kind, "filters": filters, "limit": 200})


async def read_all(cluster: LocalCluster, reads: Sequence[Read]) -> list[Any]:
    return [await cluster.call(0, method, **params) for method, params in reads]


async def expect_refused(
    ledger: Ledger, tx: Transaction, reason: str, reads: Sequence[Read], match: str = ""
) -> dict[str, Any]:
    """``tx`` is refused for ``reason`` and changes nothing that ``reads`` show.

    Both ways a refusal reaches a clerk are checked: ``aid_check`` answers -32020 with the
    reason in ``data.reason`` (and ``match`` in the message), and the committed receipt says
    ``ok: false`` with the same reason, no events and nothing touched. Returns the error data.
    """
    cluster = ledger.cluster
    before = await read_all(cluster, reads)
    with pytest.raises(RpcError) as info:
        await cluster.call(0, "aid_check", tx=tx.to_dict())
    assert info.value.code == LEDGER_REFUSED, info.value
    assert info.value.data["reason"] == reason, info.value.data
    assert match in info.value.message, info.value.message
    (receipt,) = await ledger.run(tx, ok=False)
    assert (receipt["ok"], receipt["error_type"]) == (False, reason), receipt
    assert receipt["events"] == [] and receipt["touched"] == [], receipt
    assert await read_all(cluster, reads) == before, "a refused action changed what a clerk reads"
    return dict(info.value.data)


# --- a world most scenarios share ------------------------------------------------------------------
CLERKS: tuple[tuple[str, str, str, str], ...] = (
    # (name, role, area, organisation)
    ("maker", "village_registrar", VILLAGE, "village"),
    ("vrev", "village_registrar", TOWNSHIP, "village"),
    ("trev", "reviewer", TOWNSHIP, "office"),
    ("approver", "approver", COUNTY, "office"),
    ("registrar", "registrar", COUNTY, "office"),
    ("alloc", "allocator", COUNTY, "fin"),
    ("finappr", "approver", COUNTY, "fin"),
    ("handler", "handler", COUNTY, "office"),
    ("handler", "reviewer", COUNTY, "office"),  # so its own cycle's approval is a real test
    ("rev", "reviewer", COUNTY, "office"),
    ("bank", "bank_operator", COUNTY, "bank"),
    ("auditor", "auditor", COUNTY, "audit"),
    ("registrar2", "registrar", OTHER_COUNTY, "office2"),
    ("rev2", "reviewer", OTHER_COUNTY, "office2"),
    ("approver2", "approver", OTHER_COUNTY, "office2"),
    ("cli-registrar", "registrar", COUNTY, "office"),  # signs only through the CLI (own nonces)
    ("cli-bank", "bank_operator", COUNTY, "bank"),  # signs only through the CLI (own nonces)
)


@dataclass(frozen=True, slots=True)
class Person:
    """One fictional household of one member: the personal data that must never be stored."""

    n: int
    name: str
    id_number: str
    phone: str
    bank_account: str

    @classmethod
    def make(cls, n: int) -> Person:
        first17 = f"53010219800101{n:03d}"
        return cls(
            n,
            f"Qiao Fictional-{n:03d}",
            first17 + gb11643_check_digit(first17),
            f"1390000{n:04d}",
            f"62220200{n:011d}",
        )

    def sealed_data(self, bank_account: str | None = None) -> dict[str, Any]:
        """What clients seal for this household (docs/ledger.md "Privacy"), as the CLI does."""
        member = {"name": self.name, "id_number": self.id_number, "phone": self.phone}
        return {"members": [member], "bank_account": bank_account or self.bank_account}


@dataclass
class World:
    cluster: LocalCluster
    setup: AidSetup
    ledger: Ledger
    clerks: dict[str, KeyPair]
    rules: str = ""
    allocation: str = ""
    pool: list[tuple[str, Person]] = field(default_factory=list)  # (household id, person)
    taken: int = 0

    def take(self, count: int) -> list[tuple[str, Person]]:
        """Registered households no other test uses, so tests run in any order."""
        assert self.taken + count <= len(self.pool), "enlarge the household pool"
        out = self.pool[self.taken : self.taken + count]
        self.taken += count
        return out

    def apply_tx(self, person: Person, village: str = VILLAGE, key: str = "maker") -> Transaction:
        setup = self.setup
        personal = person.sealed_data()
        readers = {o: setup.enc_public[o] for o in ("office", "audit", "bank")}
        return self.ledger.sign(
            self.clerks[key],
            "household.apply",
            village=village,
            members=[person_commitment(setup.registry_key, person.id_number)],
            size=1,
            cause="illness",
            income_per_head_yuan=3200,
            sealed=seal(readers, personal),
            account_commitment=account_commitment(setup.registry_key, person.bank_account),
        )

    async def register(self, people: Sequence[Person]) -> list[str]:
        """Households through village review, the public notice, township and county."""
        applies = [self.apply_tx(p) for p in people]
        await self.ledger.run(*applies)
        ids = [new_id(t, "household") for t in applies]
        await self.reviews(ids, "vrev", "village")
        notice_s = (await self.cluster.call(0, "aid_policy"))["policy"]["notice_period_s"]
        await asyncio.sleep(notice_s + 1)
        await self.reviews(ids, "trev", "township")
        await self.reviews(ids, "approver", "county")
        return ids

    async def reviews(self, ids: Sequence[str], who: str, stage: str) -> None:
        key = self.clerks[who]
        await self.ledger.run(
            *(self.ledger.sign(key, "household.review", household=h, stage=stage) for h in ids)
        )

    async def program(self, budget: int, allocation: str | None = None) -> str:
        """An active cash living-subsidy program drawing ``budget`` fen on the demo rules."""
        create = self.ledger.sign(
            self.clerks["handler"],
            "program.create",
            name="Living subsidy (fictional)",
            purpose="living",
            category="cash",
            area=COUNTY,
            start_period="2026-01",
            end_period="2026-12",
            per_household_cap=100_000,
            rules=self.rules,
            funding=[[allocation or self.allocation, budget]],
            targets=[{"metric": "households_paid", "target": 1}],
        )
        await self.ledger.run(create)
        program = new_id(create, "program")
        await self.ledger.act(
            self.clerks["finappr"], "program.status", program=program, move="activate"
        )
        return program

    def cycle_txs(
        self, program: str, households: Sequence[str], submit: bool = True
    ) -> tuple[str, list[Transaction]]:
        """The handler's create, add and submit of a cycle (one sender: they commit in order).

        Send every transaction returned: each took the handler's next nonce.
        """
        handler = self.clerks["handler"]
        create = self.ledger.sign(handler, "cycle.create", program=program, period=PERIOD)
        cycle = new_id(create, "cycle")
        add = self.ledger.sign(
            handler, "cycle.add", gas=RULES_GAS, cycle=cycle, households=list(households)
        )
        if not submit:
            return cycle, [create, add]
        done = self.ledger.sign(handler, "cycle.submit", gas=RULES_GAS, cycle=cycle)
        return cycle, [create, add, done]

    async def approve(self, cycle: str) -> None:
        """The demo rules' stages for a small cycle: office reviewer, then finance approver."""
        for who in ("rev", "finappr"):
            await self.ledger.act(
                self.clerks[who], "cycle.approve", cycle=cycle, decision="approve"
            )

    async def approved_cycle(self, program: str, households: Sequence[str]) -> str:
        cycle, txs = self.cycle_txs(program, households)
        await self.ledger.run(*txs)
        await self.approve(cycle)
        return cycle

    async def batch(self, cycle: str) -> tuple[str, list[dict[str, Any]]]:
        """A bank batch of every payable entitlement of ``cycle``; (batch id, entitlements)."""
        record = await self.cluster.call(0, "aid_get", kind="cycle", id=cycle)
        tx = self.ledger.sign(
            self.clerks["alloc"],
            "batch.create",
            cycle=cycle,
            bank="bank",
            count=record["count"],
            total=record["total"],
        )
        await self.ledger.run(tx)
        batch = new_id(tx, "batch")
        ents = await self.cluster.call(
            0, "aid_list", kind="entitlement", filters={"program": record["program"]}, limit=200
        )
        return batch, [e for e in ents["items"] if e.get("batch") == batch]

    def paid_row(self, ent: dict[str, Any], ref: str) -> dict[str, Any]:
        return {
            "entitlement": ent["id"],
            "outcome": "paid",
            "amount": ent["amount"],
            "bank_ref": ref,
        }

    async def report(self, batch: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
        return await self.ledger.act(
            self.clerks["bank"], "payment.report", batch=batch, results=rows
        )


async def build_world(cluster: LocalCluster, setup: AidSetup, households: int) -> World:
    """Clerks with their roles, the rules contract, a received allocation, registered households."""
    ledger = Ledger(cluster)
    clerks = {name: KeyPair.generate() for name, *_ in CLERKS}
    world = World(cluster, setup, ledger, clerks)
    await grant_roles(ledger, setup, [(clerks[n], r, a, o) for n, r, a, o in CLERKS])
    deploy = ledger.signed(
        cluster.accounts[7],
        "deploy",
        {"source": RULES_SOURCE, "init": RULES_INIT, "gas": 5_000_000},
    )
    money = funding(
        ledger,
        clerks["alloc"],
        "Qing-Cai-Nong (2026) No. 1 (fictional)",
        "central",
        50_000_000,
        20_000_000,
    )
    deployed, *_ = await ledger.run(deploy, *money.txs)
    world.rules = deployed["address"]
    world.allocation = money.allocation
    people = [Person.make(n) for n in range(households)]
    world.pool = list(zip(await world.register(people), people, strict=True))
    return world
