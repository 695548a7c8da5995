"""The ledger's one entry point: execute a named action against a state overlay.

The executor calls ``execute`` for every ``aid`` transaction with a per-transaction overlay; a
``LedgerError`` means the action was refused and the executor drops the overlay, so a refused
action changes nothing. Anything else raised here is a bug in the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aid import (
    assistance,
    audit,
    cycles,
    deadlines,
    disclosure,
    funds,
    governance,
    grievances,
    monitoring,
    payments,
    programs,
    registry,
)
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
    "entitlement.cancel": payments.entitlement_cancel,
    "batch.reconcile": payments.batch_reconcile,
    "cycle.close": payments.cycle_close,
    # oversight (issue 11): assistance records, monitoring, exit criteria, grievances
    "pairing.bind": assistance.pairing_bind,
    "pairing.end": assistance.pairing_end,
    "visit.record": assistance.visit_record,
    "monitoring.rules": monitoring.monitoring_rules,
    "indicator.report": monitoring.indicator_report,
    "alert.assign": monitoring.alert_assign,
    "alert.verify": monitoring.alert_verify,
    "alert.intervene": monitoring.alert_intervene,
    "alert.resolve": monitoring.alert_resolve,
    "alert.dismiss": monitoring.alert_dismiss,
    "exit.attest": monitoring.exit_attest,
    "grievance.file": grievances.grievance_file,
    "grievance.assign": grievances.grievance_assign,
    "grievance.progress": grievances.grievance_progress,
    "grievance.resolve": grievances.grievance_resolve,
    "grievance.close": grievances.grievance_close,
    # public disclosure and audit (docs/oversight.md)
    "disclosure.draft": disclosure.disclosure_draft,
    "disclosure.publish": disclosure.disclosure_publish,
    "disclosure.object": disclosure.disclosure_object,
    "disclosure.close": disclosure.disclosure_close,
    "audit.record_export": audit.audit_record_export,
    "audit.sample": audit.audit_sample,
    "sample.verify": audit.sample_verify,
    # ledger-rest (wave 3): organisation key rotation, governed like role grants
    "org.rotate_key": governance.org_rotate_key,
}
# kind -> what the end-of-block deadline sweep does with a due item of that kind
ESCALATIONS: dict[str, Callable[[Action, str, int], None]] = {
    "alert": monitoring.escalate_alert,
    "grievance": grievances.escalate_grievance,
}
END_BLOCK_ACTION = "end_block"
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
    records = Records(state)
    act = Action(action, Args(action, args, records), records, ctx, rules)
    handler(act)
    # every entity the action wrote is touched, whether or not the handler said so
    written = [ref for ref in act.records.written if ref.split("/", 1)[0] in ENTITY_KINDS]
    return Outcome(tuple(act.events), tuple(dict.fromkeys([*act.touched, *written])))


def end_block(state: StateAccess, height: int, time_ms: int) -> Outcome:
    """The deadline sweep after a block's transactions (aid/deadlines.py), on block time.

    Not a transaction: nobody signs it and it cannot be refused; a LedgerError here is a bug.
    Its events and touched entities are reported like an action's (the executor records them
    in the entities' histories under ``END_BLOCK_ACTION``).
    """
    ctx = Context(signer="", height=height, time_ms=time_ms, tx_hash="")
    records = Records(state)
    act = Action(END_BLOCK_ACTION, Args(END_BLOCK_ACTION, {}, records), records, ctx, _NO_RULES)

    def escalate(kind: str, ident: str, deadline_ms: int) -> None:
        ESCALATIONS[kind](act, ident, deadline_ms)

    deadlines.sweep(act.records, time_ms, escalate)
    written = [ref for ref in act.records.written if ref.split("/", 1)[0] in ENTITY_KINDS]
    return Outcome(tuple(act.events), tuple(dict.fromkeys([*act.touched, *written])))


class _NoRules:
    """The sweep runs no rules contract."""

    def call(self, program_id: str, contract: str, hook: str, args: dict[str, Any]) -> Any:
        raise AssertionError("the end-of-block sweep calls no rules contract")

    def defines(self, contract: str, hook: str) -> bool:
        raise AssertionError("the end-of-block sweep calls no rules contract")


_NO_RULES = _NoRules()
