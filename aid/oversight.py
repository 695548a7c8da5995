"""What the oversight actions share: who may act, hashes and sealed notes, the common fields.

Assistance records, monitoring and grievances (aid/assistance.py, aid/monitoring.py,
aid/grievances.py) each let several kinds of agency act, so the check is "one of these
(role, organisation kind) pairs over this area", answered with the grant used. Their records all
carry ``area``, ``status``, ``created_height`` and ``created_time`` (block ms), which the
read-side index and the statistics key on. Notes and findings reach the chain as a hash of an
off-chain document, or sealed to organisations (aid/sealed.py, as household personal data is).
"""

from __future__ import annotations

from typing import Any

from aid.areas import area_contains
from aid.args import Args
from aid.context import Action
from aid.errors import BadArgs, WrongArea, WrongRole, WrongState
from aid.roles import grants_of, require_org
from aid.sealed import sealed_data
from aid.state import Records
from chain.crypto import is_pubkey_hex

MAX_SEALED_ORGS = 8
HASH = "a 64-hex SHA-256 hash of the off-chain document"

Who = tuple[tuple[str, str], ...]  # (role, organisation kind) pairs that may act


def grant_of(records: Records, account: str, who: Who, area: str) -> list[str] | None:
    """``account``'s first grant matching a (role, org kind) pair of ``who`` over ``area``."""
    grants = grants_of(records, account)
    for role, kind in who:
        for grant in grants:
            if (
                grant[0] == role
                and area_contains(grant[1], area)
                and require_org(records, grant[2])["kind"] == kind
            ):
                return grant
    return None


def require_one_of(act: Action, who: Who, area: str) -> list[str]:
    """The signer's grant for the first (role, org kind) pair it holds over ``area``.

    Refuses with the most useful reason: "wrong area" if the signer holds one of the pairs
    for another area, else "wrong role" listing who may act.
    """
    grant = grant_of(act.records, act.ctx.signer, who, area)
    if grant is not None:
        return grant
    elsewhere = [
        g
        for g in grants_of(act.records, act.ctx.signer)
        if (g[0], require_org(act.records, g[2])["kind"]) in who
    ]
    if elsewhere:
        scopes = ", ".join(f"{g[0]} in {g[1]} ({g[2]})" for g in elsewhere)
        allowed = ", ".join(f"{role} of a {kind}" for role, kind in who)
        raise WrongArea(
            f"account {act.ctx.signer[:12]}… holds {scopes}; this action in area {area} is "
            f"for: {allowed}",
            area=area,
        )
    allowed = ", ".join(f"{role} of a {kind}" for role, kind in who)
    raise WrongRole(f"this action is for: {allowed}", allowed=[list(pair) for pair in who])


def sealed_note(a: Args, records: Records, name: str) -> dict[str, Any]:
    """A note sealed to organisations (aid/sealed.py), each organisation known."""
    return sealed_data(a, records, name, what="the note", max_orgs=MAX_SEALED_ORGS)


def note_hash(a: Args, name: str, *, required: bool = True) -> str | None:
    if not required and not a.has(name):
        return None
    return a.hex64(name, HASH)


def hash_list(a: Args, name: str, max_items: int) -> list[str]:
    """A list of distinct 64-hex hashes (photos, documents), possibly empty."""
    if not a.has(name):
        return []
    raw = a.list_of(name, max_items=max_items)
    if not all(is_pubkey_hex(h) for h in raw) or len(set(raw)) != len(raw):
        raise BadArgs(f"{name} must be up to {max_items} distinct 64-hex hashes", argument=name)
    return [str(h) for h in raw]


def common(act: Action, area: str, status: str) -> dict[str, Any]:
    """The fields every oversight record starts with (WAVE3_INTERFACES.md, section C)."""
    return {
        "area": area,
        "status": status,
        "created_height": act.ctx.height,
        "created_time": act.ctx.time_ms,
    }


def save(act: Action, kind: str, ident: str, record: dict[str, Any]) -> None:
    act.records.put(kind, ident, record)
    act.touch(kind, ident)


def household(act: Action, ident: str, states: tuple[str, ...]) -> dict[str, Any]:
    """The household, if it is in one of ``states``; raises naming its state otherwise."""
    record = act.records.need("household", ident, "household")
    if record["status"] not in states:
        raise WrongState(f"household {ident} is {record['status']}")
    return record
