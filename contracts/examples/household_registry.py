# ruff: noqa: F821
# mypy: ignore-errors
"""Household registry: which households are eligible, without storing who they are.

A household is known on chain only by a commitment: the hex sha256 of "<salt>:<household id>",
computed off chain by the township office that keeps the salt. Registrars (township staff) add
or revoke commitments with an eligibility category and a validity window; anyone can ask
whether a commitment is eligible at a given time. This file is contract source in the VM's
Python subset, deployed with `aidchain contract deploy`; it is never imported by the node.
"""

MAX_REGISTRARS = 32
CATEGORIES = ("basic", "disability", "elderly", "education")


def init(registrars):
    require(isinstance(registrars, list), "registrars must be a list of addresses")
    require(0 < len(registrars) <= MAX_REGISTRARS, "between 1 and 32 registrars")
    seen = {}
    for r in registrars:
        require(_is_hex64(r), f"not an address: {r}")
        require(r not in seen, f"duplicate registrar {r}")
        seen[r] = True
    storage["admin"] = ctx.sender
    storage["registrars"] = registrars
    storage["count"] = 0


def register(commitment, category, valid_from, valid_until):
    """Mark a household commitment eligible for [valid_from, valid_until) (ms since epoch)."""
    _only_registrar()
    require(_is_hex64(commitment), "commitment must be a 64-hex sha256")
    require(category in CATEGORIES, f"unknown category {category}")
    require(isinstance(valid_from, int) and isinstance(valid_until, int), "times are ints (ms)")
    require(valid_from < valid_until, "empty validity window")
    key = "h:" + commitment
    require(key not in storage, "household already registered")
    storage[key] = {
        "category": category,
        "from": valid_from,
        "until": valid_until,
        "by": ctx.sender,
        "revoked": False,
    }
    storage["count"] += 1
    emit("registered", commitment=commitment, category=category)
    return storage["count"]


def revoke(commitment, reason):
    _only_registrar()
    key = "h:" + commitment
    require(key in storage, "unknown household")
    record = storage[key]
    require(not record["revoked"], "already revoked")
    record["revoked"] = True
    record["reason"] = str(reason)[:200]
    storage[key] = record
    emit("revoked", commitment=commitment)


def is_eligible(commitment, category, at):
    """True when the household is registered in `category`, not revoked, and `at` is in its window."""
    record = storage.get("h:" + commitment) if isinstance(commitment, str) else None
    if record is None or record["revoked"]:
        return False
    return record["category"] == category and record["from"] <= at < record["until"]


def household(commitment):
    return storage.get("h:" + commitment)


def registrars():
    return storage["registrars"]


def _only_registrar():
    require(ctx.sender in storage["registrars"], "only a registrar may do this")


def _is_hex64(value):
    if not isinstance(value, str) or len(value) != 64:
        return False
    for ch in value:
        if ch not in "0123456789abcdef":
            return False
    return True
