"""An in-memory chain for ledger unit tests: genesis, signers, and one call per action."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from aid.context import Context
from aid.genesis import genesis_records
from aid.identity import gb11643_check_digit, person_commitment
from aid.indexes import history_key, index_delta
from aid.ledger import Outcome, execute
from chain.crypto import KeyPair

COUNTY = "530102000000"
TOWNSHIP = "530102001000"
VILLAGE = "530102001001"
OTHER_COUNTY = "530103000000"
OTHER_VILLAGE = "530103001001"


def key(name: str) -> KeyPair:
    return KeyPair.from_seed(hashlib.sha256(name.encode()).digest())


ORGS = ("fin", "office", "bank", "audit", "office2", "civil", "village")
ADMINS = {org: key(f"admin-{org}") for org in ORGS}


def genesis_doc(**policy: int) -> dict[str, Any]:
    areas = [
        {"code": "530000000000", "name": "Province"},
        {"code": "530100000000", "name": "City"},
        {"code": COUNTY, "name": "County A"},
        {"code": TOWNSHIP, "name": "Township A1"},
        {"code": VILLAGE, "name": "Village A1a"},
        {"code": OTHER_COUNTY, "name": "County B"},
        {"code": "530103001000", "name": "Township B1"},
        {"code": OTHER_VILLAGE, "name": "Village B1a"},
    ]

    def org(ident: str, kind: str, area: str) -> dict[str, Any]:
        return {
            "id": ident,
            "kind": kind,
            "name": ident.title(),
            "area": area,
            "admins": [ADMINS[ident].public_hex],
            "enc_key": "ab" * 32,
        }

    return {
        "policy": {"governance_quorum": 3, **policy},
        "areas": areas,
        "orgs": [
            org("fin", "finance", COUNTY),
            org("office", "poverty_office", COUNTY),
            org("bank", "bank", COUNTY),
            org("audit", "auditor", COUNTY),
            org("office2", "poverty_office", OTHER_COUNTY),
            org("civil", "civil_affairs", COUNTY),
            org("village", "village_committee", COUNTY),
        ],
    }


class FakeRules:
    """Rules as Python callables per hook (the real VM runs in tests/aid/test_rules_contract.py)."""

    def __init__(self) -> None:
        self.eligible: Any = lambda args: True
        self.entitlement: Any = lambda args: 50_000
        self.stages: Any = lambda args: [
            {"role": "reviewer", "quorum": 1},
            {"role": "approver", "quorum": 1, "org_kind": "finance"},
        ]
        self.assess: Any = None  # the optional hook: None, not defined
        self.calls: list[str] = []

    def call(self, program_id: str, contract: str, hook: str, args: dict[str, Any]) -> Any:
        self.calls.append(hook)
        return getattr(self, hook)(args)

    def defines(self, contract: str, hook: str) -> bool:
        return getattr(self, hook, None) is not None


class MemoryChain:
    """A dict state plus a block clock; ``act`` runs one action as a transaction would."""

    def __init__(self, **policy: int) -> None:
        self.state: dict[str, Any] = dict(genesis_records(genesis_doc(**policy)))
        self.time_ms = 1_700_000_000_000
        self.height = 1
        self.txs = 0
        self.rules: Any = FakeRules()
        self.index: dict[str, Any] = {}  # the node's read-side index, kept as the node does

    # StateAccess
    def get(self, k: str) -> Any | None:
        return self.state.get(k)

    def set(self, k: str, value: Any) -> None:
        self.state[k] = value

    def delete(self, k: str) -> None:
        self.state.pop(k, None)

    def tx_hash(self) -> str:
        return hashlib.sha256(f"tx{self.txs}".encode()).hexdigest()

    def act(self, signer: KeyPair, action: str, **args: Any) -> Outcome:
        """Run on a copy and keep it only on success, as the executor's overlay does."""
        ctx = Context(signer.public_hex, self.height, self.time_ms, self.tx_hash())
        self.txs += 1
        self.height += 1
        before = dict(self.state)
        try:
            out = execute(self, ctx, action, args, self.rules)
        except BaseException:
            self.state = before
            raise
        self._reindex(before, out.touched, action, ctx)
        return out

    def _reindex(self, before: dict[str, Any], touched: Any, action: str, ctx: Context) -> None:
        def old(kind: str, ident: str) -> Any:
            return before.get(f"aid/{kind}/{ident}")

        def new(kind: str, ident: str) -> Any:
            return self.state.get(f"aid/{kind}/{ident}")

        deletes, puts = index_delta(list(touched), old, new)
        for k in deletes:
            del self.index[k]
        for k in puts:
            self.index[k] = None
        for ref in touched:
            kind, ident = ref.split("/", 1)
            self.index[history_key(kind, ident, ctx.height, 0)] = {
                "tx": ctx.tx_hash,
                "action": action,
            }

    def scan(self, prefix: str, after: str | None, limit: int) -> list[tuple[str, Any]]:
        keys = sorted(
            k for k in self.index if k.startswith(prefix) and (after is None or k > after)
        )
        return [(k, self.index[k]) for k in keys[:limit]]

    def last_id(self, kind: str, n: int = 0) -> str:
        prev = hashlib.sha256(f"tx{self.txs - 1}".encode()).hexdigest()
        return Context("", 0, 0, prev).new_id(kind, n)

    def grant(self, account: KeyPair, role: str, area: str, org: str) -> str:
        """Grant a role through governance (fin, office and audit admins approve); the proposal."""
        self.act(
            ADMINS["fin"],
            "role.propose",
            account=account.public_hex,
            role=role,
            area=area,
            org=org,
            change="grant",
            as_admin_of="fin",
        )
        proposal = self.last_id("proposal")
        self.act(ADMINS["office"], "role.approve", proposal=proposal, as_admin_of="office")
        self.act(ADMINS["audit"], "role.approve", proposal=proposal, as_admin_of="audit")
        return proposal


REG_KEY = bytes(range(32))


def valid_id(first17: str) -> str:
    return first17 + gb11643_check_digit(first17)


IDS = [valid_id(f"53010219800101{n:03d}") for n in (101, 102, 103)]
MAKER, VILLAGE_REVIEWER, TOWNSHIP_REVIEWER, APPROVER = (
    key(n) for n in ("maker", "vrev", "trev", "appr")
)
CIVIL, AUDITOR, FAR_REGISTRAR = key("civil"), key("auditor"), key("far")


def ids(*numbers: str) -> list[str]:
    return [person_commitment(REG_KEY, n) for n in numbers]


def registry_chain() -> MemoryChain:
    c = MemoryChain(notice_period_s=7 * 86_400)
    c.grant(MAKER, "village_registrar", VILLAGE, "village")
    c.grant(VILLAGE_REVIEWER, "village_registrar", TOWNSHIP, "village")
    c.grant(TOWNSHIP_REVIEWER, "reviewer", TOWNSHIP, "office")
    c.grant(APPROVER, "approver", COUNTY, "office")
    c.grant(CIVIL, "reviewer", COUNTY, "civil")
    c.grant(AUDITOR, "auditor", COUNTY, "audit")
    return c


def sealed_to(*orgs: str, data_bytes: int = 64) -> dict[str, Any]:
    """An envelope of the shape the ledger checks (aid/sealed.py) that opens for nobody."""
    wrapped = base64.b64encode(bytes(80)).decode()
    return {
        "data": base64.b64encode(bytes(data_bytes)).decode(),
        "keys": dict.fromkeys(orgs, wrapped),
    }


def apply(chain: MemoryChain, members: list[str], **over: Any) -> str:
    signer = over.pop("signer", MAKER)
    args: dict[str, Any] = {
        "village": VILLAGE,
        "members": members,
        "size": len(members),
        "cause": "illness",
        "income_per_head_yuan": 3200,
        "sealed": sealed_to("office"),
        **over,
    }
    chain.act(signer, "household.apply", **args)
    return chain.last_id("household")


def register(chain: MemoryChain, members: list[str], **over: Any) -> str:
    hh = apply(chain, members, **over)
    chain.act(VILLAGE_REVIEWER, "household.review", household=hh, stage="village")
    chain.time_ms += 7 * 86_400_000
    chain.act(TOWNSHIP_REVIEWER, "household.review", household=hh, stage="township")
    chain.act(APPROVER, "household.review", household=hh, stage="county")
    return hh
