"""Payment cycles: entitlements for one (program, period), frozen, then approved stage by stage.

    draft ──submit (snapshot frozen)──▶ in_approval ──last stage──▶ approved ──batch──▶ paying
      ▲                                     │ one rejection (reason)
      └─────────────────────────────────────┘          draft ──cancel──▶ cancelled

An entitlement exists at most once per (program, period, household), ever: its id is derived
from those three, so the uniqueness check is the record itself. Entitlements copy the household's
account commitment and version when added, and ``submit`` hashes them into the cycle's snapshot;
registry edits after that cannot change who or what the cycle pays. Each approval stage (named by
the program's rules) needs its quorum of distinct signers holding the stage's role over the
program's area, none of them the cycle's maker or an approver of an earlier stage, before its
deadline. Budget: a program's ``committed + pending`` never exceeds its ``budget``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aid.areas import area_contains
from aid.context import Action
from aid.errors import (
    AlreadyPaid,
    BadArgs,
    DeadlinePassed,
    OverBudget,
    RuleFailed,
    SnapshotFrozen,
    WrongArea,
    WrongRole,
    WrongState,
)
from aid.policy import current_policy
from aid.programs import check_period
from aid.registry import is_payable
from aid.roles import require_role
from aid.rules import RulesEngine, check_stages, household_view, program_view
from aid.state import Records
from chain.encoding import canonical

MAX_BATCH_HOUSEHOLDS = 500  # households added to a cycle in one action
MAX_CYCLE_ENTITLEMENTS = 50_000
# a cycle whose every approval stage passed: its list of beneficiaries and amounts is final
APPROVED_CYCLE_STATES = ("approved", "paying", "closed")


def entitlement_id(program: str, period: str, household: str) -> str:
    return hashlib.sha256(f"{program}:{period}:{household}".encode()).hexdigest()[:20]


def entitlement_status(records: Records, ent: dict[str, Any]) -> str:
    """An entitlement's status; before batching it follows its cycle (no per-row rewrites)."""
    if ent["status"] != "pending":
        return str(ent["status"])
    cycle_status = records.need("cycle", ent["cycle"], "cycle")["status"]
    return "approved" if cycle_status in APPROVED_CYCLE_STATES else "pending"


def cycle_entitlements(records: Records, cycle_id: str, cycle: dict[str, Any]) -> list[str]:
    """The cycle's entitlement ids in the order they were added."""
    out = []
    for seq in range(cycle["next_seq"]):
        slot = records.get("cent", f"{cycle_id}/{seq:06d}")
        if slot is not None:
            out.append(str(slot["entitlement"]))
    return out


def _active_program(act: Action, program_id: str) -> dict[str, Any]:
    program = act.records.need("program", program_id, "program")
    if program["status"] != "active":
        raise WrongState(f"program {program_id} is {program['status']}, not active")
    return program


def cycle_create(act: Action) -> None:
    a = act.args
    program_id = a.text("program")
    period = check_period(a.text("period", max_chars=7))
    a.done()
    program = _active_program(act, program_id)
    if not program["start_period"] <= period <= program["end_period"]:
        raise WrongState(
            f"period {period} is outside program {program_id}'s window "
            f"{program['start_period']}..{program['end_period']}"
        )
    grant = require_role(act.records, act.ctx.signer, "handler", program["area"])
    ident = act.ctx.new_id("cycle")
    cycle = {
        "program": program_id,
        "period": period,
        "category": program["category"],
        "status": "draft",
        "maker": act.ctx.signer,
        "org": grant[2],
        "count": 0,
        "total": 0,
        "next_seq": 0,
        "snapshot": None,
        "stages": None,
        "stage": 0,
        "stage_deadline_ms": None,
        "approvals": [],
        "reason": None,
        "created_ms": act.ctx.time_ms,
    }
    _save(act, ident, cycle, "cycle_created", program=program_id, period=period)


def _save(act: Action, ident: str, cycle: dict[str, Any], event: str, **fields: Any) -> None:
    act.records.put("cycle", ident, cycle)
    act.touch("cycle", ident)
    act.emit(event, cycle=ident, status=cycle["status"], **fields)


def _draft_cycle(act: Action, ident: str) -> dict[str, Any]:
    cycle = act.records.need("cycle", ident, "cycle")
    if cycle["status"] != "draft":
        raise SnapshotFrozen(
            f"cycle {ident} is {cycle['status']}: its beneficiaries and accounts are frozen"
        )
    if cycle["maker"] != act.ctx.signer:
        raise WrongRole(f"only the handler who opened cycle {ident} prepares it")
    return cycle


def _households_arg(act: Action) -> list[str]:
    raw = act.args.list_of("households", max_items=MAX_BATCH_HOUSEHOLDS)
    if not raw or not all(isinstance(h, str) and 0 < len(h) <= 64 for h in raw):
        raise BadArgs(f"households must be 1..{MAX_BATCH_HOUSEHOLDS} household ids")
    if len(set(raw)) != len(raw):
        raise BadArgs("households lists a household twice")
    return [str(h) for h in raw]


def cycle_add(act: Action) -> None:
    """Add households: ledger checks first, then the program's rules decide who and how much."""
    households = _households_arg(act)
    ident = act.args.text("cycle")
    act.args.done()
    cycle = _draft_cycle(act, ident)
    program = _active_program(act, cycle["program"])
    if cycle["count"] + len(households) > MAX_CYCLE_ENTITLEMENTS:
        raise BadArgs(f"a cycle holds at most {MAX_CYCLE_ENTITLEMENTS} entitlements")
    added, skipped, total = 0, [], 0
    # one view for every household: the rules' query memo converts it for the VM only once
    view = program_view(cycle["program"], program)
    for hh in households:
        verdict = _entitle(act, act.rules, ident, cycle, program, view, hh)
        if isinstance(verdict, str):
            skipped.append([hh, verdict])
        else:
            added += 1
            total += verdict
    program["pending"] += total
    _check_budget(cycle["program"], program)
    cycle["count"] += added
    cycle["total"] += total
    act.records.put("program", cycle["program"], program)
    act.touch("program", cycle["program"])
    _save(act, ident, cycle, "cycle_entitlements", added=added, total=total, skipped=skipped)


def _check_budget(program_id: str, program: dict[str, Any]) -> None:
    needed = program["committed"] + program["pending"]
    if needed > program["budget"]:
        raise OverBudget(
            f"program {program_id} would commit {needed} fen of its {program['budget']} fen budget",
            budget=program["budget"],
            needed=needed,
        )


def _entitle(
    act: Action,
    rules: RulesEngine,
    cycle_id: str,
    cycle: dict[str, Any],
    program: dict[str, Any],
    view: dict[str, Any],
    hh: str,
) -> int | str:
    """Write one entitlement and return its value in fen, or return why the rules skipped it."""
    records = act.records
    program_id, period = cycle["program"], cycle["period"]
    household = records.need_peek("household", hh, "household")  # the rules get a view
    if not is_payable(household):
        raise WrongState(
            f"household {hh} is {household['status']}: only registered households, and lifted "
            "ones under return-to-poverty monitoring, are paid",
            household=hh,
            check="payment_to_unregistered_household",
        )
    if not area_contains(program["area"], household["village"]):
        raise WrongArea(f"household {hh} lives outside program {program_id}'s area")
    ent_id = entitlement_id(program_id, period, hh)
    existing = records.peek("entitlement", ent_id)
    if existing is not None:
        raise AlreadyPaid(
            f"household {hh} already has an entitlement for program {program_id} in {period} "
            f"(cycle {existing['cycle']})",
            household=hh,
            entitlement=ent_id,
        )
    args = {
        "household": household_view(hh, household),
        "program": view,
        "period": period,
    }
    if rules.defines(program["rules"], "assess"):  # both answers from one query
        rule = "assess"
        quantity = rules.call(program_id, program["rules"], rule, args)
        if quantity is False or isinstance(quantity, str):
            return quantity or "not eligible"
    else:
        verdict = rules.call(program_id, program["rules"], "eligible", args)
        if verdict is not True:
            return verdict if isinstance(verdict, str) and verdict else "not eligible"
        rule = "entitlement"
        quantity = rules.call(program_id, program["rules"], rule, args)
    value = _value(program_id, program, quantity, rule)
    flags = _period_conflicts(act, hh, period, program_id, program["category"])
    records.put(
        "entitlement",
        ent_id,
        {
            "program": program_id,
            "period": period,
            "cycle": cycle_id,
            "household": hh,
            "village": household["village"],  # frozen with the rest: where the money went
            "quantity": quantity if program["category"] == "in_kind" else None,
            "amount": value,
            "status": "pending",
            "account_commitment": household["account_commitment"],
            "household_version": household["version"],
            "flags": flags,
            "attempts": [],
        },
    )
    records.put("cent", f"{cycle_id}/{cycle['next_seq']:06d}", {"entitlement": ent_id})
    cycle["next_seq"] += 1
    act.touch("entitlement", ent_id)
    return value


def _value(program_id: str, program: dict[str, Any], quantity: Any, rule: str) -> int:
    """Fen this entitlement commits: cash amount, or quantity times unit value for in-kind aid."""
    if type(quantity) is not int or quantity <= 0:
        raise RuleFailed(
            f"program {program_id}: rule {rule} returned {quantity!r:.40}, not a positive integer",
            rule=rule,
        )
    value = quantity * program["unit_value"] if program["category"] == "in_kind" else quantity
    if value > program["per_household_cap"]:
        raise RuleFailed(
            f"program {program_id}: rule {rule} gave {value} fen, over the program's "
            f"per-household cap of {program['per_household_cap']} fen",
            rule=rule,
        )
    return int(value)


def _period_conflicts(
    act: Action, hh: str, period: str, program_id: str, category: str
) -> list[str]:
    """Flag (and report) a household paid by two programs of one category in one period."""
    key = f"{hh}/{period}/{category}"
    entry = act.records.get("hpc", key) or {"programs": []}
    others = [p for p in entry["programs"] if p != program_id]
    entry["programs"] = sorted({*entry["programs"], program_id})
    act.records.put("hpc", key, entry)
    if not others:
        return []
    act.emit(
        "duplicate_flag",
        check="same_household_same_period_same_category",
        household=hh,
        period=period,
        programs=entry["programs"],
    )
    return ["same_period_same_category"]


def _drop(act: Action, cycle_id: str, cycle: dict[str, Any], seq: int) -> int:
    """Delete the entitlement in slot ``seq`` of a draft cycle; returns its value."""
    records = act.records
    slot_key = f"{cycle_id}/{seq:06d}"
    slot = records.need("cent", slot_key)
    ent = records.need("entitlement", slot["entitlement"])
    records.delete("entitlement", slot["entitlement"])
    records.delete("cent", slot_key)
    hpc_key = f"{ent['household']}/{ent['period']}/{cycle['category']}"
    entry = records.need("hpc", hpc_key)
    entry["programs"] = [p for p in entry["programs"] if p != ent["program"]]
    if entry["programs"]:
        records.put("hpc", hpc_key, entry)
    else:
        records.delete("hpc", hpc_key)
    cycle["count"] -= 1
    cycle["total"] -= ent["amount"]
    act.touch("entitlement", slot["entitlement"])
    return int(ent["amount"])


def cycle_remove(act: Action) -> None:
    """Take households back out of a draft cycle (e.g. after a rejection named them)."""
    households = _households_arg(act)
    ident = act.args.text("cycle")
    act.args.done()
    cycle = _draft_cycle(act, ident)
    program = act.records.need("program", cycle["program"], "program")
    wanted = {entitlement_id(cycle["program"], cycle["period"], hh) for hh in households}
    removed = 0
    for seq in range(cycle["next_seq"]):
        slot = act.records.get("cent", f"{ident}/{seq:06d}")
        if slot is not None and slot["entitlement"] in wanted:
            program["pending"] -= _drop(act, ident, cycle, seq)
            removed += 1
    if removed != len(households):
        raise BadArgs(f"{len(households) - removed} of those households are not in cycle {ident}")
    assert cycle["count"] >= 0 and cycle["total"] >= 0 and program["pending"] >= 0
    act.records.put("program", cycle["program"], program)
    _save(act, ident, cycle, "cycle_entitlements_removed", removed=removed)


def snapshot_hash(records: Records, cycle_id: str, cycle: dict[str, Any]) -> str:
    """SHA-256 of the cycle's beneficiaries, amounts and accounts, in the order added."""
    rows = []
    for ent_id in cycle_entitlements(records, cycle_id, cycle):
        ent = records.need("entitlement", ent_id)
        rows.append([ent_id, ent["household"], ent["amount"], ent["account_commitment"]])
    return hashlib.sha256(canonical(rows)).hexdigest()


def cycle_submit(act: Action) -> None:
    """Freeze the snapshot and start the first stage; also restarts a stage past its deadline."""
    ident = act.args.text("cycle")
    act.args.done()
    cycle = act.records.need("cycle", ident, "cycle")
    if cycle["maker"] != act.ctx.signer:
        raise WrongRole(f"only the handler who opened cycle {ident} submits it")
    expired = cycle["status"] == "in_approval" and act.ctx.time_ms > cycle["stage_deadline_ms"]
    if cycle["status"] != "draft" and not expired:
        raise WrongState(f"cycle {ident} is {cycle['status']}; only a draft is submitted")
    if cycle["count"] == 0:
        raise WrongState(f"cycle {ident} has no entitlements")
    program = _active_program(act, cycle["program"])
    if cycle["status"] == "draft":
        stages = act.rules.call(
            cycle["program"],
            program["rules"],
            "stages",
            {
                "program": program_view(cycle["program"], program),
                "total": cycle["total"],
                "count": cycle["count"],
            },
        )
        cycle["stages"] = check_stages(cycle["program"], stages)
        cycle["snapshot"] = snapshot_hash(act.records, ident, cycle)
    cycle["status"] = "in_approval"
    cycle["stage"] = 0
    cycle["approvals"] = []
    cycle["stage_deadline_ms"] = (
        act.ctx.time_ms + current_policy(act.records).stage_deadline_s * 1000
    )
    _save(act, ident, cycle, "cycle_submitted", snapshot=cycle["snapshot"], restarted=expired)


def cycle_approve(act: Action) -> None:
    a = act.args
    ident = a.text("cycle")
    decision, reason = a.decision()
    a.done()
    records = act.records
    cycle = records.need("cycle", ident, "cycle")
    if cycle["status"] != "in_approval":
        raise WrongState(f"cycle {ident} is {cycle['status']}, not in approval")
    if act.ctx.time_ms > cycle["stage_deadline_ms"]:
        raise DeadlinePassed(
            f"stage {cycle['stage'] + 1} of cycle {ident} passed its deadline; the handler must "
            "resubmit it",
            deadline_ms=cycle["stage_deadline_ms"],
        )
    signer = act.ctx.signer
    if signer == cycle["maker"]:
        raise WrongRole(
            f"the handler who prepared cycle {ident} cannot approve it (maker ≠ checker)"
        )
    if any(row[1] == signer for row in cycle["approvals"]):
        raise WrongRole(f"this account has already approved cycle {ident}")
    program = records.need("program", cycle["program"], "program")
    stage = cycle["stages"][cycle["stage"]]
    grant = require_role(records, signer, stage["role"], program["area"])
    if stage["org_kind"] is not None:
        kind = records.need("org", grant[2], "organisation")["kind"]
        if kind != stage["org_kind"]:
            raise WrongRole(
                f"stage {cycle['stage'] + 1} needs a {stage['role']} of a "
                f"{stage['org_kind']} organisation, not {kind}"
            )
    cycle["approvals"].append([cycle["stage"], signer, grant[2], decision, act.ctx.time_ms])
    if decision == "reject":
        cycle.update(
            status="draft",
            reason=reason,
            snapshot=None,
            stages=None,
            stage=0,
            stage_deadline_ms=None,
        )
        _save(act, ident, cycle, "cycle_rejected", by=signer, reason=reason)
        return
    in_stage = sum(1 for row in cycle["approvals"] if row[0] == cycle["stage"])
    if in_stage >= stage["quorum"]:
        _next_stage(act, ident, cycle, program)
    _save(act, ident, cycle, "cycle_approved_by", by=signer, stage=stage["role"])


def _next_stage(act: Action, ident: str, cycle: dict[str, Any], program: dict[str, Any]) -> None:
    if cycle["stage"] + 1 < len(cycle["stages"]):
        cycle["stage"] += 1
        deadline = current_policy(act.records).stage_deadline_s * 1000
        cycle["stage_deadline_ms"] = act.ctx.time_ms + deadline
        return
    program["pending"] -= cycle["total"]
    program["committed"] += cycle["total"]
    _check_budget(cycle["program"], program)
    assert program["pending"] >= 0, f"program {cycle['program']} pending went negative"
    act.records.put("program", cycle["program"], program)
    act.touch("program", cycle["program"])
    cycle["status"] = "approved"
    cycle["approved_ms"] = act.ctx.time_ms
    act.emit("cycle_final_approval", cycle=ident, total=cycle["total"], count=cycle["count"])


def cycle_cancel(act: Action) -> None:
    """Abandon a draft cycle; its households become free for another cycle of the period."""
    ident = act.args.text("cycle")
    reason = act.args.text("reason")
    act.args.done()
    cycle = _draft_cycle(act, ident)
    program = act.records.need("program", cycle["program"], "program")
    for seq in range(cycle["next_seq"]):
        if act.records.get("cent", f"{ident}/{seq:06d}") is not None:
            program["pending"] -= _drop(act, ident, cycle, seq)
    assert cycle["count"] == 0 and cycle["total"] == 0 and program["pending"] >= 0
    act.records.put("program", cycle["program"], program)
    cycle["status"] = "cancelled"
    cycle["reason"] = reason
    _save(act, ident, cycle, "cycle_cancelled", reason=reason)
