# ruff: noqa: F821
# mypy: ignore-errors
"""Rules of a school-term education subsidy (教育补助), cash, for households poor because of schooling.

The ledger sees no ages (members are commitments), so the rule reads what the registry states
plainly: the cause of poverty is ``schooling`` (因学致贫). The amount is a sum per pupil, counting
the members beyond the first two (the adults) as pupils, at least one, capped by the program.
One township-office review and a finance co-signature approve each cycle.
This file is contract source in the VM's Python subset; it is never imported by the node.
"""


def init(per_pupil_fen):
    require(isinstance(per_pupil_fen, int) and per_pupil_fen > 0, "per_pupil_fen must be > 0")
    storage["per_pupil_fen"] = per_pupil_fen


def eligible(household, program, period):
    if household["status"] not in ("registered", "monitored"):
        return f"household is {household['status']}"
    if household["cause"] != "schooling":
        return "the household's cause of poverty is not schooling"
    return True


def entitlement(household, program, period):
    pupils = max(1, household["size"] - 2)
    return min(pupils * storage["per_pupil_fen"], program["per_household_cap"])


def assess(household, program, period):
    """Both answers in one query: the entitlement if eligible, else why not."""
    verdict = eligible(household, program, period)
    if verdict is not True:
        return verdict
    return entitlement(household, program, period)


def stages(program, total, count):
    return [
        {"role": "reviewer", "quorum": 1, "org_kind": "poverty_office"},
        {"role": "approver", "quorum": 1, "org_kind": "finance"},
    ]
