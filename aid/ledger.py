"""The ledger's one entry point: execute a named action against a state overlay.

The executor calls ``execute`` for every ``aid`` transaction with a per-transaction overlay; a
``LedgerError`` means the action was refused and the executor drops the overlay, so a refused
action changes nothing. Anything else raised here is a bug in the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aid import cycles, funds, governance, payments, programs, registry
from aid.args import Args
from aid.context import Action, Context
from aid.errors import UnknownAction
from aid.indexes import INDEXED_KINDS
from aid.rules import RulesEngine
from aid.state import Records, StateAccess

Handler = Callable[[Action], None]

# action name -> handler; the names are the public API (docs/ledger.md lists each one)
ACTIONS: dict[str, Handler] = {
    "role.propose": governance.role_propose,
    "role.approve": governance.role_approve,
    "household.apply": registry.household_apply,
    "household.review": registry.household_review,
    "household.reject": registry.household_reject,
    "household.lift": registry.household_lift,
    "household.remove": registry.household_remove,
    "household.label": registry.household_label,
    "household.view": registry.household_view,
    "household.change": registry.household_change,
    "household.change_review": registry.household_change_review,
    "fund.receive": funds.fund_receive,
    "allocation.issue": funds.allocation_issue,
    "allocation.receive": funds.allocation_receive,
    "allocation.return": funds.allocation_return,
    "program.create": programs.program_create,
    "program.status": programs.program_status,
    "cycle.create": cycles.cycle_create,
    "cycle.add": cycles.cycle_add,
    "cycle.remove": cycles.cycle_remove,
    "cycle.submit": cycles.cycle_submit,
    "cycle.approve": cycles.cycle_approve,
    "cycle.cancel": cycles.cycle_cancel,
    "batch.create": payments.batch_create,
    "payment.report": payments.payment_report,
    "payment.reissue": payments.payment_reissue,
    "delivery.confirm": payments.delivery_confirm,
    # ledger-rest (wave 3): organisation key rotation, governed like role grants
    "org.rotate_key": governance.org_rotate_key,
}
MAX_ACTION_CHARS = 64
ENTITY_KINDS = frozenset({*INDEXED_KINDS, "grants"})  # kinds whose history is kept


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an accepted action did: events for the receipt, entities for their histories."""

    events: tuple[dict[str, Any], ...]
    touched: tuple[str, ...]


def execute(
    state: StateAccess, ctx: Context, action: str, args: Any, rules: RulesEngine
) -> Outcome:
    """Run ``action``; raises a LedgerError (nothing to keep) or returns its outcome."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise UnknownAction(f"unknown ledger action {action!r:.{MAX_ACTION_CHARS}}")
    act = Action(action, Args(action, args), Records(state), ctx, rules)
    handler(act)
    # every entity the action wrote is touched, whether or not the handler said so
    written = [ref for ref in act.records.written if ref.split("/", 1)[0] in ENTITY_KINDS]
    return Outcome(tuple(act.events), tuple(dict.fromkeys([*act.touched, *written])))
