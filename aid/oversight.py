"""What the oversight actions share: who may act, hashes and sealed notes, the common fields.

Assistance records, monitoring and grievances (aid/assistance.py, aid/monitoring.py,
aid/grievances.py) each let several kinds of agency act, so the check is "one of these
(role, organisation kind) pairs over this area", answered with the grant used. Their records all
carry ``area``, ``status``, ``created_height`` and ``created_time`` (block ms), which the
read-side index and the statistics key on. Notes and findings reach the chain as a hash of an
off-chain document, or as sealed boxes to organisations (as household personal data does).
"""

from __future__ import annotations

from typing import Any

from aid.args import Args
from aid.context import Action
from aid.errors import BadArgs, WrongArea, WrongRole, WrongState
from aid.roles import require_org, require_role
from aid.state import Records
from chain.crypto import is_pubkey_hex

MAX_SEALED_HEX = 8_192  # one organisation's sealed box of a note, in hex
MAX_SEALED_ORGS = 8
HASH = "a 64-hex SHA-256 hash of the off-chain document"

Who = tuple[tuple[str, str], ...]  # (role, organisation kind) pairs that may act


def require_one_of(act: Action, who: Who, area: str) -> list[str]:
    """The signer's grant for the first (role, org kind) pair it holds over ``area``.

    Refuses with the most useful reason: "wrong area" if the signer holds one of the roles at
    the right kind of organisation elsewhere, else "wrong role" listing who may act.
    """
    wrong_area: WrongArea | None = None
    for role, kind in who:
        try:
            grant = require_role(act.records, act.ctx.signer, role, area)
        except WrongArea as exc:
            wrong_area = wrong_area or exc
            continue
        except WrongRole:
            continue
        if require_org(act.records, grant[2])["kind"] == kind:
            return grant
    if wrong_area is not None:
        raise wrong_area
    allowed = ", ".join(f"{role} of a {kind}" for role, kind in who)
    raise WrongRole(f"this action is for: {allowed}", allowed=[list(pair) for pair in who])


def holds(records: Records, account: str, who: Who, area: str) -> bool:
    """True if ``account`` holds one of the (role, org kind) pairs over ``area``."""
    for role, kind in who:
        try:
            grant = require_role(records, account, role, area)
        except (WrongRole, WrongArea):
            continue
        if require_org(records, grant[2])["kind"] == kind:
            return True
    return False


def sealed_note(a: Args, records: Records, name: str) -> dict[str, str]:
    """A note sealed to organisations: ``{org id: hex sealed box}``, each organisation known."""
    raw = a.mapping(name, max_items=MAX_SEALED_ORGS)
    if not raw:
        raise BadArgs(f"{name} must seal the note to at least one organisation", argument=name)
    for org_id, box in raw.items():
        require_org(records, org_id)
        if (
            not isinstance(box, str)
            or not 0 < len(box) <= MAX_SEALED_HEX
            or len(box) % 2
            or box.strip("0123456789abcdef")
        ):
            raise BadArgs(
                f"{name}[{org_id!r}] must be a hex sealed box of <= {MAX_SEALED_HEX} chars",
                argument=name,
            )
    return {k: raw[k] for k in sorted(raw)}


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
