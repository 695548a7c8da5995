"""The ledger workload of ``aidchain bench``: registrations, entitlements, approvals, bank reports.

The set-up is not timed and goes through the real transaction path, in phases: clerks get their
roles by governance, the demo living-subsidy rules are deployed, a fund is allocated to one
program, a pool of households is registered through its public notice, and the cycles the
measured actions act on are prepared. Then four streams of ledger actions are signed and handed
to ``node.bench.measure``, exactly as transfers are:

- registrations: ``household.apply`` of new households (commitments and sealed data are built
  before the clock starts, as a clerk's client would);
- entitlements: ``cycle.add`` of ``ENT_PER_ADD`` households to draft cycles (the rules contract
  decides each household's eligibility and amount in the VM);
- approvals: the first stage's ``cycle.approve`` of submitted one-household cycles;
- bank reports: ``payment.report`` of one payment each, from batched cycles.

No measured action depends on another one: each stream has its own signers and each signer's
actions are ordered by its nonces, so every interleaving the cluster chooses commits them all.
The pool's households are reused across cycles by giving every cycle its own period (one
entitlement per program, period and household, ever), so the set-up stays small.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aid.context import Context
from aid.cycles import entitlement_id
from aid.demo_county import COUNTY_CODE, demo_county
from aid.identity import gb11643_check_digit
from chain.crypto import KeyPair
from chain.errors import AidchainError
from chain.keyfile import load_key
from chain.tx import Transaction, sign_tx
from contracts.runtime import contract_address
from node import txflow
from node.aidclient import Member, aid_payload, household_args, read_registry_key, readers_of
from node.bench import BenchReport, measure
from node.cluster import ClusterInfo, load_cluster
from rpc.client import RpcClient

STREAMS = ("household.apply", "cycle.add", "cycle.approve", "payment.report")
ENT_PER_ADD = 4  # households per measured cycle.add
POOL_MAX = 200  # households registered in the set-up; cycles reuse them across periods
SIGNERS = 4  # signers per stream: more senders, more of each block filled in parallel
FIRST_YEAR, PERIODS = 2000, 1200  # the program's window: 2000-01 .. 2099-12
ADD_GAS_BASE, ADD_GAS_PER_HOUSEHOLD = 20_000, 6_000  # demo rules: ~2,460 (two hooks ~4,180)
DEPLOY_GAS = 2_000_000
ENTITLEMENT_FEN = 30_000  # the rules below, for a one-member household under the line
RULES_INIT = {
    "line_yuan": 4000,
    "base_fen": ENTITLEMENT_FEN,
    "per_member_fen": 10_000,
    "dibao_fen": 5_000,
    "large_cycle_fen": 2**52,  # two stages for every cycle: office reviewer, finance
}
RULES_FILE = (
    Path(__file__).resolve().parents[1] / "contracts" / "system" / "rules_living_subsidy.py"
)
SEND_BATCH = 100  # set-up transactions per JSON-RPC batch


class BenchSetupError(AidchainError):
    reason = "bench_setup_failed"


@dataclass(frozen=True, slots=True)
class LedgerPlan:
    """How many of each action the measurement holds and what the set-up prepares for them."""

    per_stream: int
    pool: int

    @classmethod
    def for_txs(cls, txs: int) -> LedgerPlan:
        per_stream = max(1, txs // len(STREAMS))
        plan = cls(per_stream, min(POOL_MAX, max(ENT_PER_ADD, per_stream)))
        if plan.periods_needed > PERIODS:
            raise BenchSetupError(
                f"{txs} ledger transactions need {plan.periods_needed} periods; at most {PERIODS}"
            )
        return plan

    @property
    def bank_cycles(self) -> int:
        return -(-self.per_stream // self.pool)

    @property
    def approval_cycles(self) -> int:
        return self.per_stream

    @property
    def entitlement_cycles(self) -> int:
        return -(-self.per_stream * ENT_PER_ADD // self.pool)

    @property
    def periods_needed(self) -> int:
        return self.bank_cycles + -(-self.approval_cycles // self.pool) + self.entitlement_cycles


def period(index: int) -> str:
    return f"{FIRST_YEAR + index // 12}-{index % 12 + 1:02d}"


def fictional_member(n: int) -> tuple[Member, str]:
    """Person number ``n``: a valid-looking ID number (check digit right) and a bank account."""
    birth = (dt.date(1950, 1, 1) + dt.timedelta(days=n // 1000)).strftime("%Y%m%d")
    first17 = f"{COUNTY_CODE[:6]}{birth}{n % 1000:03d}"
    id_number = first17 + gb11643_check_digit(first17)
    member = Member(f"Bench Person {n} (fictional)", id_number, f"139{n % 10**8:08d}")
    return member, f"6228{n % 10**12:012d}"


@dataclass
class _Signer:
    key: KeyPair
    nonce: int = 0


@dataclass
class LedgerBench:
    """One ledger workload against the cluster in ``info``, sent through ``url``."""

    info: ClusterInfo
    url: str
    plan: LedgerPlan
    client: RpcClient
    chain_id: str = ""
    signers: dict[str, _Signer] = field(default_factory=dict)
    pending: list[tuple[str, Transaction]] = field(default_factory=list)
    people: int = 0  # next person number (random start: a second run registers new people)
    villages: list[str] = field(default_factory=list)
    registry_key: bytes = b""
    readers: dict[str, str] = field(default_factory=dict)

    # --- plumbing -----------------------------------------------------------------------------
    def sign(self, who: str, action: str, args: dict[str, Any], gas: int = 0) -> Transaction:
        signer = self.signers[who]
        payload = aid_payload(action, args, gas)
        tx = sign_tx(signer.key, self.chain_id, signer.nonce, "aid", payload)
        signer.nonce += 1
        return tx

    def tx(self, who: str, action: str, args: dict[str, Any], gas: int = 0) -> Transaction:
        """A set-up transaction, sent with the current phase."""
        tx = self.sign(who, action, args, gas)
        self.pending.append((f"{who} {action}", tx))
        return tx

    async def phase(self, name: str) -> list[dict[str, Any]]:
        """Send the pending transactions, wait for every commit; a refused one stops the set-up."""
        txs, self.pending = self.pending, []
        await self._send([t for _, t in txs])
        receipts = await self._wait([t.hash for _, t in txs])
        for (label, tx), info in zip(txs, receipts, strict=True):
            receipt = info.get("receipt") or {}
            if not receipt.get("ok"):
                raise BenchSetupError(
                    f"set-up phase {name!r}: {label} ({tx.hash[:12]}) was refused: "
                    f"{receipt.get('error_type')}: {receipt.get('error')}"
                )
        return receipts

    async def _send(self, txs: Sequence[Transaction]) -> None:
        pairs = [(t.hash, t.to_dict()) for t in txs]
        await txflow.send_all(self.client, pairs, BenchSetupError, batch=SEND_BATCH)

    async def _wait(self, hashes: list[str]) -> list[dict[str, Any]]:
        return await txflow.wait_committed(self.client, hashes, BenchSetupError)

    # --- the set-up ---------------------------------------------------------------------------
    def _clerks(self) -> list[tuple[str, str, str]]:
        """(signer, role, organisation) of every clerk, each over the whole county."""
        clerks = [
            ("village-reviewer", "village_registrar", "village"),
            ("township-reviewer", "reviewer", "office"),
            ("approver", "approver", "office"),
            ("fin-approver", "approver", "fin"),
            ("allocator", "allocator", "fin"),
        ]
        for s in range(SIGNERS):
            clerks += [
                (f"registrar-{s}", "registrar", "office"),
                (f"handler-{s}", "handler", "office"),
                (f"reviewer-{s}", "reviewer", "office"),
                (f"bank-{s}", "bank_operator", "bank"),
            ]
        return clerks

    async def setup(self) -> tuple[str, list[str]]:
        """Clerks, rules, an active program and the registered pool: (program, households)."""
        status = await self.client.call("node_status")
        self.chain_id = status["chain_id"]
        policy = await self.client.call("aid_policy")
        if policy["policy"] is None:
            raise BenchSetupError("this chain has no ledger (genesis without an aid section)")
        self.readers = readers_of(policy["orgs"])
        self.registry_key = read_registry_key(self.info.aid_paths()["registry_key"])
        self.villages = demo_county(households=0).villages
        self.people = int.from_bytes(os.urandom(4), "big") % 10_000_000
        await self._signers()
        rules = await self._governance_and_rules()
        program = await self._program(rules)
        pool = await self._register(policy["policy"]["notice_period_s"])
        return program, pool

    async def _signers(self) -> None:
        for org, path in self.info.aid_paths()["admins"].items():
            key = load_key(path)
            account = await self.client.call("account_get", address=key.public_hex)
            self.signers[f"admin-{org}"] = _Signer(key, int(account["next_nonce"]))
        for name, *_ in self._clerks():
            self.signers[name] = _Signer(KeyPair.generate())

    async def _governance_and_rules(self) -> str:
        proposals = []
        for name, role, org in self._clerks():
            args = {"account": self.signers[name].key.public_hex, "role": role,
                    "area": COUNTY_CODE, "org": org, "change": "grant", "as_admin_of": "fin"}  # fmt: skip
            proposals.append(self.tx("admin-fin", "role.propose", args))
        deployer = self.signers["admin-office"]
        payload = {"source": RULES_FILE.read_text(encoding="utf-8"), "init": RULES_INIT,
                   "gas": DEPLOY_GAS}  # fmt: skip
        deploy = sign_tx(deployer.key, self.chain_id, deployer.nonce, "deploy", payload)
        self.pending.append(("admin-office deploy", deploy))
        rules = contract_address(deployer.key.public_hex, deployer.nonce)
        deployer.nonce += 1
        await self.phase("role proposals, rules contract")
        for proposal in proposals:
            ident = _new_id(proposal, "proposal")
            for org in ("office", "audit"):
                self.tx(f"admin-{org}", "role.approve", {"proposal": ident, "as_admin_of": org})
        await self.phase("role approvals")
        return rules

    async def _program(self, rules: str) -> str:
        plan = self.plan
        entitlements = plan.per_stream * (ENT_PER_ADD + 2) + plan.pool * plan.bank_cycles
        budget = entitlements * ENTITLEMENT_FEN
        doc = {"doc_no": f"Bench fund {os.urandom(6).hex()} (fictional)", "level": "central",
               "year": 2026, "purpose": "living", "amount": budget, "area": COUNTY_CODE}  # fmt: skip
        fund = _new_id(self.tx("allocator", "fund.receive", doc), "fund")
        issue = {"source": fund, "area": COUNTY_CODE, "amount": budget}
        allocation = _new_id(self.tx("allocator", "allocation.issue", issue), "allocation")
        self.tx("allocator", "allocation.receive", {"allocation": allocation})
        await self.phase("fund received and allocated")
        args = {"name": "Bench living subsidy (fictional)", "purpose": "living",
                "category": "cash", "area": COUNTY_CODE, "start_period": period(0),
                "end_period": period(PERIODS - 1), "per_household_cap": 10 * ENTITLEMENT_FEN,
                "rules": rules, "funding": [[allocation, budget]], "targets": []}  # fmt: skip
        program = _new_id(self.tx("handler-0", "program.create", args), "program")
        await self.phase("program created")
        self.tx("fin-approver", "program.status", {"program": program, "move": "activate"})
        await self.phase("program activated")
        return program

    def apply_args(self) -> dict[str, Any]:
        """A new household of one member, sealed and committed client side."""
        member, account = fictional_member(self.people)
        village = self.villages[self.people % len(self.villages)]
        self.people += 1
        return household_args(self.registry_key, self.readers, village=village, members=[member],
                              bank_account=account, cause="illness", income_per_head_yuan=3_000)  # fmt: skip

    async def _register(self, notice_s: int) -> list[str]:
        ids = [
            _new_id(self.tx(f"registrar-{i % SIGNERS}", "household.apply", self.apply_args()),
                    "household")
            for i in range(self.plan.pool)
        ]  # fmt: skip
        await self.phase("pool households apply")
        for stage, who in (("village", "village-reviewer"), ("township", "township-reviewer"),
                           ("county", "approver")):  # fmt: skip
            if stage == "township":
                await asyncio.sleep(notice_s + 1)  # the public notice runs in block time
            for ident in ids:
                self.tx(who, "household.review", {"household": ident, "stage": stage})
            await self.phase(f"pool households: {stage} review")
        return ids


def _new_id(tx: Transaction, kind: str) -> str:
    return Context("", 0, 0, tx.hash).new_id(kind)


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the measured actions act on."""

    pool: list[str]  # registered households
    drafts: list[tuple[str, str]]  # (handler, draft cycle) to add households to
    submitted: list[str]  # one-household cycles waiting for their first approval
    payments: list[tuple[str, str]]  # (batch, entitlement) sent to the bank, not yet reported


async def prepare(bench: LedgerBench, program: str, pool: list[str]) -> Prepared:
    """Draft, submitted and batched cycles for the measured actions; each its own period."""
    plan, next_period = bench.plan, 0
    bank_cycles = []
    for _ in range(plan.bank_cycles):
        bank_cycles.append(_cycle(bench, "handler-0", program, next_period, pool))
        next_period += 1
    submitted = []
    for i in range(plan.approval_cycles):
        index = next_period + i // plan.pool
        submitted.append(_cycle(bench, f"handler-{i % SIGNERS}", program, index, [pool[i % plan.pool]]))  # fmt: skip
    next_period += -(-plan.approval_cycles // plan.pool)
    drafts = []
    for c in range(plan.entitlement_cycles):
        who, args = f"handler-{c % SIGNERS}", {"program": program, "period": period(next_period + c)}  # fmt: skip
        drafts.append((who, _new_id(bench.tx(who, "cycle.create", args), "cycle")))
    await bench.phase("cycles prepared and submitted")
    for who in ("reviewer-0", "fin-approver"):
        for cycle in bank_cycles:
            bench.tx(who, "cycle.approve", {"cycle": cycle, "decision": "approve"})
        await bench.phase(f"bank cycles approved by {who}")
    payments = []
    for c, cycle in enumerate(bank_cycles):
        sent: dict[str, Any] = {"cycle": cycle, "bank": "bank", "count": len(pool),
                                "total": len(pool) * ENTITLEMENT_FEN}  # fmt: skip
        batch = _new_id(bench.tx("allocator", "batch.create", sent), "batch")
        payments += [(batch, entitlement_id(program, period(c), hh)) for hh in pool]
    await bench.phase("bank batches sent")
    return Prepared(pool, drafts, submitted, payments)


def _cycle(bench: LedgerBench, who: str, program: str, index: int, households: list[str]) -> str:
    """Create, fill and submit a cycle (one signer: the three commit in order)."""
    create = bench.tx(who, "cycle.create", {"program": program, "period": period(index)})
    cycle = _new_id(create, "cycle")
    gas = ADD_GAS_BASE + ADD_GAS_PER_HOUSEHOLD * len(households)
    bench.tx(who, "cycle.add", {"cycle": cycle, "households": households}, gas)
    bench.tx(who, "cycle.submit", {"cycle": cycle}, ADD_GAS_BASE)
    return cycle


def measured_txs(bench: LedgerBench, prepared: Prepared) -> list[list[Transaction]]:
    """The four streams, signed now (before the clock), per signer in nonce order."""
    per_signer: dict[str, list[Transaction]] = {}

    def add(who: str, action: str, args: dict[str, Any], gas: int = 0) -> None:
        per_signer.setdefault(who, []).append(bench.sign(who, action, args, gas))

    q = bench.plan.per_stream
    for i in range(q):
        add(f"registrar-{i % SIGNERS}", "household.apply", bench.apply_args())
    pool = prepared.pool
    chunks = [
        (who, cycle, pool[k : k + ENT_PER_ADD])
        for who, cycle in prepared.drafts
        for k in range(0, len(pool), ENT_PER_ADD)
    ]
    for who, cycle, households in chunks[:q]:
        gas = ADD_GAS_BASE + ADD_GAS_PER_HOUSEHOLD * len(households)
        add(who, "cycle.add", {"cycle": cycle, "households": households}, gas)
    for i, cycle in enumerate(prepared.submitted[:q]):
        add(f"reviewer-{i % SIGNERS}", "cycle.approve", {"cycle": cycle, "decision": "approve"})
    for i, (batch, ent) in enumerate(prepared.payments[:q]):
        row = {"entitlement": ent, "outcome": "paid", "amount": ENTITLEMENT_FEN,
               "bank_ref": f"BENCH{i:08d}"}  # fmt: skip
        add(f"bank-{i % SIGNERS}", "payment.report", {"batch": batch, "results": [row]})
    return [per_signer[who] for who in sorted(per_signer)]


async def refusals(client: RpcClient, hashes: list[str]) -> Counter[str]:
    """Committed measured actions the ledger refused (``ok: false``), by reason."""
    out: Counter[str] = Counter()
    for start in range(0, len(hashes), txflow.POLL_BATCH):
        part = hashes[start : start + txflow.POLL_BATCH]
        for info in await client.batch([("tx_get", {"hash": h}) for h in part]):
            receipt = info.get("receipt") if isinstance(info, dict) else None
            if receipt is not None and not receipt["ok"]:
                out[str(receipt["error_type"])] += 1
    return out


async def run_ledger_bench(
    directory: Path,
    *,
    txs: int,
    clients: int,
    timeout_s: float,
    rate: float = 0.0,
    actions: Sequence[str] = STREAMS,
    transport: str = "ws",
) -> BenchReport:
    """Set up (untimed), then measure ledger actions: ``txs // 4`` of each of ``actions``.

    Every signer belongs to one stream, so leaving streams out leaves no nonce gap; measuring
    one stream alone shows what each kind of action costs.
    """
    unknown = sorted(set(actions) - set(STREAMS))
    if unknown or not actions:
        raise BenchSetupError(f"ledger actions must be some of {', '.join(STREAMS)}: {unknown}")
    info = load_cluster(directory)
    plan = LedgerPlan.for_txs(txs)
    async with RpcClient(info.rpc_urls[0], timeout=60) as client:
        bench = LedgerBench(info, info.rpc_urls[0], plan, client)
        started = time.monotonic()
        program, pool = await bench.setup()
        prepared = await prepare(bench, program, pool)
        setup_s = time.monotonic() - started
        streams = [s for s in measured_txs(bench, prepared) if s[0].payload["action"] in actions]
        height = (await client.call("node_status"))["height"]
        clients = max(1, min(clients, len(streams)))
        report = await measure(
            info.rpc_urls,
            streams,
            clients,
            height,
            timeout_s,
            rate,
            label="ledger txs",
            transport=transport,
        )
        report.refused = await refusals(client, [t.hash for s in streams for t in s])
    counts = Counter(t.payload["action"] for s in streams for t in s)
    report.notes = [
        "mix: "
        + ", ".join(f"{counts[a]} {a}" for a in STREAMS)
        + f" ({ENT_PER_ADD} households per cycle.add)",
        f"set-up (not timed): {setup_s:.1f}s, {plan.pool} households registered",
    ]
    return report
