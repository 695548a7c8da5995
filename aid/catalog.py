"""What each ledger action does, who may send it and the arguments it takes, for people.

``aidchain aid <action> --help`` prints an action's entry. docs/ledger.md ("Actions") and
docs/oversight.md are the full reference (errors, state machines); tests/aid/test_catalog.py
checks every entry's arguments against what the action's handler reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from aid.assistance import MEASURES
from aid.audit import SAMPLE_RESULTS
from aid.exits import CRITERIA
from aid.funds import FUND_LEVELS, PURPOSES
from aid.grievances import CATEGORIES as GRIEVANCE_CATEGORIES
from aid.grievances import OUTCOMES, SENSITIVE
from aid.monitoring import FLAG_INDICATORS, INDICATORS
from aid.payments import FAILURE_CODES
from aid.programs import CATEGORIES as PROGRAM_CATEGORIES
from aid.programs import MOVES as PROGRAM_MOVES
from aid.registry import CAUSES, LABELS
from aid.roles import ROLES


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of an action, as a clerk sends it (``--arg NAME=VALUE``)."""

    name: str
    what: str  # its type, allowed values and limits, in a few words
    required: bool = True


@dataclass(frozen=True, slots=True)
class ActionDoc:
    summary: str  # one line starting with a verb, lower case, no final full stop
    who: str  # who may send it (role, over which area, maker/checker rules)
    args: tuple[Arg, ...]
    effect: str  # the state it leaves, briefly
    reference: str  # the document with the full reference: "docs/ledger.md" or "docs/oversight.md"


LEDGER = "docs/ledger.md"
OVERSIGHT = "docs/oversight.md"

# wordings several entries share
_REASON = "why: text of at most 256 characters"
_AMOUNT = "fen: a positive integer below 2^53"
_AREA = "a 12-digit area code of the chain's area tree (genesis aid.areas)"
_SHA256 = "the 64-hex SHA-256 of the off-chain"
_SEALED = 'a sealed {"data", "keys"} envelope'


def _one_of(options: tuple[str, ...]) -> str:
    """``a, b or c``: the allowed values, from the constants the handlers check against."""
    return f"{', '.join(options[:-1])} or {options[-1]}" if len(options) > 1 else options[0]


_CAUSES = _one_of(CAUSES)
_PURPOSES = _one_of(PURPOSES)
_MEASURES = _one_of(MEASURES)
_ALERT_CHECKERS = (
    "a reviewer (poverty_office or civil_affairs) or a poverty_office approver over the "
    "alert's area; never the alert's owner"
)


def _household(what: str = "the household's id (20 hex)") -> Arg:
    return Arg("household", what)


CATALOG: dict[str, ActionDoc] = {
    # --- governance -------------------------------------------------------------------------
    "role.propose": ActionDoc(
        "propose granting or revoking one role for an account in an area",
        "an admin of the organisation named by as_admin_of; the role must suit org's kind and "
        "the area lie inside org's area",
        (
            Arg("account", "the account the role is for: 64 lowercase hex"),
            Arg(
                "role",
                _one_of(ROLES),
            ),
            Arg("area", f"{_AREA}: the grant covers it and every area below"),
            Arg("org", "the organisation id the role is held for"),
            Arg("change", "grant or revoke"),
            Arg("as_admin_of", "the organisation id the signer is an admin of"),
        ),
        "an open proposal, approved by the proposer's organisation; applied once "
        "governance_quorum distinct organisations approved; expires after proposal_ttl_s",
        LEDGER,
    ),
    "role.approve": ActionDoc(
        "approve an open governance proposal (a role change or a key rotation)",
        "an admin of an organisation that has not yet approved it, before the proposal expires",
        (
            Arg("proposal", "the proposal's id (20 hex)"),
            Arg("as_admin_of", "the organisation id the signer approves for (its admin)"),
        ),
        "the approval is added; at governance_quorum organisations the change applies (the "
        "grant changes, or the new encryption key becomes current)",
        LEDGER,
    ),
    # --- the household registry -------------------------------------------------------------
    "household.apply": ActionDoc(
        "apply to register a poor household",
        "a village_registrar or registrar over the village",
        (
            Arg("village", f"the household's village, a village-level code: {_AREA}"),
            Arg("members", "1 to 32 distinct 64-hex HMAC ID commitments, never ID numbers"),
            Arg("account_commitment", "the bank account's 64-hex HMAC commitment", False),
            Arg("size", "persons in the household: integer 1 to 32"),
            Arg("cause", _CAUSES),
            Arg("income_per_head_yuan", "income per head in yuan: integer 0 to 10,000,000"),
            Arg(
                "sealed",
                f"the personal data: {_SEALED} (aidchain aid household apply builds it, and "
                "members and account_commitment, on the clerk's machine)",
            ),
        ),
        "a household in status applied; refused (duplicate) if a member or the bank account "
        "is already in another active household",
        LEDGER,
    ),
    "household.review": ActionDoc(
        "review a household's application at the village, township or county stage",
        "village: a village_registrar; township: a reviewer; county: an approver; over the "
        "household's village, never the applicant",
        (
            _household(),
            Arg("stage", "village, township or county, in that order"),
        ),
        "village: notice (the public notice starts); township, once the notice is over with no "
        "open objection: township_reviewed; county: registered",
        LEDGER,
    ),
    "household.reject": ActionDoc(
        "reject a household's application at its open stage",
        "the open stage's role over the village (applied: village_registrar; notice: reviewer; "
        "township_reviewed: approver); never the applicant",
        (_household(), Arg("reason", _REASON)),
        "rejected, with the reason",
        LEDGER,
    ),
    "household.lift": ActionDoc(
        "propose or confirm that a household is lifted out of poverty",
        "an approver over the household's village; the confirmation by an approver other than "
        "the proposer",
        (_household(), Arg("step", "propose or confirm")),
        "propose (registered, all five exit criteria attested met): lifting, the "
        "notice starts; confirm, once the notice is over with no open objection: lifted",
        LEDGER,
    ),
    "household.remove": ActionDoc(
        "remove a registered or lifted household from the registry",
        "an approver over the household's village",
        (_household(), Arg("reason", _REASON)),
        "removed, with the reason",
        LEDGER,
    ),
    "household.label": ActionDoc(
        "confirm or clear a civil affairs label on a household",
        "a reviewer of a civil_affairs organisation over the household's village",
        (
            _household(),
            Arg("label", _one_of(LABELS)),
            Arg("present", "true to confirm the label; false or absent clears it", False),
        ),
        "the active household's labels gain or lose the label",
        LEDGER,
    ),
    "household.view": ActionDoc(
        "record an auditor's read of a household's personal data",
        "an auditor over the household's village",
        (_household(), Arg("purpose", "why the data is read: text of at most 256 characters")),
        "a personal_data_viewed event in the household's history (the client then decrypts); "
        "no record changes",
        LEDGER,
    ),
    "household.change": ActionDoc(
        "request a change to a registered household's data",
        "a village_registrar or registrar over the household's current village; the household "
        "registered or lifted",
        (
            _household(),
            Arg(
                "members",
                "the whole new list of 1 to 32 distinct 64-hex HMAC ID commitments (a birth, a "
                "death, a marriage); needs sealed with it",
                False,
            ),
            Arg("account_commitment", "the new bank account's 64-hex HMAC commitment", False),
            Arg("sealed", f"new personal data: {_SEALED}", False),
            Arg("village", f"a move: the new village, {_AREA}", False),
            Arg("size", "new size: integer 1 to 32", False),
            Arg("cause", f"new cause: {_CAUSES}", False),
            Arg("income_per_head_yuan", "new income per head in yuan: 0 to 10,000,000", False),
            Arg("reason", _REASON),
        ),
        "a pending change request naming the counties involved; at least one field must be "
        "given; refused (duplicate) if a new member is in another active household. Approved, "
        "joining members are claimed and leaving ones released to join another household",
        LEDGER,
    ),
    "household.change_review": ActionDoc(
        "approve or reject a pending household change request",
        "an approver of a county the change involves that has not yet approved (a move needs "
        "both counties); never the requester",
        (
            Arg("change", "the change request's id (20 hex)"),
            Arg("decision", "approve or reject"),
            Arg("reason", "why; required to reject", False),
        ),
        "applied to the household once every county approved; a rejection ends it; refused if "
        "the household changed since the request",
        LEDGER,
    ),
    # --- funds and programs -----------------------------------------------------------------
    "fund.receive": ActionDoc(
        "record money received under a source document",
        "an allocator (finance) over the area",
        (
            Arg("doc_no", "the source document's number: text of at most 256 characters"),
            Arg("level", _one_of(FUND_LEVELS)),
            Arg("year", "integer 2000 to 2100"),
            Arg("purpose", _PURPOSES),
            Arg("amount", _AMOUNT),
            Arg("area", f"the receiving area: {_AREA}"),
        ),
        "a fund with nothing drawn; one per document number (already_exists otherwise)",
        LEDGER,
    ),
    "allocation.issue": ActionDoc(
        "allocate money from a fund or an allocation to an area inside its area",
        "an allocator over the source's area; a source allocation must be received",
        (
            Arg("source", "the fund's or allocation's id (20 hex)"),
            Arg("area", f"the receiving area, inside the source's: {_AREA}"),
            Arg("amount", f"{_AMOUNT}, at most what the source has left"),
        ),
        "an issued allocation of the source's purpose; the source's drawn grows by the amount",
        LEDGER,
    ),
    "allocation.receive": ActionDoc(
        "confirm that an issued allocation arrived",
        "an allocator over the allocation's (receiving) area",
        (Arg("allocation", "the allocation's id (20 hex)"),),
        "received: programs of its purpose may draw on it",
        LEDGER,
    ),
    "allocation.return": ActionDoc(
        "give an allocation's undrawn remainder back to its source",
        "an allocator over the allocation's (receiving) area; the allocation issued or received",
        (Arg("allocation", "the allocation's id (20 hex)"), Arg("reason", _REASON)),
        "returned: its amount shrinks to what was drawn and the source gets the rest back",
        LEDGER,
    ),
    "program.create": ActionDoc(
        "create a program drawing its budget from received allocations",
        "a handler over the program's area",
        (
            Arg("name", "the program's name: text of at most 256 characters"),
            Arg("purpose", _PURPOSES),
            Arg("category", _one_of(PROGRAM_CATEGORIES)),
            Arg("item", "what the in-kind aid is; required for in_kind", False),
            Arg(
                "unit_value",
                "fen per unit, a positive integer; in_kind only, required there",
                False,
            ),
            Arg("area", f"the program's area: {_AREA}"),
            Arg("start_period", "the first month: YYYY-MM"),
            Arg("end_period", "the last month: YYYY-MM, not before start_period"),
            Arg("per_household_cap", f"the most one entitlement may be, {_AMOUNT}"),
            Arg("rules", "the rules contract's address: 64 lowercase hex"),
            Arg("funding", "[[allocation id, fen], ...]: 1 to 64 distinct allocations"),
            Arg("targets", '[{"metric", "target" (integer >= 0)}, ...]: up to 16, may be []'),
        ),
        "a draft program whose budget is the funding's total, drawn from received allocations "
        "of its purpose that cover its area",
        LEDGER,
    ),
    "program.status": ActionDoc(
        "activate, suspend, resume or close a program",
        "an approver over the program's area; activation by a finance approver who did not "
        "create the program",
        (
            Arg("program", "the program's id (20 hex)"),
            Arg("move", _one_of(PROGRAM_MOVES)),
            Arg("reason", "why; required to suspend or close", False),
        ),
        "draft -> active <-> suspended -> closed; closing waits until pending is 0 and gives "
        "the uncommitted budget back to the allocations, last drawn first",
        LEDGER,
    ),
    # --- payment cycles ---------------------------------------------------------------------
    "cycle.create": ActionDoc(
        "open a payment cycle of a program for one month",
        "a handler over the program's area; the program active",
        (
            Arg("program", "the program's id (20 hex)"),
            Arg("period", "the month paid for: YYYY-MM, inside the program's window"),
        ),
        "a draft cycle whose maker is the signer",
        LEDGER,
    ),
    "cycle.add": ActionDoc(
        "add households to a draft cycle as entitlements, as the rules contract decides",
        "the handler who opened the cycle (its maker); draft only, the program active",
        (
            Arg("cycle", "the cycle's id (20 hex)"),
            Arg("households", "1 to 500 distinct household ids"),
        ),
        "an entitlement per eligible household (skipped ones reported with the reason); the "
        "program's pending grows; runs the rules contract (the CLI estimates its gas)",
        LEDGER,
    ),
    "cycle.remove": ActionDoc(
        "take households back out of a draft cycle",
        "the cycle's maker; draft only",
        (
            Arg("cycle", "the cycle's id (20 hex)"),
            Arg("households", "1 to 500 distinct household ids, each in the cycle"),
        ),
        "their entitlements are deleted and the program's pending shrinks",
        LEDGER,
    ),
    "cycle.submit": ActionDoc(
        "submit a draft cycle for approval, or restart a stage past its deadline",
        "the cycle's maker; the cycle has entitlements and its program is active",
        (Arg("cycle", "the cycle's id (20 hex)"),),
        "in_approval at stage 1 with a fresh deadline; the snapshot is frozen and the stages "
        "come from the rules contract (the CLI estimates its gas)",
        LEDGER,
    ),
    "cycle.approve": ActionDoc(
        "approve or reject the approval stage a submitted cycle is at",
        "the stage's role (and organisation kind) over the program's area; never the cycle's "
        "maker, never twice in one cycle",
        (
            Arg("cycle", "the cycle's id (20 hex)"),
            Arg("decision", "approve or reject"),
            Arg("reason", "why; required to reject", required=False),
        ),
        "the next stage, or approved after the last; a rejection returns it to draft",
        LEDGER,
    ),
    "cycle.cancel": ActionDoc(
        "cancel a draft cycle",
        "the cycle's maker; draft only",
        (Arg("cycle", "the cycle's id (20 hex)"), Arg("reason", _REASON)),
        "cancelled; its entitlements are deleted and its households are free for another "
        "cycle of the period",
        LEDGER,
    ),
    # --- payments ---------------------------------------------------------------------------
    "batch.create": ActionDoc(
        "send an approved cash cycle's payable entitlements to a bank as one batch",
        "an allocator (finance) over the program's area; the cycle approved or paying",
        (
            Arg("cycle", "the cycle's id (20 hex)"),
            Arg("bank", "the bank organisation's id"),
            Arg("count", "how many payments: integer 1 to 1,000,000"),
            Arg("total", f"the payments' sum, {_AMOUNT}"),
        ),
        "a sent batch of every approved or re-issued entitlement (now batched), the cycle "
        "paying; count and total must match them exactly (else bank_mismatch)",
        LEDGER,
    ),
    "payment.report": ActionDoc(
        "report the bank's outcomes for payments of a batch",
        "a bank_operator of the batch's bank over the program's area",
        (
            Arg("batch", "the batch's id (20 hex)"),
            Arg(
                "results",
                "1 to 500 {entitlement, outcome (paid, failed or returned), amount (the issued "
                f"fen), bank_ref (paid: 1 to 64 chars) or code ({_one_of(FAILURE_CODES)})}}",
            ),
        ),
        "paid, failed or returned entitlements; the batch settled once every payment is "
        "reported; a return reopens a reconciled batch and a closed cycle",
        LEDGER,
    ),
    "payment.reissue": ActionDoc(
        "re-issue a failed or returned payment once the account was corrected",
        "a handler over the program's area; the household still payable, its account changed",
        (Arg("entitlement", "the entitlement's id (20 hex)"),),
        "reissued: the cycle's next batch carries it, to the corrected account",
        LEDGER,
    ),
    "delivery.confirm": ActionDoc(
        "confirm that an in-kind entitlement was delivered",
        "a village_registrar over the household's village; the entitlement approved",
        (Arg("entitlement", "the in-kind entitlement's id (20 hex)"),),
        "delivered; the program's paid grows by its value",
        LEDGER,
    ),
    "entitlement.cancel": ActionDoc(
        "cancel an entitlement that will not be paid",
        "an approver over the program's area, never the cycle's maker; the entitlement "
        "approved, failed, returned or re-issued (not with the bank)",
        (Arg("entitlement", "the entitlement's id (20 hex)"), Arg("reason", _REASON)),
        "cancelled; its amount leaves the program's committed (and goes back to the "
        "allocations if the program is closed)",
        LEDGER,
    ),
    "batch.reconcile": ActionDoc(
        "record that the bank's statement agrees with a settled batch",
        "an allocator (finance) over the program's area; the batch settled",
        (
            Arg("batch", "the batch's id (20 hex)"),
            Arg("statement_hash", "the statement file's SHA-256: 64 lowercase hex"),
            Arg("count", "credits on the statement: integer 0 to 1,000,000"),
            Arg("total", "fen credited on the statement: integer 0 to 2^53-1"),
        ),
        "reconciled when count and total equal the batch's paid payments (else bank_mismatch)",
        LEDGER,
    ),
    "cycle.close": ActionDoc(
        "close a cycle whose payments are all settled and batches reconciled",
        "an allocator (finance) over the program's area; the cycle approved or paying",
        (Arg("cycle", "the cycle's id (20 hex)"),),
        "closed once every entitlement is paid, delivered or cancelled and every batch "
        "reconciled (else refused, naming what is open); a later return reopens it",
        LEDGER,
    ),
    # --- oversight: assistance --------------------------------------------------------------
    "pairing.bind": ActionDoc(
        "pair a responsible cadre with a household",
        "a dispatcher or handler of a poverty_office over the household's village; the "
        "household registered, lifting or lifted",
        (
            _household(),
            Arg("cadre", "the cadre's account (64 hex), holding cadre over the village"),
        ),
        "an active pairing, the first visit due after the household's cadence; one active "
        "pairing per household",
        OVERSIGHT,
    ),
    "pairing.end": ActionDoc(
        "end an active pairing",
        "a dispatcher or handler of a poverty_office over the pairing's area",
        (Arg("pairing", "the pairing's id (20 hex)"), Arg("reason", _REASON)),
        "ended; the household may be paired again",
        OVERSIGHT,
    ),
    "visit.record": ActionDoc(
        "record the paired cadre's visit to a household, or a correction of one",
        "the pairing's cadre, holding cadre over its area; the pairing active",
        (
            Arg("pairing", "the pairing's id (20 hex)"),
            Arg("measure", _MEASURES),
            Arg("findings_hash", f"{_SHA256} note; this or findings_sealed", False),
            Arg(
                "findings_sealed", f"the note, {_SEALED} to 1-8 orgs; this or findings_hash", False
            ),
            Arg("photos", "up to 16 distinct 64-hex photo hashes", False),
            Arg("corrects", "the id of a visit of this pairing that this one corrects", False),
        ),
        "a visit dated by the block (recorded, or correction); a new visit (not a correction) "
        "moves the pairing's next due date",
        OVERSIGHT,
    ),
    # --- oversight: monitoring --------------------------------------------------------------
    "monitoring.rules": ActionDoc(
        "propose or confirm the monitoring rules contract of an area",
        "propose: an approver of a poverty_office over the area; confirm: an approver of a "
        "finance organisation over it, not the proposer",
        (
            Arg("area", _AREA),
            Arg("step", "propose or confirm"),
            Arg("contract", "the contract's address (64 hex); propose only, required there", False),
        ),
        "propose: the contract is proposed for the area; confirm: it becomes the area's active "
        "rules (the nearest area above a household with rules decides)",
        OVERSIGHT,
    ),
    "indicator.report": ActionDoc(
        "report a household's monitoring indicator for a year",
        "over the village: income_per_head_yuan, job_loss: a poverty_office reviewer or a "
        "grid_worker; medical_expense_yuan: a civil_affairs reviewer; disaster: either of those",
        (
            _household(),
            Arg("indicator", _one_of(tuple(INDICATORS))),
            Arg(
                "value",
                f"yuan, integer 0 to 10,000,000; 0 or 1 for {' and '.join(FLAG_INDICATORS)}",
            ),
            Arg("year", "integer 2000 to 2100, not older than one already reported"),
        ),
        "an indicator judged by the area's monitoring rules (the CLI estimates its gas): it may "
        "raise an alert, or the level of the household's open one",
        OVERSIGHT,
    ),
    "alert.assign": ActionDoc(
        "assign an alert to an owner, or reassign it",
        "a dispatcher of a poverty_office or a reviewer of civil_affairs over the alert's "
        "area; the alert raised or assigned",
        (
            Arg("alert", "the alert's id (20 hex)"),
            Arg("owner", "the owner's account (64 hex): a cadre, handler or reviewer there"),
        ),
        "assigned to the owner",
        OVERSIGHT,
    ),
    "alert.verify": ActionDoc(
        "record the owner's verification of an assigned alert",
        "the alert's owner; the alert assigned",
        (
            Arg("alert", "the alert's id (20 hex)"),
            Arg("findings_hash", f"{_SHA256} findings"),
            Arg("monitored", "true to put the household under monitoring", False),
        ),
        "verified; monitored true sets the household's monitored flag",
        OVERSIGHT,
    ),
    "alert.intervene": ActionDoc(
        "record a measure the owner took on a verified alert",
        "the alert's owner; the alert verified or intervened",
        (
            Arg("alert", "the alert's id (20 hex)"),
            Arg("measure", _MEASURES),
            Arg("note_hash", f"{_SHA256} note"),
        ),
        "intervened (at most 16 interventions per alert)",
        OVERSIGHT,
    ),
    "alert.resolve": ActionDoc(
        "resolve an alert after intervention",
        _ALERT_CHECKERS + "; the alert intervened",
        (
            Arg("alert", "the alert's id (20 hex)"),
            Arg("reason", _REASON),
            Arg("keep_monitored", "true to keep the household monitored", False),
        ),
        "resolved; clears the household's monitored flag if this alert set it, unless "
        "keep_monitored",
        OVERSIGHT,
    ),
    "alert.dismiss": ActionDoc(
        "dismiss an open alert",
        _ALERT_CHECKERS,
        (Arg("alert", "the alert's id (20 hex)"), Arg("reason", _REASON)),
        "dismissed from any open state; clears the household's monitored flag if this alert set it",
        OVERSIGHT,
    ),
    "exit.attest": ActionDoc(
        "attest one exit criterion for a household",
        "over the village: income: a poverty_office reviewer; housing, drinking_water: a "
        "poverty_office reviewer or a grid_worker; schooling: a poverty_office or "
        "civil_affairs reviewer; medical_insurance: a civil_affairs reviewer",
        (
            _household("the registered household's id (20 hex)"),
            Arg("criterion", _one_of(CRITERIA)),
            Arg("evidence_hash", f"{_SHA256} evidence"),
            Arg("value", "income only, required there: yuan per head, 0 to 10,000,000", False),
            Arg("year", "income only, required there: integer 2000 to 2100", False),
            Arg("met", "true or false; required for every criterion but income", False),
        ),
        "the criterion recorded (met, by, org, time); income is met when value is above the "
        "monitoring line of year (the CLI estimates its gas)",
        OVERSIGHT,
    ),
    # --- oversight: grievances --------------------------------------------------------------
    "grievance.file": ActionDoc(
        "file a grievance or a report on behalf of a citizen",
        "any account holding a role over the grievance's area",
        (
            Arg(
                "category",
                f"{_one_of(GRIEVANCE_CATEGORIES)}; sensitive: {_one_of(SENSITIVE)}",
            ),
            Arg(
                "links",
                "up to 8 {kind, id}, kind household, entitlement, cycle, program, batch or "
                "disclosure; never if sensitive",
                False,
            ),
            Arg("area", f"{_AREA}; required if sensitive or without links", False),
            Arg("content_hash", f"{_SHA256} content; never if sensitive", False),
            Arg(
                "content_sealed",
                f"{_SEALED} to 1-8 orgs; required if sensitive (then incl. an auditor)",
                False,
            ),
        ),
        "a received grievance with a deadline (escalated if unresolved); an objection holds a "
        "household's public notice or a published disclosure's close",
        OVERSIGHT,
    ),
    "grievance.assign": ActionDoc(
        "assign a grievance to a handler, or reassign it",
        "a dispatcher of a poverty_office or a civil_affairs reviewer over its area; a "
        "sensitive one: an auditor",
        (
            Arg("grievance", "the grievance's id (20 hex)"),
            Arg(
                "handler",
                "the handler's account (64 hex): a handler, reviewer, cadre or auditor there",
            ),
        ),
        "assigned; a sensitive one only to a handler of an organisation it is sealed to",
        OVERSIGHT,
    ),
    "grievance.progress": ActionDoc(
        "mark an assigned grievance in progress",
        "the grievance's handler; the grievance assigned",
        (
            Arg("grievance", "the grievance's id (20 hex)"),
            Arg("note_hash", f"{_SHA256} progress note", False),
        ),
        "in_progress",
        OVERSIGHT,
    ),
    "grievance.resolve": ActionDoc(
        "resolve a grievance in progress with an outcome",
        "the grievance's handler; the grievance in_progress",
        (
            Arg("grievance", "the grievance's id (20 hex)"),
            Arg("outcome", _one_of(OUTCOMES)),
            Arg("resolution_hash", f"{_SHA256} resolution"),
        ),
        "resolved; releases a household's public notice it held",
        OVERSIGHT,
    ),
    "grievance.close": ActionDoc(
        "close a resolved grievance",
        "its filer, or a reviewer (poverty_office or civil_affairs) or auditor over its area; "
        "never its handler",
        (Arg("grievance", "the grievance's id (20 hex)"),),
        "closed",
        OVERSIGHT,
    ),
    # --- public disclosure ------------------------------------------------------------------
    "disclosure.draft": ActionDoc(
        "draft a village's public list of who got what for a month",
        "a handler over the village",
        (
            Arg("village", f"the village: {_AREA} at village level"),
            Arg("period", "the month: YYYY-MM"),
            Arg("cycles", "1 to 8 distinct approved, paying or closed cycle ids of the period"),
            Arg(
                "rows",
                'up to 500 {"entitlement", "masked_name"}: exactly the cycles\' entitlements '
                "in the village",
            ),
        ),
        "a draft disclosure: rows with program and amount from the ledger, count, total_fen "
        "and content_hash",
        OVERSIGHT,
    ),
    "disclosure.publish": ActionDoc(
        "publish a draft disclosure, opening its objection window",
        "an approver over the village, not the drafter",
        (Arg("disclosure", "the disclosure's id (20 hex)"),),
        "published; the objection window ends at midnight (UTC+8) of the "
        "objection_working_days-th working day after publication",
        OVERSIGHT,
    ),
    "disclosure.object": ActionDoc(
        "record an open grievance as an objection holding a published disclosure",
        "any account holding a role over the village; during the objection window",
        (
            Arg("disclosure", "the disclosure's id (20 hex)"),
            Arg("grievance", "an open grievance whose links hold disclosure/<id>"),
        ),
        "the grievance holds the disclosure's close (at most 64 objections)",
        OVERSIGHT,
    ),
    "disclosure.close": ActionDoc(
        "close a published disclosure after its objection window",
        "a handler or approver over the village",
        (Arg("disclosure", "the disclosure's id (20 hex)"),),
        "closed once the window is over and every objection's grievance is resolved or closed "
        "(else notice_not_over)",
        OVERSIGHT,
    ),
    # --- audit ------------------------------------------------------------------------------
    "audit.record_export": ActionDoc(
        "put an audit export's scope, height, row count and file hash on chain",
        "an auditor over the scope's area; once per file hash",
        (
            Arg("scope", "{area, optional from, to, program, org}: strings of 1 to 64 chars"),
            Arg("height", "the export's height: a committed block, integer 0 or more"),
            Arg("rows", "rows in the export: integer 0 to 2^53-1"),
            Arg("file_hash", "the whole file's SHA-256: 64 lowercase hex"),
        ),
        "an export record, keyed by file_hash, that aidchain audit verify proves a file against",
        OVERSIGHT,
    ),
    "audit.sample": ActionDoc(
        "declare an auditor's random sample of a cycle's payments",
        "an auditor over the program's area; the cycle approved, paying or closed",
        (
            Arg("cycle", "the cycle's id (20 hex)"),
            Arg("n", "payments to draw: integer 1 to 1,000"),
            Arg("purpose", "why: text of at most 256 characters"),
        ),
        "a declared sample freezing the cycle's entitlements as a count and hash; the seed is "
        "the hash of the next block",
        OVERSIGHT,
    ),
    "sample.verify": ActionDoc(
        "record one receipt check of a sampled payment",
        "an auditor of the sample's audit office over its area, after the seed block; once "
        "per entitlement",
        (
            Arg("sample", "the sample's id (20 hex)"),
            Arg("entitlement", "an entitlement id of the sampled cycle"),
            Arg("result", _one_of(SAMPLE_RESULTS)),
            Arg("evidence", f"{_SHA256} record of the check"),
        ),
        "the check recorded; the sample checking",
        OVERSIGHT,
    ),
    # --- governance: organisation keys ------------------------------------------------------
    "org.rotate_key": ActionDoc(
        "propose replacing an organisation's X25519 encryption key",
        "an admin of that organisation (at most 64 rotations); others approve with role.approve",
        (
            Arg("org", "the organisation's id"),
            Arg("enc_key", "the new X25519 public key: 64 hex, never used by it before"),
        ),
        "an open proposal approved by the organisation; at governance_quorum the new key is "
        "current and the replaced one listed in enc_keys_retired",
        LEDGER,
    ),
}
