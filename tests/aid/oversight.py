"""Builders for oversight tests: every oversight role granted, a registered household, a sweep."""

from __future__ import annotations

from typing import Any

from aid.context import Context
from aid.indexes import history_key
from aid.ledger import end_block
from aid.state import Records
from tests.aid.helpers import COUNTY, OTHER_COUNTY, VILLAGE, MemoryChain, ids, key, register
from tests.aid.money import FIN_APPROVER, HANDLER, REVIEWER, money_chain

DISPATCHER, CADRE, VILLAGE_CADRE, GRID = (key(n) for n in ("disp", "cadre", "vcadre", "grid"))
CIVIL_REVIEWER, OFFICE_APPROVER, AUDITOR2 = key("civrev"), key("offappr"), key("auditor2")
FAR_CADRE = key("farcadre")
HASH = "ab" * 32
DAY_MS = 86_400_000
MONITOR = "dd" * 32  # the monitoring rules contract (a FakeRules stands in for the VM)
YEAR = 2026

__all__ = [
    "CADRE",
    "CIVIL_REVIEWER",
    "COUNTY",
    "DISPATCHER",
    "FIN_APPROVER",
    "GRID",
    "HANDLER",
    "HASH",
    "OFFICE_APPROVER",
    "REVIEWER",
    "VILLAGE",
]


def oversight_chain() -> MemoryChain:
    c = money_chain()
    c.grant(DISPATCHER, "dispatcher", COUNTY, "office")
    c.grant(CADRE, "cadre", COUNTY, "office")
    c.grant(VILLAGE_CADRE, "cadre", VILLAGE, "village")
    c.grant(GRID, "grid_worker", COUNTY, "village")
    c.grant(CIVIL_REVIEWER, "reviewer", COUNTY, "civil")
    c.grant(OFFICE_APPROVER, "approver", COUNTY, "office")
    c.grant(AUDITOR2, "auditor", COUNTY, "audit")
    c.grant(FAR_CADRE, "cadre", OTHER_COUNTY, "office2")
    return c


def household(chain: MemoryChain, n: int = 0, **over: Any) -> str:
    from tests.aid.helpers import valid_id

    return register(chain, ids(valid_id(f"53010219700101{300 + n:03d}")), **over)


def with_monitoring(chain: MemoryChain, line: int = 8800) -> None:
    """Monitoring rules for the county: proposed by the office, confirmed by finance."""
    chain.act(OFFICE_APPROVER, "monitoring.rules", area=COUNTY, step="propose", contract=MONITOR)
    chain.act(FIN_APPROVER, "monitoring.rules", area=COUNTY, step="confirm")
    chain.rules.line = lambda args: line
    chain.rules.evaluate = lambda args: None


def sweep(chain: MemoryChain) -> Any:
    """The end-of-block sweep at the chain's current time, kept and indexed as the node does."""
    before = dict(chain.state)
    out = end_block(chain, chain.height, chain.time_ms)
    chain._reindex(before, out.touched, "end_block", Context("", chain.height, chain.time_ms, ""))
    chain.height += 1
    return out


def record(chain: MemoryChain, kind: str, ident: str) -> dict[str, Any]:
    return Records(chain).need(kind, ident)


def history_actions(chain: MemoryChain, kind: str, ident: str) -> list[str]:
    prefix = history_key(kind, ident, 0, 0).rsplit("/", 2)[0] + "/"
    return [v["action"] for k, v in sorted(chain.index.items()) if k.startswith(prefix)]
