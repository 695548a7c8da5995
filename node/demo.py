"""Load the fictional demo county into a running cluster through the real transaction path.

Every step is a signed transaction the nodes execute, as the agencies' clients would send it:
role grants by governance (three organisations' admins), households registered level by level
with one public notice waited out for all of them, funds allocated down to three programs (their
rules are contracts deployed by ``deploy`` transactions), payment cycles approved stage by stage,
bank batches with failed payments, account corrections by change request, re-issued payments and
an in-kind delivery; and the oversight story (node/demo_oversight.py): monitoring rules, pairings
and visits, alerts at every level, an exit with its notice, grievances.

The load runs in phases. Within a phase each signer's transactions are pipelined (nonces counted
here, ids predicted from the transaction hashes) and sent in JSON-RPC batches; a phase ends when
every transaction committed, and any refused one stops the load with its reason. Phases exist
only where one signer's action depends on another signer's: the chain orders a sender's own
transactions, nothing orders two senders'.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from aid.audit import STATEMENT_COLUMNS, paid_payment
from aid.demo_county import COUNTY_CODE, DemoCounty, DemoHousehold, demo_county
from aid.disclosure import masked_rows
from aid.identity import account_commitment, seal
from chain.crypto import KeyPair
from chain.errors import AidchainError
from chain.keyfile import load_key, save_key
from chain.tx import sign_tx
from contracts.runtime import contract_address
from node import demo_oversight, txflow
from node.aidclient import (
    Member,
    SignedTx,
    aid_tx,
    household_args,
    read_registry_key,
    readers_of,
    signed,
)
from node.cluster import ClusterInfo
from rpc.client import RpcClient, RpcError

SEND_BATCH = 50  # transactions per JSON-RPC batch (as tests/integration/harness.py submit_all)
ADD_CHUNK = 500  # households per cycle.add (aid.cycles.MAX_BATCH_HOUSEHOLDS)
ADD_GAS_PER_HOUSEHOLD = (
    6_000  # rules gas per household added (2,460 / 4,180 measured, docs/ledger.md)
)
ADD_GAS_BASE = 200_000
DEPLOY_GAS = 2_000_000
REPORT_CHUNK = 500  # payment outcomes per payment.report
FAILED_EVERY = 50  # the 1st, 51st, ... payment of the first cycle fail: account closed
CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "system"
YEAR = 2026

# source document numbers (文号), fictional; real ones use these brackets
DOC_LIVING = "云财农〔2026〕12号 (fictional)"  # noqa: RUF001
DOC_EDUCATION = "云财教〔2026〕7号 (fictional)"  # noqa: RUF001
DOC_SEEDLINGS = "青财农〔2026〕3号 (fictional)"  # noqa: RUF001


class DemoError(AidchainError):
    reason = "demo_failed"


@dataclass(slots=True)
class Signer:
    name: str
    key: KeyPair
    nonce: int = 0


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    purpose: str
    category: str
    rules_file: str
    init: dict[str, Any]
    fund_doc: str
    fund_level: str
    fund_amount: int
    budget: int
    cap: int
    periods: tuple[str, ...]
    causes: tuple[str, ...] | None  # households the client proposes; the rules still decide
    item: str | None = None
    unit_value: int | None = None


PROGRAMS = (
    Program(
        "青山县城乡居民生活补助 (fictional)", "living", "cash", "rules_living_subsidy.py",
        {"line_yuan": 4000, "base_fen": 30_000, "per_member_fen": 10_000, "dibao_fen": 5_000,
         "large_cycle_fen": 50_000_000},
        DOC_LIVING, "central", 500_000_000, 400_000_000, 100_000,
        ("2026-01", "2026-02"), None,
    ),
    Program(
        "青山县教育帮扶补助 (fictional)", "education", "cash", "rules_education_subsidy.py",
        {"per_pupil_fen": 50_000},
        DOC_EDUCATION, "provincial", 100_000_000, 80_000_000, 200_000,
        ("2026-03",), ("schooling",),
    ),
    Program(
        "青山县果苗产业帮扶 (fictional)", "industry", "in_kind", "rules_seedlings.py",
        {"base_bundles": 2, "per_member_bundles": 1, "max_bundles": 8},
        DOC_SEEDLINGS, "county", 60_000_000, 50_000_000, 50_000,
        ("2026-03",), ("lack_funds", "lack_skills"), item="fruit-tree seedlings (bundle)",
        unit_value=5_000,
    ),
)  # fmt: skip


def township_of(village: str) -> str:
    return village[:9] + "000"


@dataclass(slots=True)
class Summary:
    households: int = 0
    dibao: int = 0
    grants: int = 0
    programs: int = 0
    cycles: int = 0
    entitlements: int = 0
    paid: int = 0
    paid_fen: int = 0
    failed: int = 0
    reissued: int = 0
    reconciled: int = 0  # bank batches reconciled with the bank's statement
    closed: int = 0  # cycles whose every payment was made, closed by finance
    delivered: int = 0
    pairings: int = 0
    visits: int = 0
    alerts: int = 0
    escalated: int = 0
    grievances: int = 0
    disclosures: int = 0
    lifted: int = 0
    lifting: int = 0
    transactions: int = 0
    phases: list[tuple[str, int, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name != "phases"
        }
        out["phases"] = [{"phase": p, "txs": n, "seconds": round(s, 1)} for p, n, s in self.phases]
        return out


class DemoLoader:
    """One load of the demo county into the cluster ``info`` through node ``url``."""

    def __init__(self, info: ClusterInfo, url: str, *, households: int, seed: int) -> None:
        self.info = info
        self.url = url
        self.county: DemoCounty = demo_county(seed, households)
        self.summary = Summary()
        self.chain_id = ""
        self.signers: dict[str, Signer] = {}
        self.client = RpcClient(url, timeout=60)
        self.pending: list[tuple[str, SignedTx]] = []  # (label, tx) of the current phase
        self.by_id: dict[str, DemoHousehold] = {}  # household id -> its demo data
        self.exiting: set[str] = set()  # households proposed for lifting: never in a cycle

    # --- plumbing -----------------------------------------------------------------------------
    async def call(self, method: str, **params: Any) -> Any:
        try:
            return await self.client.call(method, **params)
        except RpcError as exc:
            raise DemoError(f"{method} failed: {exc.message} ({exc.reason})") from None

    def tx(self, who: str, action: str, args: dict[str, Any], gas: int = 0) -> SignedTx:
        signer = self.signers[who]
        signed = aid_tx(signer.key, self.chain_id, signer.nonce, action, args, gas)
        signer.nonce += 1
        self.pending.append((f"{who} {action}", signed))
        return signed

    def deploy(self, who: str, source: str, init: dict[str, Any]) -> str:
        """A ``deploy`` transaction of a rules contract; returns the contract's address."""
        signer = self.signers[who]
        payload = {"source": source, "init": init, "gas": DEPLOY_GAS}
        tx = sign_tx(signer.key, self.chain_id, signer.nonce, "deploy", payload)
        self.pending.append((f"{who} deploy", signed(tx)))
        address = contract_address(signer.key.public_hex, signer.nonce)
        signer.nonce += 1
        return address

    async def phase(self, name: str) -> list[dict[str, Any]]:
        """Send the phase's transactions and wait until each committed; a failure stops the load."""
        txs, self.pending = self.pending, []
        started = time.monotonic()
        await self._send([t for _, t in txs])
        receipts = await self._wait([t.hash for _, t in txs])
        for (label, sent), info in zip(txs, receipts, strict=True):
            receipt = info.get("receipt") or {}
            if not receipt.get("ok"):
                raise DemoError(
                    f"phase {name!r}: {label} ({sent.hash[:12]}) was refused: "
                    f"{receipt.get('error_type')}: {receipt.get('error')}"
                )
        self.summary.transactions += len(txs)
        self.summary.phases.append((name, len(txs), time.monotonic() - started))
        return receipts

    async def _send(self, txs: Sequence[SignedTx]) -> None:
        await txflow.send_all(
            self.client, [(t.hash, t.tx) for t in txs], DemoError, batch=SEND_BATCH
        )

    async def _wait(self, hashes: list[str]) -> list[dict[str, Any]]:
        return await txflow.wait_committed(self.client, hashes, DemoError)

    async def list_all(self, kind: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"kind": kind, "filters": filters, "limit": 200}
            if cursor is not None:
                params["cursor"] = cursor
            page = await self.call("aid_list", **params)
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if cursor is None:
                return items

    # --- the load -----------------------------------------------------------------------------
    async def run(self) -> Summary:
        async with self.client:
            status = await self.call("node_status")
            self.chain_id = status["chain_id"]
            await self._refuse_second_load()
            policy = await self.call("aid_policy")
            await self._setup_signers()
            contracts = await self._governance_and_contracts()
            households = await self._register(policy)
            story = await demo_oversight.start(
                self, households, policy["orgs"], _source("monitoring_rules.py")
            )
            self.exiting = set(story.ids(story.plan.exiting))
            programs = await self._funds_and_programs(contracts)
            cycles = await self._cycles(programs, households)
            await self._pay(programs, cycles, households, policy)
            for name, value in (await demo_oversight.finish(self, story)).items():
                setattr(self.summary, name, value)
        return self.summary

    async def _refuse_second_load(self) -> None:
        for kind in ("fund", "household"):
            page = await self.call("aid_list", kind=kind, filters={}, limit=1)
            if page["items"]:
                raise DemoError(
                    f"this chain already holds ledger data ({kind} {page['items'][0]['id']}): "
                    "the demo loads once, into a new cluster (`cluster init --force` first)"
                )

    async def _setup_signers(self) -> None:
        paths = self.info.aid_paths()
        for org, path in paths["admins"].items():
            self.signers[f"admin-{org}"] = Signer(f"admin-{org}", load_key(path))
        folder = self.info.root / "aid" / "demo"
        for name, *_ in self._roles():
            key = KeyPair.generate()
            save_key(folder / f"{name}.key", key, overwrite=True)
            self.signers[name] = Signer(name, key)
        for signer in self.signers.values():
            account = await self.call("account_get", address=signer.key.public_hex)
            signer.nonce = int(account["next_nonce"])

    def _roles(self) -> list[tuple[str, str, str, str]]:
        """(signer, role, area, org) of every clerk the demo needs."""
        townships = sorted({township_of(v) for v in self.county.villages})
        roles = [
            ("registrar", "registrar", COUNTY_CODE, "office"),
            ("reviewer", "reviewer", COUNTY_CODE, "office"),
            ("approver", "approver", COUNTY_CODE, "office"),
            ("handler", "handler", COUNTY_CODE, "office"),
            ("fin-approver", "approver", COUNTY_CODE, "fin"),
            ("allocator", "allocator", COUNTY_CODE, "fin"),
            ("bank-operator", "bank_operator", COUNTY_CODE, "bank"),
            ("auditor", "auditor", COUNTY_CODE, "audit"),
            ("civil-reviewer", "reviewer", COUNTY_CODE, "civil"),
        ]
        roles += [
            ("dispatcher", "dispatcher", COUNTY_CODE, "office"),
            ("grid-worker", "grid_worker", COUNTY_CODE, "village"),
        ]
        for t, code in enumerate(townships, start=1):
            roles.append((f"village-registrar-{t}", "village_registrar", code, "village"))
            roles.append((f"township-reviewer-{t}", "reviewer", code, "office"))
            roles.append((f"cadre-{t}", "cadre", code, "office"))
        return roles

    def cadre_of(self, household: str) -> str:
        return self._by_township("cadre", self.by_id[household].village)

    def account(self, name: str) -> str:
        return self.signers[name].key.public_hex

    def village_of(self, household: str) -> str:
        return self.by_id[household].village

    def _by_township(self, prefix: str, village: str) -> str:
        townships = sorted({township_of(v) for v in self.county.villages})
        return f"{prefix}-{townships.index(township_of(village)) + 1}"

    async def _governance_and_contracts(self) -> dict[str, str]:
        proposals = []
        for name, role, area, org in self._roles():
            args = {
                "account": self.signers[name].key.public_hex,
                "role": role,
                "area": area,
                "org": org,
                "change": "grant",
                "as_admin_of": "fin",
            }
            proposals.append(self.tx("admin-fin", "role.propose", args).new_id("proposal"))
        contracts = {
            p.rules_file: self.deploy(
                "admin-office", (CONTRACTS / p.rules_file).read_text(encoding="utf-8"), p.init
            )
            for p in PROGRAMS
        }
        await self.phase("role proposals, rules contracts")
        for proposal in proposals:
            for org in ("office", "audit"):
                self.tx(f"admin-{org}", "role.approve", {"proposal": proposal, "as_admin_of": org})
        await self.phase("role approvals (3 of 6 organisations)")
        self.summary.grants = len(proposals)
        return contracts

    async def _register(self, policy: dict[str, Any]) -> list[str]:
        registry_key = read_registry_key(self.info.aid_paths()["registry_key"])
        readers = readers_of(policy["orgs"])
        ids = []
        for hh in self.county.households:
            args = household_args(
                registry_key,
                readers,
                village=hh.village,
                members=[Member(p.name, p.id_number, p.phone) for p in hh.members],
                bank_account=hh.bank_account,
                cause=hh.cause,
                income_per_head_yuan=hh.income_per_head_yuan,
            )
            ids.append(self.tx("registrar", "household.apply", args).new_id("household"))
        await self.phase("household applications")
        for ident, hh in zip(ids, self.county.households, strict=True):
            who = self._by_township("village-registrar", hh.village)
            self.tx(who, "household.review", {"household": ident, "stage": "village"})
            if hh.dibao:
                args = {"household": ident, "label": "dibao", "present": True}
                self.tx("civil-reviewer", "household.label", args)
                self.summary.dibao += 1
        await self.phase("village reviews, public notice starts; civil affairs labels")
        # the notice runs in block time; blocks carry the wall clock of their proposer
        await asyncio.sleep(policy["policy"]["notice_period_s"] + 1)
        for ident, hh in zip(ids, self.county.households, strict=True):
            who = self._by_township("township-reviewer", hh.village)
            self.tx(who, "household.review", {"household": ident, "stage": "township"})
        await self.phase("township reviews after the notice")
        for ident in ids:
            self.tx("approver", "household.review", {"household": ident, "stage": "county"})
        await self.phase("county approvals")
        self.summary.households = len(ids)
        self.by_id = dict(zip(ids, self.county.households, strict=True))
        return ids

    async def _funds_and_programs(self, contracts: dict[str, str]) -> list[str]:
        allocations = []
        for p in PROGRAMS:
            fund = self.tx(
                "allocator",
                "fund.receive",
                {"doc_no": p.fund_doc, "level": p.fund_level, "year": YEAR,
                 "purpose": p.purpose, "amount": p.fund_amount, "area": COUNTY_CODE},
            ).new_id("fund")  # fmt: skip
            issue = {"source": fund, "area": COUNTY_CODE, "amount": p.budget}
            allocation = self.tx("allocator", "allocation.issue", issue).new_id("allocation")
            self.tx("allocator", "allocation.receive", {"allocation": allocation})
            allocations.append(allocation)
        await self.phase("funds received and allocated to the county")
        programs = []
        for p, allocation in zip(PROGRAMS, allocations, strict=True):
            args: dict[str, Any] = {
                "name": p.name,
                "purpose": p.purpose,
                "category": p.category,
                "area": COUNTY_CODE,
                "start_period": f"{YEAR}-01",
                "end_period": f"{YEAR}-12",
                "per_household_cap": p.cap,
                "rules": contracts[p.rules_file],
                "funding": [[allocation, p.budget]],
                "targets": [{"metric": "households_paid", "target": len(self.county.households)}],
            }
            if p.category == "in_kind":
                args.update(item=p.item, unit_value=p.unit_value)
            programs.append(self.tx("handler", "program.create", args).new_id("program"))
        await self.phase("programs created")
        for program in programs:
            self.tx("fin-approver", "program.status", {"program": program, "move": "activate"})
        await self.phase("programs activated by finance")
        self.summary.programs = len(programs)
        return programs

    async def _cycles(
        self, programs: list[str], households: list[str]
    ) -> list[tuple[int, str, str]]:
        """(program index, period, cycle id) of every cycle, each approved through its stages."""
        cycles = []
        for i, (p, program) in enumerate(zip(PROGRAMS, programs, strict=True)):
            chosen = [
                ident
                for ident, hh in zip(households, self.county.households, strict=True)
                if (p.causes is None or hh.cause in p.causes) and ident not in self.exiting
            ]
            if not chosen:  # a small demo may have no household this program serves
                continue
            for period in p.periods:
                cycle = self.tx("handler", "cycle.create", {"program": program, "period": period})
                cycle_id = cycle.new_id("cycle")
                for start in range(0, len(chosen), ADD_CHUNK):
                    part = chosen[start : start + ADD_CHUNK]
                    gas = ADD_GAS_BASE + ADD_GAS_PER_HOUSEHOLD * len(part)
                    self.tx("handler", "cycle.add", {"cycle": cycle_id, "households": part}, gas)
                self.tx("handler", "cycle.submit", {"cycle": cycle_id}, ADD_GAS_BASE)
                cycles.append((i, period, cycle_id))
        await self.phase("payment cycles prepared and submitted")
        for _ in range(3):  # at most three stages (rules_living_subsidy.stages)
            open_cycles = []
            for _, _, cycle_id in cycles:
                record = await self.call("aid_get", kind="cycle", id=cycle_id)
                if record["status"] == "in_approval":
                    open_cycles.append((cycle_id, record["stages"][record["stage"]]))
            if not open_cycles:
                break
            for cycle_id, stage in open_cycles:
                self.tx(
                    _stage_signer(stage),
                    "cycle.approve",
                    {"cycle": cycle_id, "decision": "approve"},
                )
            await self.phase("cycle approval stage")
        self.summary.cycles = len(cycles)
        return cycles

    async def _pay(
        self,
        programs: list[str],
        cycles: list[tuple[int, str, str]],
        households: list[str],
        policy: dict[str, Any],
    ) -> None:
        cash = [(i, period, c) for i, period, c in cycles if PROGRAMS[i].category == "cash"]
        entitlements: dict[str, list[dict[str, Any]]] = {}
        batches = []
        for i, period, cycle_id in cycles:
            ents = await self.list_all("entitlement", {"program": programs[i], "period": period})
            entitlements[cycle_id] = ents
            self.summary.entitlements += len(ents)
        for _, _, cycle_id in cash:
            record = await self.call("aid_get", kind="cycle", id=cycle_id)
            args = {
                "cycle": cycle_id,
                "bank": "bank",
                "count": record["count"],
                "total": record["total"],
            }
            batches.append(self.tx("allocator", "batch.create", args).new_id("batch"))
        await self.phase("bank batches sent")
        failed = self._report(cash, entitlements, batches, fail_first=True)
        await self.phase("bank reports: paid and failed (account closed)")
        await self._correct_and_reissue(failed, cash[0][2], households, policy)
        await self._reconcile_and_close(programs, cash)
        self._deliver_one(cycles, entitlements)
        if self.pending:
            await self.phase("in-kind delivery confirmed")
        await self._disclose(cash[0][1], cash[0][2], entitlements[cash[0][2]])

    async def _disclose(self, period: str, cycle_id: str, ents: list[dict[str, Any]]) -> None:
        """Publish the masked list (公示) of the village with most payments in the first cycle.

        The loader made the names, so it masks them here as the office's client would after
        opening the sealed data; only masked names (张*三) reach the chain.
        """
        by_village: dict[str, list[dict[str, Any]]] = {}
        for ent in ents:
            by_village.setdefault(self.village_of(ent["household"]), []).append(ent)
        village = max(sorted(by_village), key=lambda v: len(by_village[v]))
        named = [(e["id"], self.by_id[e["household"]].members[0].name) for e in by_village[village]]
        args = {"village": village, "period": period, "cycles": [cycle_id]}
        draft = self.tx("handler", "disclosure.draft", {**args, "rows": masked_rows(named)})
        await self.phase("disclosure drafted (masked names)")
        self.tx("approver", "disclosure.publish", {"disclosure": draft.new_id("disclosure")})
        await self.phase("disclosure published")
        self.summary.disclosures += 1

    def _report(
        self,
        cash: list[tuple[int, str, str]],
        entitlements: dict[str, list[dict[str, Any]]],
        batches: list[str],
        *,
        fail_first: bool,
    ) -> list[dict[str, Any]]:
        failed = []
        for n, ((_, _, cycle_id), batch) in enumerate(zip(cash, batches, strict=True)):
            rows = []
            for k, ent in enumerate(entitlements[cycle_id]):
                if fail_first and n == 0 and k % FAILED_EVERY == 0:
                    rows.append({"entitlement": ent["id"], "outcome": "failed",
                                 "amount": ent["amount"], "code": "account_closed"})  # fmt: skip
                    failed.append(ent)
                else:
                    rows.append({"entitlement": ent["id"], "outcome": "paid",
                                 "amount": ent["amount"], "bank_ref": f"QS{batch[:6]}{k:06d}"})  # fmt: skip
                    self.summary.paid += 1
                    self.summary.paid_fen += ent["amount"]
            for start in range(0, len(rows), REPORT_CHUNK):
                part = rows[start : start + REPORT_CHUNK]
                self.tx("bank-operator", "payment.report", {"batch": batch, "results": part})
        self.summary.failed += len(failed)
        return failed

    async def _correct_and_reissue(
        self,
        failed: list[dict[str, Any]],
        cycle_id: str,
        households: list[str],
        policy: dict[str, Any],
    ) -> None:
        if not failed:
            return
        registry_key = read_registry_key(self.info.aid_paths()["registry_key"])
        readers = readers_of(policy["orgs"])
        changes = []
        for ent in failed:
            hh = self.by_id[ent["household"]]
            account = _new_account(hh)
            personal = {
                "members": [
                    {"name": p.name, "id_number": p.id_number, "phone": p.phone} for p in hh.members
                ],
                "bank_account": account,
            }
            args = {
                "household": ent["household"],
                "reason": "the bank reported the account closed; the household opened a new one",
                "account_commitment": account_commitment(registry_key, account),
                "sealed": seal(readers, personal),
            }
            changes.append(self.tx("registrar", "household.change", args).new_id("change"))
        await self.phase("account corrections requested")
        for change in changes:
            self.tx(
                "approver", "household.change_review", {"change": change, "decision": "approve"}
            )
        await self.phase("account corrections approved by the county")
        for ent in failed:
            self.tx("handler", "payment.reissue", {"entitlement": ent["id"]})
        await self.phase("failed payments re-issued")
        args = {"cycle": cycle_id, "bank": "bank", "count": len(failed),
                "total": sum(e["amount"] for e in failed)}  # fmt: skip
        batch = self.tx("allocator", "batch.create", args).new_id("batch")
        await self.phase("re-issue batch sent")
        rows = [
            {"entitlement": e["id"], "outcome": "paid", "amount": e["amount"],
             "bank_ref": f"QS{batch[:6]}R{k:05d}"}
            for k, e in enumerate(failed)
        ]  # fmt: skip
        self.tx("bank-operator", "payment.report", {"batch": batch, "results": rows})
        await self.phase("re-issued payments reported paid")
        self.summary.reissued = len(failed)
        self.summary.paid += len(failed)
        self.summary.paid_fen += sum(e["amount"] for e in failed)

    async def _reconcile_and_close(
        self, programs: list[str], cash: list[tuple[int, str, str]]
    ) -> None:
        """The bank's statement of each batch (its credits, as CSV) agrees with its reports:
        finance records each statement's hash, then closes the cycles, every payment made."""
        for i, period, _ in cash:
            ents = await self.list_all("entitlement", {"program": programs[i], "period": period})
            for batch_id in sorted({a["batch"] for e in ents for a in e["attempts"]}):
                paid = [p for e in ents if (p := paid_payment(e["id"], e, batch_id)) is not None]
                rows = [f"{p.entitlement},{p.bank_ref},{p.amount_fen}" for p in paid]
                text = "\n".join([",".join(STATEMENT_COLUMNS), *rows]) + "\n"
                args = {
                    "batch": batch_id,
                    "statement_hash": hashlib.sha256(text.encode()).hexdigest(),
                    "count": len(paid),
                    "total": sum(p.amount_fen for p in paid),
                }
                self.tx("allocator", "batch.reconcile", args)
                self.summary.reconciled += 1
        await self.phase("bank statements reconciled by finance")
        for _, _, cycle_id in cash:
            self.tx("allocator", "cycle.close", {"cycle": cycle_id})
        await self.phase("paid cycles closed by finance")
        self.summary.closed = len(cash)

    def _deliver_one(
        self, cycles: list[tuple[int, str, str]], entitlements: dict[str, list[dict[str, Any]]]
    ) -> None:
        for i, _, cycle_id in cycles:
            if PROGRAMS[i].category == "in_kind" and entitlements[cycle_id]:
                ent = entitlements[cycle_id][0]
                household = self.by_id[ent["household"]]
                who = self._by_township("village-registrar", household.village)
                self.tx(who, "delivery.confirm", {"entitlement": ent["id"]})
                self.summary.delivered += 1
                return


def _stage_signer(stage: dict[str, Any]) -> str:
    if stage["role"] == "reviewer":
        return "reviewer"
    if stage["role"] == "approver" and stage.get("org_kind") == "finance":
        return "fin-approver"
    if stage["role"] == "approver":
        return "approver"
    raise DemoError(f"the demo has no clerk for approval stage {stage}")


def _source(name: str) -> str:
    return (CONTRACTS / name).read_text(encoding="utf-8")


def _new_account(hh: DemoHousehold) -> str:
    """The corrected account: a deterministic new number at the same bank."""
    digits = int(hh.bank_account[4:]) + 1
    return f"6228{digits % 10**12:012d}"


async def load_demo(info: ClusterInfo, url: str, *, households: int, seed: int) -> Summary:
    return await DemoLoader(info, url, households=households, seed=seed).run()
