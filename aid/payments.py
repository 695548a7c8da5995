"""Bank batches, payment outcomes, re-issues, in-kind delivery, cancellation and closing.

An approved cash cycle is released to a bank as a batch whose declared count and total must equal
the entitlements it carries (a mismatch is refused, never "fixed"). The batch's bank operators
then report each payment: ``paid`` with the bank reference and the exact issued amount, or
``failed`` with a reason code, and later possibly ``returned`` (a reversal). A report that repeats
or contradicts an earlier one is refused. A failed or returned payment is re-issued only after
the household's account was corrected (a new account commitment), as a new attempt of the same
entitlement — so one entitlement is paid at most once, however many attempts it takes. In-kind
entitlements are confirmed delivered by the village registrar instead.

An entitlement that will not be paid (the household removed, an account that cannot be
corrected) is cancelled by an approver with a reason, and its amount returns to the program's
budget. Once the bank reported every payment of a batch, finance reconciles it with the bank's
statement: the statement's hash goes on chain with its count and total, which must equal the
batch's paid payments. A cycle closes once every entitlement is settled (paid, delivered or
cancelled) and every batch reconciled. A reversal the bank reports after that reopens both
until they are settled and reconciled again.

    entitlement: approved ──batch──▶ batched ──▶ paid ──▶ returned ──reissue──▶ reissued ──batch──▶ …
                                        └──▶ failed ──reissue──▶ reissued
                 approved / failed / returned / reissued ──cancel──▶ cancelled
    batch:       sent ──(every payment reported)──▶ settled ──reconcile──▶ reconciled
    cycle:       approved ──batch──▶ paying ──(settled and reconciled) close──▶ closed
                 a payment returned: reconciled ──▶ settled, closed ──▶ paying
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aid.audit import paid_payment
from aid.context import Action
from aid.cycles import cycle_entitlements, entitlement_status
from aid.errors import AlreadyPaid, BadArgs, BankMismatch, WrongRole, WrongState
from aid.programs import release_unspent
from aid.registry import payable
from aid.roles import require_role

MAX_REPORTS = 500  # payment outcomes in one report action
FAILURE_CODES = (
    "account_closed",
    "account_frozen",
    "name_mismatch",
    "invalid_account",
    "bank_rejected",
    "other",
)
BATCHABLE = ("approved", "reissued")
# not paid, and not with the bank: what an approver may cancel
CANCELLABLE = ("approved", "failed", "returned", "reissued")
SETTLED = ("paid", "delivered", "cancelled")  # what a closing cycle's entitlements must be
OPEN_APPROVED = ("approved", "paying")  # approved, not closed: what is batched, and what closes


def batch_create(act: Action) -> None:
    a = act.args
    cycle_id = a.text("cycle")
    bank = a.text("bank")
    count = a.integer("count", low=1, high=1_000_000)
    total = a.amount("total")
    a.done()
    records = act.records
    cycle = records.need("cycle", cycle_id, "cycle")
    if cycle["status"] not in OPEN_APPROVED:
        raise WrongState(f"cycle {cycle_id} is {cycle['status']}; only approved cycles are paid")
    program = records.need("program", cycle["program"], "program")
    if program["category"] != "cash":
        raise WrongState(f"program {cycle['program']} gives in-kind aid: confirm deliveries")
    org = records.need("org", bank, "organisation")
    if org["kind"] != "bank":
        raise WrongState(f"organisation {bank} is not a bank")
    require_role(records, act.ctx.signer, "allocator", program["area"])
    ident = act.ctx.new_id("batch")
    chosen = []
    for ent_id in cycle_entitlements(records, cycle_id, cycle):
        ent = records.need("entitlement", ent_id)
        if entitlement_status(records, ent) in BATCHABLE:
            chosen.append((ent_id, ent))
    real_total = sum(ent["amount"] for _, ent in chosen)
    if (count, total) != (len(chosen), real_total):
        raise BankMismatch(
            f"batch declares {count} payments totalling {total} fen; cycle {cycle_id} has "
            f"{len(chosen)} payable entitlements totalling {real_total} fen",
            declared=[count, total],
            actual=[len(chosen), real_total],
        )
    for ent_id, ent in chosen:
        ent["attempts"].append(
            {"batch": ident, "account_commitment": ent["account_commitment"], "outcome": None}
        )
        ent["status"] = "batched"
        ent["batch"] = ident
        records.put("entitlement", ent_id, ent)
    batch = {
        "cycle": cycle_id,
        "program": cycle["program"],
        "bank": bank,
        "count": count,
        "total": total,
        "reported": 0,
        "paid_total": 0,
        "status": "sent",
        "by": act.ctx.signer,
        "time_ms": act.ctx.time_ms,
    }
    records.put("batch", ident, batch)
    cycle["status"] = "paying"
    records.put("cycle", cycle_id, cycle)
    act.touch("batch", ident)
    act.touch("cycle", cycle_id)
    act.emit("batch_created", batch=ident, cycle=cycle_id, bank=bank, count=count, total=total)


def _report_rows(act: Action) -> list[dict[str, Any]]:
    rows = act.args.list_of("results", max_items=MAX_REPORTS)
    if not rows:
        raise BadArgs("results must list at least one payment outcome")
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("entitlement"), str):
            raise BadArgs(f"results[{i}] must be an object naming its entitlement")
        if row["entitlement"] in seen:
            raise BadArgs(f"results lists entitlement {row['entitlement']} twice")
        seen.add(row["entitlement"])
    return rows


def payment_report(act: Action) -> None:
    a = act.args
    batch_id = a.text("batch")
    rows = _report_rows(act)
    a.done()
    records = act.records
    batch = records.need("batch", batch_id, "bank batch")
    program = records.need("program", batch["program"], "program")
    grant = require_role(records, act.ctx.signer, "bank_operator", program["area"])
    if grant[2] != batch["bank"]:
        raise WrongRole(f"batch {batch_id} was sent to bank {batch['bank']}, not {grant[2]}")
    for i, row in enumerate(rows):
        _apply_outcome(act, batch_id, batch, program, i, row)
    if batch["reported"] == batch["count"] and batch["status"] == "sent":
        batch["status"] = "settled"
    records.put("batch", batch_id, batch)
    records.put("program", batch["program"], program)
    act.touch("batch", batch_id)


def _apply_outcome(
    act: Action,
    batch_id: str,
    batch: dict[str, Any],
    program: dict[str, Any],
    i: int,
    row: dict[str, Any],
) -> None:
    ent_id = row["entitlement"]
    outcome = row.get("outcome")
    ent = act.records.need("entitlement", ent_id, "entitlement")
    if ent.get("batch") != batch_id:
        raise BankMismatch(f"entitlement {ent_id} is not in batch {batch_id}")
    if row.get("amount") != ent["amount"]:
        raise BankMismatch(
            f"results[{i}]: the bank reports {row.get('amount')!r} fen for entitlement {ent_id}, "
            f"which was issued for {ent['amount']} fen"
        )
    attempt = ent["attempts"][-1]
    if outcome == "paid":
        _expect(ent, ("batched",), ent_id, outcome)
        attempt.update(outcome="paid", bank_ref=_text(row, "bank_ref", i), time_ms=act.ctx.time_ms)
        ent["status"] = "paid"
        program["paid"] += ent["amount"]
        batch["paid_total"] += ent["amount"]
        batch["reported"] += 1
    elif outcome == "failed":
        _expect(ent, ("batched",), ent_id, outcome)
        attempt.update(outcome="failed", code=_code(row, i), time_ms=act.ctx.time_ms)
        ent["status"] = "failed"
        batch["reported"] += 1
    elif outcome == "returned":
        _expect(ent, ("paid",), ent_id, outcome)
        attempt.update(outcome="returned", code=_code(row, i), returned_ms=act.ctx.time_ms)
        ent["status"] = "returned"
        program["paid"] -= ent["amount"]
        batch["paid_total"] -= ent["amount"]
        if batch["status"] == "reconciled":  # the statement it was reconciled with is stale
            batch["status"] = "settled"
            batch.pop("reconciled", None)
        _reopen(act, ent["cycle"])
    else:
        raise BadArgs(f"results[{i}].outcome must be paid, failed or returned")
    assert 0 <= program["paid"] <= program["committed"], "program paid more than it committed"
    act.records.put("entitlement", ent_id, ent)
    act.touch("entitlement", ent_id)
    act.emit("payment_" + outcome, entitlement=ent_id, batch=batch_id, amount=ent["amount"])


def _expect(ent: dict[str, Any], states: tuple[str, ...], ent_id: str, outcome: str) -> None:
    if ent["status"] in states:
        return
    if ent["status"] == "paid" and outcome == "paid":
        raise AlreadyPaid(f"entitlement {ent_id} was already reported paid: a replayed report")
    raise WrongState(f"entitlement {ent_id} is {ent['status']}; a {outcome} report contradicts it")


def _text(row: dict[str, Any], key: str, i: int) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise BadArgs(f"results[{i}].{key} must be a string of 1..64 characters")
    return value


def _code(row: dict[str, Any], i: int) -> str:
    code = row.get("code")
    if code not in FAILURE_CODES:
        raise BadArgs(f"results[{i}].code must be one of {', '.join(FAILURE_CODES)}")
    return str(code)


def payment_reissue(act: Action) -> None:
    """A new attempt for a failed or returned payment, once the account was corrected."""
    ident = act.args.text("entitlement")
    act.args.done()
    records = act.records
    ent = records.need("entitlement", ident, "entitlement")
    if ent["status"] not in ("failed", "returned"):
        raise WrongState(
            f"entitlement {ident} is {ent['status']}; only failed or returned "
            "payments are re-issued"
        )
    program = records.need("program", ent["program"], "program")
    require_role(records, act.ctx.signer, "handler", program["area"])
    household = payable(records, ent["household"])
    if household is None:
        raise WrongState(f"household {ent['household']} is no longer registered")
    if household["account_commitment"] == ent["attempts"][-1]["account_commitment"]:
        raise WrongState(
            f"household {ent['household']}'s bank account is unchanged since the failed payment; "
            "correct it by a change request first"
        )
    ent["account_commitment"] = household["account_commitment"]
    ent["status"] = "reissued"
    ent.pop("batch", None)
    records.put("entitlement", ident, ent)
    act.touch("entitlement", ident)
    act.emit("payment_reissued", entitlement=ident, attempt=len(ent["attempts"]) + 1)


def delivery_confirm(act: Action) -> None:
    """The village registrar confirms an in-kind entitlement reached the household."""
    ident = act.args.text("entitlement")
    act.args.done()
    records = act.records
    ent = records.need("entitlement", ident, "entitlement")
    program = records.need("program", ent["program"], "program")
    if program["category"] != "in_kind":
        raise WrongState(f"entitlement {ident} is cash: the bank reports its payment")
    if entitlement_status(records, ent) != "approved":
        raise WrongState(f"entitlement {ident} is {entitlement_status(records, ent)}, not approved")
    household = records.need("household", ent["household"], "household")
    require_role(records, act.ctx.signer, "village_registrar", household["village"])
    ent["status"] = "delivered"
    ent["attempts"].append({"delivered_by": act.ctx.signer, "time_ms": act.ctx.time_ms})
    program["paid"] += ent["amount"]
    assert program["paid"] <= program["committed"]
    records.put("entitlement", ident, ent)
    records.put("program", ent["program"], program)
    act.touch("entitlement", ident)
    act.emit("delivery_confirmed", entitlement=ident, quantity=ent["quantity"])


def _reopen(act: Action, cycle_id: str) -> None:
    """A reversal after closing: the bank's word stands, and the cycle is unsettled again."""
    cycle = act.records.need("cycle", cycle_id, "cycle")
    if cycle["status"] != "closed":
        return
    cycle["status"] = "paying"
    cycle.pop("closed", None)
    act.records.put("cycle", cycle_id, cycle)
    act.touch("cycle", cycle_id)
    act.emit("cycle_reopened", cycle=cycle_id)


def entitlement_cancel(act: Action) -> None:
    """Give up an entitlement that will not be paid; its amount returns to the program's budget.

    Not the handler who prepared the cycle (maker ≠ checker): cancelling is how a payment owed
    to a household could quietly disappear, so an approver does it, with a reason on record.
    """
    ident = act.args.text("entitlement")
    reason = act.args.text("reason")
    act.args.done()
    records = act.records
    ent = records.need("entitlement", ident, "entitlement")
    status = entitlement_status(records, ent)
    if status not in CANCELLABLE:
        held = "; the bank holds it in a batch: wait for its report" if status == "batched" else ""
        raise WrongState(
            f"entitlement {ident} is {status}; only approved, failed, returned or re-issued "
            f"entitlements are cancelled{held}"
        )
    program = records.need("program", ent["program"], "program")
    cycle = records.need("cycle", ent["cycle"], "cycle")
    require_role(records, act.ctx.signer, "approver", program["area"])
    if act.ctx.signer == cycle["maker"]:
        raise WrongRole(
            f"the handler who prepared cycle {ent['cycle']} cannot cancel its entitlements "
            "(maker ≠ checker)"
        )
    amount = int(ent["amount"])
    ent["status"] = "cancelled"
    ent["cancelled"] = {"by": act.ctx.signer, "reason": reason, "time_ms": act.ctx.time_ms}
    ent.pop("batch", None)
    program["committed"] -= amount
    assert 0 <= program["paid"] <= program["committed"], "cancelled an entitlement it paid"
    if program["status"] == "closed":  # nothing can use it there any more: back it goes
        release_unspent(act, ent["program"], program)
    cycle["cancelled_count"] = cycle.get("cancelled_count", 0) + 1
    cycle["cancelled_total"] = cycle.get("cancelled_total", 0) + amount
    records.put("entitlement", ident, ent)
    records.put("program", ent["program"], program)
    records.put("cycle", ent["cycle"], cycle)
    for kind, key in (("entitlement", ident), ("program", ent["program"]), ("cycle", ent["cycle"])):
        act.touch(kind, key)
    act.emit("entitlement_cancelled", entitlement=ident, cycle=ent["cycle"], amount=amount)


def cycle_close(act: Action) -> None:
    """Close the books of a cycle whose every entitlement is paid, delivered or cancelled and
    whose every bank batch is reconciled with the bank's statement.

    The finance bureau does it (``allocator``, as it releases batches). Refused, naming what is
    still open, while any payment is with the bank, failed or returned, or not yet batched, or
    a batch is not reconciled.
    """
    ident = act.args.text("cycle")
    act.args.done()
    records = act.records
    cycle = records.need("cycle", ident, "cycle")
    if cycle["status"] not in OPEN_APPROVED:
        raise WrongState(
            f"cycle {ident} is {cycle['status']}; only approved or paying cycles close"
        )
    program = records.need("program", cycle["program"], "program")
    require_role(records, act.ctx.signer, "allocator", program["area"])
    states: Counter[str] = Counter()
    batches: set[str] = set()
    settled = 0
    for ent_id in cycle_entitlements(records, ident, cycle):
        ent = records.need("entitlement", ent_id)
        status = entitlement_status(records, ent)
        states[status] += 1
        if status in ("paid", "delivered"):
            settled += int(ent["amount"])
        batches.update(a["batch"] for a in ent["attempts"] if "batch" in a)
    unsettled = {s: n for s, n in sorted(states.items()) if s not in SETTLED}
    if unsettled:
        listed = ", ".join(f"{n} {s}" for s, n in unsettled.items())
        raise WrongState(
            f"cycle {ident} has {sum(unsettled.values())} unsettled entitlements ({listed}): each "
            "must be paid, delivered or cancelled before the cycle closes"
        )
    open_batches = [
        b for b in sorted(batches) if records.need("batch", b)["status"] != "reconciled"
    ]
    if open_batches:
        raise WrongState(
            f"cycle {ident} has {len(open_batches)} bank batches not reconciled with the bank's "
            f"statement (first: {open_batches[0]}): batch.reconcile each before the cycle closes"
        )
    cycle["status"] = "closed"
    cycle["closed"] = {"by": act.ctx.signer, "time_ms": act.ctx.time_ms, "settled_total": settled}
    records.put("cycle", ident, cycle)
    act.touch("cycle", ident)
    act.emit(
        "cycle_closed",
        cycle=ident,
        settled=states["paid"] + states["delivered"],
        settled_total=settled,
        cancelled=states["cancelled"],
    )


def batch_reconcile(act: Action) -> None:
    """Record that the bank's statement agrees with a settled batch: its hash, count and total.

    The statement is checked off chain, line by line (``aidchain audit reconcile --record``
    does it and sends this); on chain, its count and total of credits must equal the batch's
    paid payments, and its SHA-256 lets anyone holding the file prove which statement it was.
    """
    a = act.args
    batch_id = a.text("batch")
    statement_hash = a.hex64("statement_hash", "the statement file's SHA-256: 64 lowercase hex")
    count = a.integer("count", low=0, high=1_000_000)
    total = a.integer("total", low=0, high=2**53 - 1)
    a.done()
    records = act.records
    batch = records.need("batch", batch_id, "bank batch")
    if batch["status"] != "settled":
        raise WrongState(
            f"batch {batch_id} is {batch['status']}; a batch is reconciled once the bank "
            "reported every payment (settled), and once"
        )
    program = records.need("program", batch["program"], "program")
    require_role(records, act.ctx.signer, "allocator", program["area"])
    cycle = records.need("cycle", batch["cycle"], "cycle")
    paid = [
        payment.amount_fen
        for ent_id in cycle_entitlements(records, batch["cycle"], cycle)
        if (payment := paid_payment(ent_id, records.need("entitlement", ent_id), batch_id))
    ]
    assert sum(paid) == batch["paid_total"], f"batch {batch_id}'s paid total disagrees"
    if (count, total) != (len(paid), batch["paid_total"]):
        raise BankMismatch(
            f"the statement lists {count} credits totalling {total} fen; batch {batch_id} has "
            f"{len(paid)} paid payments totalling {batch['paid_total']} fen",
            declared=[count, total],
            actual=[len(paid), batch["paid_total"]],
        )
    batch["status"] = "reconciled"
    batch["reconciled"] = {
        "by": act.ctx.signer,
        "time_ms": act.ctx.time_ms,
        "statement_hash": statement_hash,
    }
    records.put("batch", batch_id, batch)
    act.touch("batch", batch_id)
    act.emit("batch_reconciled", batch=batch_id, statement_hash=statement_hash, count=count)
