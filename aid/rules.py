"""Program rules: the three questions a program's rules contract answers, at fixed hooks.

- ``eligible(household, program, period)``: ``True``, or ``False`` / a string saying why not;
- ``entitlement(household, program, period)``: an integer — fen for cash programs, a quantity
  of the program's item for in-kind ones;
- ``stages(program, total, count)``: the approval stages this cycle needs, a list of
  ``{"role": ..., "quorum": n}`` with an optional ``"org_kind"``;
- optionally ``assess(household, program, period)``: both of the first two answers at once --
  the entitlement if the household is eligible, else ``False`` or a string saying why not. A
  contract that defines it is asked once per household added to a cycle instead of twice (half
  the VM work of ``cycle.add``); one that does not is asked ``eligible`` and then
  ``entitlement``, exactly as before, so programs already on a chain keep their gas and
  receipts.

The ledger passes only non-personal views (``household_view``, ``program_view``) and enforces
what no rule may break (caps, budget, roles, maker ≠ checker) itself. ``ContractRules`` runs the
hooks in the contract VM, read-only, out of the transaction's declared gas; any failure comes
back as ``RuleFailed`` naming the program, the hook and the contract's own message and location.
"""

from __future__ import annotations

from typing import Any, Protocol

from aid.errors import RuleFailed
from aid.roles import ORG_KINDS, ROLE_ORG_KINDS
from aid.state import StateAccess

HOOKS = ("eligible", "entitlement", "stages", "assess")
MAX_STAGES = 8
MAX_STAGE_QUORUM = 16


class RulesEngine(Protocol):
    def call(self, program_id: str, contract: str, hook: str, args: dict[str, Any]) -> Any:
        """Run ``hook`` of ``contract``; raise RuleFailed if it fails or refuses."""
        ...

    def defines(self, contract: str, hook: str) -> bool:
        """Whether ``contract`` answers the optional ``hook`` (costs no gas)."""
        ...


def household_view(ident: str, household: dict[str, Any]) -> dict[str, Any]:
    """What a rules contract may see of a household: nothing personal."""
    return {
        "id": ident,
        "village": household["village"],
        "status": household["status"],
        "size": household["size"],
        "cause": household["cause"],
        "income_per_head_yuan": household["income_per_head_yuan"],
        "labels": list(household["labels"]),
        # set by a verified return-to-poverty alert (aid/monitoring.py), lifted or not
        "monitored": bool(household.get("monitored")),
    }


def program_view(ident: str, program: dict[str, Any]) -> dict[str, Any]:
    return {
        key: program[key]
        for key in (
            "area",
            "purpose",
            "category",
            "per_household_cap",
            "start_period",
            "end_period",
        )
    } | {"id": ident}


def check_stages(program_id: str, stages: Any) -> list[dict[str, Any]]:
    """Validate the ``stages`` hook's answer: the ledger will enforce exactly these."""

    def bad(why: str) -> RuleFailed:
        return RuleFailed(f"program {program_id}: rule stages returned {why}", rule="stages")

    if not isinstance(stages, list) or not 0 < len(stages) <= MAX_STAGES:
        raise bad(f"not a list of 1..{MAX_STAGES} stages")
    out = []
    for i, stage in enumerate(stages):
        if not isinstance(stage, dict) or not {"role", "quorum"} <= set(stage) <= {
            "role",
            "quorum",
            "org_kind",
        }:
            raise bad(f'stage {i} that is not {{"role", "quorum", optional "org_kind"}}')
        role, quorum, kind = stage["role"], stage["quorum"], stage.get("org_kind")
        if role not in ROLE_ORG_KINDS:
            raise bad(f"stage {i} with unknown role {role!r}")
        if type(quorum) is not int or not 1 <= quorum <= MAX_STAGE_QUORUM:
            raise bad(f"stage {i} with quorum {quorum!r} (1..{MAX_STAGE_QUORUM})")
        if kind is not None and (kind not in ORG_KINDS or kind not in ROLE_ORG_KINDS[role]):
            raise bad(f"stage {i} with org_kind {kind!r} that cannot hold {role}")
        out.append({"role": role, "quorum": quorum, "org_kind": kind})
    return out


class ContractRules:
    """Runs rules hooks in the contract VM over the transaction's overlay, read-only."""

    def __init__(self, state: StateAccess, gas: int, height: int, time_ms: int) -> None:
        self._state = state
        self._gas_left = gas
        self._height = height
        self._time_ms = time_ms
        self._memo: Any = None  # a contracts.runtime.QueryMemo once a rule has run
        self._defined: dict[tuple[str, str], bool] = {}  # deployed code never changes
        self.gas_used = 0

    def defines(self, contract: str, hook: str) -> bool:
        from contracts import runtime  # the VM loads only when a rule runs

        known = self._defined.get((contract, hook))
        if known is None:
            known = self._defined[(contract, hook)] = runtime.defines(self._state, contract, hook)
        return known

    def call(self, program_id: str, contract: str, hook: str, args: dict[str, Any]) -> Any:
        from contracts import runtime  # the VM loads only when a rule runs

        if self._gas_left <= 0:
            raise RuleFailed(
                f"program {program_id}: rule {hook}: the transaction's gas is used up",
                rule=hook,
            )
        ctx = runtime.CallContext(height=self._height, time=self._time_ms, tx_hash="")
        if self._memo is None:
            self._memo = runtime.QueryMemo()
        result = runtime.query(
            self._state,
            contract=contract,
            method=hook,
            args=args,
            gas=self._gas_left,
            ctx=ctx,
            memo=self._memo,
        )
        self._gas_left -= result.gas_used
        self.gas_used += result.gas_used
        if not result.ok:
            error = result.error or {"type": "error", "message": "failed"}
            where = result.location
            at = (
                f" (line {where['line']}, column {where['col']}, in {where['function']})"
                if where
                else ""
            )
            raise RuleFailed(
                f"program {program_id}: rule {hook} failed: {error['type']}: {error['message']}{at}",
                rule=hook,
                program=program_id,
                contract_error=error,
                location=where,
            )
        return result.result
