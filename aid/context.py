"""What one ledger action runs with: its records, who signed, the block's height and time.

``Action`` is handed to every handler. It is built per transaction by ``aid.ledger.execute`` and
collects the events and the entities the action touched, which become the receipt (and, on the
node's read side, each entity's history).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from aid.args import Args
from aid.rules import RulesEngine
from aid.state import Records

ID_HEX_CHARS = 20  # 80 bits: ids are unique per chain, not secret


@dataclass(frozen=True, slots=True)
class Context:
    """The transaction around an action; ``time_ms`` is the block's time, the only clock."""

    signer: str
    height: int
    time_ms: int
    tx_hash: str

    def new_id(self, kind: str, n: int = 0) -> str:
        """A deterministic id for the n-th ``kind`` entity this transaction creates.

        Derived from the transaction hash, so a client knows the id as soon as it has signed
        (it can pipeline a follow-up action without waiting for the receipt).
        """
        digest = hashlib.sha256(f"{self.tx_hash}:{kind}:{n}".encode()).hexdigest()
        return digest[:ID_HEX_CHARS]


@dataclass(slots=True)
class Action:
    """One action being executed: arguments, records, context, and what it produced."""

    name: str
    args: Args
    records: Records
    ctx: Context
    rules: RulesEngine
    events: list[dict[str, Any]] = field(default_factory=list)
    touched: list[str] = field(default_factory=list)  # "kind/id", in the order first touched

    def emit(self, event: str, **fields: Any) -> None:
        self.events.append({"name": event, **fields})

    def touch(self, kind: str, ident: str) -> None:
        ref = f"{kind}/{ident}"
        if ref not in self.touched:
            self.touched.append(ref)
