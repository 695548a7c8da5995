"""The node surface the RPC layer calls; the daemon implements it.

The dispatcher validates and normalises every parameter before calling these methods (hex is
lowercase, integers are real ints within range, optional values are filled in), so an
implementation only deals with clean values. Failures are raised as
``chain.errors.AidchainError`` subclasses, which the RPC layer maps to stable error codes.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, Protocol


class ExportStream(Protocol):
    """A streamed audit export: CSV chunks, the height it covers, and its snapshot to release."""

    height: int

    def chunks(self) -> AsyncGenerator[bytes, None]: ...

    def close(self) -> None: ...


class NodeAPI(Protocol):
    async def tx_send(self, tx: Any) -> str:
        """Admit a signed transaction to the mempool; return its hash (same hash on resubmit)."""
        ...

    async def tx_get(self, hash: str) -> dict[str, Any] | None:
        """A transaction's status and receipt, or None if unknown."""
        ...

    async def tx_proof(self, hash: str) -> dict[str, Any]:
        """A committed transaction's proof document (docs/proofs.md); raises UnknownTx, or
        NotYetProvable while it is pending or its receipt's anchoring block is not committed."""
        ...

    async def block_get(self, height: int | str) -> dict[str, Any] | None:
        """The block at ``height`` (an int >= 0, or "latest"), or None if there is none yet."""
        ...

    async def account_get(self, address: str) -> dict[str, Any]:
        """``{"address", "balance", "nonce"}``; an unknown account has balance 0, nonce 0."""
        ...

    async def node_status(self) -> dict[str, Any]:
        """This node's view of the chain and its peers."""
        ...

    async def contract_call(
        self,
        contract: str,
        method: str,
        args: dict[str, Any],
        gas: int | None,
        sender: str | None,
    ) -> dict[str, Any]:
        """Run a contract method read-only against the latest state (nothing is committed)."""
        ...

    async def contract_get(self, address: str) -> dict[str, Any] | None:
        """A deployed contract's metadata, or None if there is no contract at ``address``."""
        ...

    # --- the disbursement ledger (docs/ledger.md "JSON-RPC"); refusals are -32020 ----------------
    async def aid_get(self, kind: str, id: str) -> dict[str, Any] | None:
        """One ledger entity ``{"kind", "id", ...record}``, or None."""
        ...

    async def aid_list(
        self, kind: str, filters: dict[str, str], cursor: str | None, limit: int | None
    ) -> dict[str, Any]:
        """A page of entities by an index's filters: ``{"items", "next_cursor"}``."""
        ...

    async def aid_history(
        self, kind: str, id: str, cursor: str | None, limit: int | None
    ) -> dict[str, Any]:
        """Every transaction that changed an entity, oldest first, paged."""
        ...

    async def aid_trace(self, kind: str, id: str) -> dict[str, Any]:
        """The chain of custody around an entity, each step with its transactions."""
        ...

    async def aid_check(self, tx: Any) -> dict[str, Any]:
        """Simulate a signed aid tx on the latest state; nothing is admitted or kept."""
        ...

    async def aid_policy(self) -> dict[str, Any]:
        """The ledger's policy, organisations and area count."""
        ...

    async def aid_areas(self, under: str | None) -> dict[str, Any]:
        """The areas directly below ``under`` in the genesis area tree (its top ones for None)."""
        ...

    async def aid_assess(
        self,
        area: str,
        period: str | None,
        report: str,
        cursor: str | None,
        limit: int | None,
    ) -> dict[str, Any]:
        """Assessment of an area for a period, or a page of its overdue visits (aid/assessment.py)."""

    # --- public reads, no account, no personal data (docs/oversight.md) ------------------------
    async def public_disclosure(self, village: str, period: str) -> dict[str, Any]:
        """The published masked list of a village and period: ``{"data", "content_hash", "height"}``."""
        ...

    async def public_funds(self, area: str, year: int) -> dict[str, Any]:
        """Funds, allocations and programs of an area and year, with hash and height."""
        ...

    async def public_programs(self, area: str) -> dict[str, Any]:
        """An area's programs: budgets, committed, paid, targets, with hash and height."""
        ...

    async def public_events(self, area: str, cursor: str | None) -> dict[str, Any]:
        """Major events of an area, newest first, paged, with hash and height."""
        ...

    async def audit_export(self, scope: dict[str, str]) -> ExportStream:
        """Start streaming the AU-3 audit export of ``scope`` (area, from, to, program, org)."""

    # --- statistics and reports (docs/oversight.md "Statistics and reports") -------------------
    async def aid_stats(self, area: str, period: str | None) -> dict[str, Any]:
        """Every counter of an area in a period, with the height it reflects."""
        ...

    async def aid_report(self, kind: str, area: str, period: str | None) -> dict[str, Any]:
        """One report (overview, funds, ..., alerts) of an area in a period, at a stated height."""
        ...
