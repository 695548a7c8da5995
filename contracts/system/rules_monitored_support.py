# ruff: noqa: F821
# mypy: ignore-errors
"""Rules of a targeted support program (防返贫帮扶) for households under monitoring, cash.

Only households a verified return-to-poverty alert made ``monitored`` are eligible, lifted ones
included (they stay monitored after 脱贫; the ledger pays them only while monitored, and
passes ``monitored`` in the household view, aid/rules.py); each gets a fixed sum per member,
capped by the program. The township office reviews and finance co-signs every cycle.
This file is contract source in the VM's Python subset; it is never imported by the node.
"""


def init(per_member_fen):
    require(isinstance(per_member_fen, int) and per_member_fen > 0, "per_member_fen must be > 0")
    storage["per_member_fen"] = per_member_fen


def eligible(household, program, period):
    if household["status"] not in ("registered", "monitored", "lifted"):
        return f"household is {household['status']}"
    if not household["monitored"]:
        return "the household is not under return-to-poverty monitoring"
    return True


def entitlement(household, program, period):
    return min(household["size"] * storage["per_member_fen"], program["per_household_cap"])


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
