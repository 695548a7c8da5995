# ruff: noqa: F821
# mypy: ignore-errors
"""Rules of an in-kind industry program (产业帮扶): fruit-tree seedlings for households that lack
funds or skills to start a crop.

The entitlement is a quantity (bundles of seedlings; the program's ``unit_value`` prices one),
a base number plus some per member, at most ``max_bundles`` (the ledger also refuses a value
above the program's per-household cap, which is in fen). The village
registrar confirms each delivery; the poverty-alleviation office and finance approve the cycle.
This file is contract source in the VM's Python subset; it is never imported by the node.
"""


def init(base_bundles, per_member_bundles, max_bundles):
    for name, value in (
        ("base_bundles", base_bundles),
        ("per_member_bundles", per_member_bundles),
        ("max_bundles", max_bundles),
    ):
        require(isinstance(value, int) and value >= 0, f"{name} must be a whole number >= 0")
    require(max_bundles > 0, "max_bundles must be > 0")
    storage["params"] = {"base": base_bundles, "per_member": per_member_bundles, "max": max_bundles}


def eligible(household, program, period):
    if household["status"] not in ("registered", "monitored"):
        return f"household is {household['status']}"
    if household["cause"] not in ("lack_funds", "lack_skills"):
        return "seedlings go to households that lack funds or skills"
    return True


def entitlement(household, program, period):
    p = storage["params"]
    return min(p["base"] + p["per_member"] * household["size"], p["max"])


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
