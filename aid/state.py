"""The ledger's records in the world state: one key layout, one place that reads and writes it.

Every record is a JSON object stored at ``aid/<kind>/<id>``; unique indexes (a member's ID
commitment, an entitlement's (program, period, household)) are records of their own kinds, so a
uniqueness check is one read. Records are plain dicts because they are canonical JSON in the
state root; their shapes are documented per kind in docs/ledger.md.
"""

from __future__ import annotations

from typing import Any, Protocol

from aid.errors import UnknownEntity

PREFIX = "aid/"

# Every kind of record, named once. A key outside this list is a bug, not a new kind.
KINDS = frozenset(
    {
        "area",  # area code -> {"name"}
        "org",  # organisation id -> organisation
        "grants",  # account -> {"grants": [[role, area, org], ...]} sorted
        "proposal",  # governance proposal id -> proposal
        "policy",  # "current" -> policy parameters (from genesis)
        "household",  # household id -> household (aid/registry.py)
        "idc",  # member ID commitment -> {"household"}: one person, one active household
        "acctc",  # bank account commitment -> {"household"}
        "change",  # change request id -> change of a registered household
        "fdoc",  # sha256(source document no.) -> {"fund"}: a document is received once
        "fund",  # fund id -> fund (aid/funds.py)
        "allocation",  # allocation id -> allocation
        "program",  # program id -> program (aid/programs.py)
        "cycle",  # cycle id -> payment cycle (aid/cycles.py)
        "entitlement",  # sha(program:period:household)[:20] -> entitlement: at most one, ever
        "cent",  # "<cycle>/<seq>" -> {"entitlement"}: a cycle's entitlements in order
        "hpc",  # "<household>/<period>/<category>" -> {"programs"}: cross-program check
        "batch",  # bank batch id -> batch (aid/payments.py)
        # oversight (issue 11): assistance records, monitoring, grievances, deadlines
        "pairing",  # pairing id -> cadre <-> household (aid/assistance.py)
        "hpair",  # household -> {"pairing"}: at most one active pairing per household
        "visit",  # visit id -> one visit record, append-only (aid/assistance.py)
        "monrules",  # area -> {"active", "proposed", ...}: its monitoring rules contract
        "indicator",  # indicator id -> one indicator report (aid/monitoring.py)
        "hind",  # household -> latest value of each indicator
        "alert",  # alert id -> return-to-poverty alert (aid/monitoring.py)
        "halert",  # household -> {"alert"}: at most one open alert per household
        "attest",  # household -> exit criteria attested by the agencies (aid/exits.py)
        "grievance",  # grievance id -> grievance (aid/grievances.py)
        "dueq",  # "cursor" / deadline bucket -> due items (aid/deadlines.py)
        # public disclosure and audit (aid/disclosure.py, aid/audit.py)
        "disclosure",  # disclosure id -> masked list of a village and period (公示)
        "export",  # audit export file hash -> {scope, height, rows}
        "sample",  # auditor's sample id -> {cycle, n, population hash, seed height}
        "scheck",  # "<sample>/<entitlement>" -> one receipt check of a sampled payment
    }
)


class StateAccess(Protocol):
    """What the ledger needs of the executor's overlay (``node.executor.TxState`` has it)."""

    def get(self, key: str) -> Any | None: ...

    def set(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON value (records hold only dicts, lists and immutable scalars).

    Several times faster than ``copy.deepcopy``, which every ledger read would otherwise pay.
    """
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    return value


def record_key(kind: str, ident: str) -> str:
    assert kind in KINDS, f"unknown record kind {kind!r}"
    return f"{PREFIX}{kind}/{ident}"


class Records:
    """Typed-by-kind access to the ledger's records over a state overlay.

    ``get`` returns a private copy, so a handler that edits a record it read and then refuses
    the action can never leave a half-edited record behind in the overlay.
    """

    __slots__ = ("_state", "written")

    def __init__(self, state: StateAccess) -> None:
        self._state = state
        self.written: dict[str, None] = {}  # "kind/id" of every record put or deleted, in order

    def get(self, kind: str, ident: str) -> dict[str, Any] | None:
        value = self.peek(kind, ident)
        return None if value is None else json_copy(value)

    def peek(self, kind: str, ident: str) -> dict[str, Any] | None:
        """The record itself, not a copy: READ-ONLY, for checks that never edit what they read.

        The executor shares one decoded value per key across a block's actions, so a caller
        that mutated a peeked record would change what every later action reads. Used for the
        records nearly every action reads (organisations, grants, policy), where the copy was
        a large part of an action's time.
        """
        value = self._state.get(record_key(kind, ident))
        assert value is None or isinstance(value, dict), f"record {kind}/{ident} is not an object"
        return value

    def need(self, kind: str, ident: str, what: str | None = None) -> dict[str, Any]:
        value = self.get(kind, ident)
        if value is None:
            raise _unknown(kind, ident, what)
        return value

    def need_peek(self, kind: str, ident: str, what: str | None = None) -> dict[str, Any]:
        """``need`` without the copy: READ-ONLY, as ``peek``."""
        value = self.peek(kind, ident)
        if value is None:
            raise _unknown(kind, ident, what)
        return value

    def put(self, kind: str, ident: str, record: dict[str, Any]) -> None:
        self._state.set(record_key(kind, ident), record)
        self.written[f"{kind}/{ident}"] = None

    def delete(self, kind: str, ident: str) -> None:
        self._state.delete(record_key(kind, ident))
        self.written[f"{kind}/{ident}"] = None


def _unknown(kind: str, ident: str, what: str | None) -> UnknownEntity:
    return UnknownEntity(f"no {what or kind} {ident!r} on this chain", entity=kind)
