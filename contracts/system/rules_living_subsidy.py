# ruff: noqa: F821
# mypy: ignore-errors
"""Rules of a monthly living subsidy (生活补助), cash: who is eligible, how much, who approves.

The disbursement ledger calls these hooks, read-only, with non-personal views of the household
and the program (see docs/ledger.md, "Rules contracts"):

- ``eligible``: registered or monitored, and income per head below the poverty line set at
  deploy time; otherwise a sentence saying why not (the ledger reports it to the clerk);
- ``entitlement``: a base amount plus an amount per extra member, plus a supplement for 低保
  households, never above the program's per-household cap (the ledger checks that too);
- ``assess``: both of the above in one query (the ledger asks it instead of the two);
- ``stages``: the township-level office reviews, the county office approves large cycles, and
  the finance bureau co-signs every cycle.

Parameters live in the contract's storage, so a province changes its line by deploying a new
version and pointing its programs at it, without a release of the node.
This file is contract source in the VM's Python subset; it is never imported by the node.
"""


def init(line_yuan, base_fen, per_member_fen, dibao_fen, large_cycle_fen):
    for name, value in (
        ("line_yuan", line_yuan),
        ("base_fen", base_fen),
        ("per_member_fen", per_member_fen),
        ("dibao_fen", dibao_fen),
        ("large_cycle_fen", large_cycle_fen),
    ):
        require(isinstance(value, int) and value >= 0, f"{name} must be a whole number >= 0")
    storage["params"] = {
        "line_yuan": line_yuan,
        "base_fen": base_fen,
        "per_member_fen": per_member_fen,
        "dibao_fen": dibao_fen,
        "large_cycle_fen": large_cycle_fen,
    }


def eligible(household, program, period):
    line = storage["params"]["line_yuan"]
    if household["status"] not in ("registered", "monitored"):
        return f"household is {household['status']}"
    if household["income_per_head_yuan"] >= line:
        return f"income per head {household['income_per_head_yuan']} yuan is not below the line of {line} yuan"
    return True


def entitlement(household, program, period):
    p = storage["params"]
    amount = p["base_fen"] + p["per_member_fen"] * (household["size"] - 1)
    if "dibao" in household["labels"]:
        amount += p["dibao_fen"]
    return min(amount, program["per_household_cap"])


def assess(household, program, period):
    """Both answers in one query: the entitlement if eligible, else why not."""
    verdict = eligible(household, program, period)
    if verdict is not True:
        return verdict
    return entitlement(household, program, period)


def stages(program, total, count):
    out = [{"role": "reviewer", "quorum": 1, "org_kind": "poverty_office"}]
    if total > storage["params"]["large_cycle_fen"]:
        out.append({"role": "approver", "quorum": 1, "org_kind": "poverty_office"})
    out.append({"role": "approver", "quorum": 1, "org_kind": "finance"})
    return out
