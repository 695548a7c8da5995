"""Why the ledger refuses an action, in words a clerk can act on.

Every refusal is a ``LedgerError`` subclass with a stable ``reason`` (part of the public API: the
JSON-RPC ``error.data.reason`` and a failed receipt's ``error_type``) and a message naming the
entity, the rule and what would make the action acceptable. A refused action changes nothing:
the executor runs each ledger action on its own overlay and drops it on any of these.
"""

from __future__ import annotations

from chain.errors import AidchainError


class LedgerError(AidchainError):
    """Base of every refusal of a ledger action."""

    reason = "ledger_refused"


class BadArgs(LedgerError):
    """The action's arguments are missing, of the wrong type or out of range."""

    reason = "bad_args"


class UnknownAction(LedgerError):
    reason = "unknown_action"


class UnknownArea(LedgerError):
    reason = "unknown_area"


class UnknownEntity(LedgerError):
    """The action names a household, fund, program, … that the ledger does not hold."""

    reason = "unknown_entity"


class AlreadyExists(LedgerError):
    reason = "already_exists"


class WrongRole(LedgerError):
    """The signer holds no grant of the role the action needs."""

    reason = "wrong_role"


class WrongArea(LedgerError):
    """The signer holds the role, but not for an area containing the entity's area."""

    reason = "wrong_area"


class WrongState(LedgerError):
    """The entity's lifecycle does not allow this action now (e.g. approving a closed cycle)."""

    reason = "wrong_state"


class NotAllowed(LedgerError):
    """A governance rule forbids it (e.g. a role that organisation kind may not hold)."""

    reason = "not_allowed"


class Duplicate(LedgerError):
    """A fraud/duplicate check caught it; ``data`` names the check and the clashing entity."""

    reason = "duplicate"


class NoticeNotOver(LedgerError):
    """A public notice (公示) is still running, or holds an open objection."""

    reason = "notice_not_over"


class OverBudget(LedgerError):
    """More money than the fund, allocation or program has left."""

    reason = "over_budget"


class AlreadyPaid(LedgerError):
    """An entitlement for this (program, period, household) exists, or was already paid."""

    reason = "already_paid"


class SnapshotFrozen(LedgerError):
    """The cycle's beneficiaries and accounts were frozen when its approval started."""

    reason = "snapshot_frozen"


class DeadlinePassed(LedgerError):
    reason = "deadline_passed"


class RuleFailed(LedgerError):
    """A program's rules contract failed or refused; names the program, the rule and why."""

    reason = "rule_failed"


class BankMismatch(LedgerError):
    """A bank batch or report does not add up to what the ledger issued."""

    reason = "bank_mismatch"
